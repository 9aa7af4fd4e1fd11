"""Prefect flows over the ``pipeline`` library, and the ``themes`` command.

Importing this package does not import Prefect: the CLI first sets Prefect's
environment (its home folder inside the runs folder, analytics off, offline
model hubs) with :mod:`flows.environment`, then imports the flows.
"""
