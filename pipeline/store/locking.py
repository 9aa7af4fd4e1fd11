"""The results store's write lock: one run writes at a time.

A lock file beside the database lets one run write at a time; a second run
waits up to ``store.lock_timeout_seconds``, then stops with a clear message.
A side file names the run holding the lock, so a waiting run can say whom it
waits for.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import filelock

from pipeline.errors import StoreBusyError
from pipeline.store.permissions import file_mode

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def hold_store_lock(
    database: Path, *, timeout: float, run_id: str | None = None
) -> Iterator[None]:
    """Hold the store's write lock; wait up to ``timeout`` seconds for it.

    While the lock is held, a side file (``<database>.lock.json``) names
    the holder (run id, process id, host), so a run that has to wait logs,
    once, a warning ``waiting for run ... to release the store ...``; the
    CLI shows warnings on stderr.

    Args:
        database: The database file; the lock files are written beside it.
        timeout: Seconds to wait for another run's lock.
        run_id: The run taking the lock, named to the runs that wait for it.

    Raises:
        StoreBusyError: Another run kept the lock for longer than the timeout.

    """
    database.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(database) + ".lock")
    holder_file = Path(str(database) + ".lock.json")
    try:
        lock.acquire(blocking=False)
    except filelock.Timeout:
        holder = _describe_holder(holder_file)
        logger.warning(
            "waiting for %s to release the store %s (up to %g s)",
            holder or "another run",
            database,
            timeout,
        )
        try:
            lock.acquire(timeout=timeout)
        except filelock.Timeout as error:
            raise StoreBusyError(
                f"another run is using the results store {database}"
                f"{f' ({holder})' if holder else ''} and did not finish within "
                f"{timeout:g} s; try again when it is done (or raise "
                "store.lock_timeout_seconds)"
            ) from error
    try:
        _write_holder(holder_file, run_id)
        yield
    finally:
        holder_file.unlink(missing_ok=True)
        lock.release()


def _write_holder(path: Path, run_id: str | None) -> None:
    """Record who holds a lock (run id, pid, host) in its side file, atomically."""
    holder = {
        "run_id": run_id,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(holder, stream)
    os.chmod(tmp, file_mode())  # runs of other users in the team can read it
    os.replace(tmp, path)


def _describe_holder(path: Path) -> str | None:
    """Name the run recorded in a lock's side file, e.g. ``run 2024... (pid 12)``.

    Returns:
        None when the file is missing or unreadable, or was left by a process
        that has died (on this host): the lock was taken by a run that has
        not written its own record yet.
    """
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        pid = int(holder["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if holder.get("host") == socket.gethostname():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, owned by another user
    if holder.get("run_id"):
        return f"run {holder['run_id']} (pid {pid})"
    return f"run in process {pid}"
