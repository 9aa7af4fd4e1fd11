"""Who may read what the tool writes: its owner only, or its owner's group.

Every file the tool writes can hold transcript text or identifiers (run
folders, the REFI-QDA project, the results store, Prefect's database, caches,
models), so they are created readable by their owner only: files ``0600``,
folders ``0700``. A team that shares a Unix group sets
``store.share_with_group: true`` to get ``0660`` and ``0770`` instead.

:func:`use_file_modes` sets the process's umask once at the entry point (the
CLI), so files written by libraries (DuckDB, SQLite, joblib, zip) follow it
too; files written under a temporary name are given :func:`file_mode` before
they are renamed into place.
"""

from __future__ import annotations

import os

_PRIVATE_UMASK = 0o077
_GROUP_UMASK = 0o007
_umask = _PRIVATE_UMASK


def use_file_modes(*, share_with_group: bool = False) -> None:
    """Set the process's umask: owner only, or owner and group.

    Args:
        share_with_group: Let the owner's group read and write too.
    """
    global _umask
    _umask = _GROUP_UMASK if share_with_group else _PRIVATE_UMASK
    os.umask(_umask)


def file_mode() -> int:
    """The mode of a file the tool writes (``0600``, or ``0660`` shared)."""
    return 0o666 & ~_umask


def folder_mode() -> int:
    """The mode of a folder the tool creates (``0700``, or ``0770`` shared)."""
    return 0o777 & ~_umask
