"""Reading sources.

Transcript readers, decoding, ingest, REFI-QDA and human-code import.
"""
