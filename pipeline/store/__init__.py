"""Where results live.

The results database, run folders, caches and their keys, manifests and
permissions.
"""
