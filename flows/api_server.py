"""Prefect's temporary API server for one ``themes run``, started first thing.

A flow needs a Prefect API. With no server configured, Prefect starts a
temporary one (uvicorn in a subprocess, its SQLite database in
``PREFECT_HOME``) the first time a flow runs: after the process has imported
Prefect's server code (about 3 s here) and only then waiting about 4 s for it
to answer. ``themes run`` starts the same server itself before importing
anything heavy, so it boots on the other core while the pipeline is imported,
and it stops it when the run ends.

It does so only when no API is configured (no ``PREFECT_API_URL`` in the
environment or in the profile of ``PREFECT_HOME``) and Prefect is not yet
imported; otherwise Prefect does what it always does.

Runs started together share one ``PREFECT_HOME`` and so one SQLite database,
which each server creates or migrates as it starts; two migrating at once
fail ("duplicate column name"). So a server is started only under a lock in
``PREFECT_HOME`` (``themes-server.lock``), held from starting the subprocess
until it answers its health check, by which time the database is migrated: a
second run's server boots after the first one's is up. A run that finds the
lock taken logs a warning naming the process that holds it (recorded in
``themes-server.lock.json``) and starts its own server once the lock is free.

Flow-run heartbeats tell a long-lived server that a run is still alive; a
temporary server ends with the run, so :func:`no_heartbeats` turns them off
(each flow's exit otherwise waits up to a second for the heartbeat thread).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import PipelineError, StoreBusyError

logger = logging.getLogger(__name__)

#: Seconds a run waits for other runs to finish starting their servers.
BOOT_LOCK_TIMEOUT = 300.0

# What Prefect's own temporary server sets
# (prefect.server.api.server.SubprocessASGIServer).
_SERVER_ENV = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
}

# What a run's server can do without, unless the environment says otherwise:
# automations (a temporary server has none) and registering Prefect's block
# types (a run saves no blocks; its results are files), whose check first
# imports every installed Prefect collection (prefect-dask, with Dask's
# distributed). About a second of the server's boot, on the critical path of
# a short run (benchmarks/README.md, issue 20, fourth session).
_LEAN_SERVER_ENV = {
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
}


def api_configured() -> bool:
    """Whether a Prefect API is set (environment, or the profile of PREFECT_HOME)."""
    if os.environ.get("PREFECT_API_URL") or os.environ.get("PREFECT_PROFILES_PATH"):
        return True
    home = os.environ.get("PREFECT_HOME")
    profiles = Path(home) / "profiles.toml" if home else None
    return bool(
        profiles
        and profiles.is_file()
        and "PREFECT_API_URL" in profiles.read_text(encoding="utf-8", errors="replace")
    )


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _prefect_home() -> Path:
    home = os.environ.get("PREFECT_HOME")
    return Path(home).expanduser() if home else Path.home() / ".prefect"


def _boot_holder(path: Path) -> str:
    """The process recorded as starting a server, or ``another run``."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return f"the run in process {int(holder['pid'])}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another run"


class TemporaryServer:
    """A Prefect API server on loopback for the length of one run.

    Use :meth:`start_if_needed` (after ``PREFECT_HOME`` is set), then
    :meth:`wait` before the first flow runs; it stops when the process exits.
    The server starts at once when no other run is starting one in the same
    ``PREFECT_HOME``, otherwise in :meth:`wait`, after that run's server is up.

    Args:
        boot_timeout: Seconds :meth:`wait` waits for other runs' servers to start.

    """

    def __init__(self, *, boot_timeout: float = BOOT_LOCK_TIMEOUT) -> None:
        # kept out of start-up: filelock takes about 40 ms to import
        import filelock

        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.boot_timeout = boot_timeout
        self.process: subprocess.Popen | None = None
        self.home = _prefect_home()
        self.home.mkdir(parents=True, exist_ok=True)
        self._boot_lock = filelock.FileLock(str(self.home / "themes-server.lock"))
        self._boot_holder = self.home / "themes-server.lock.json"
        # set now: Prefect reads its settings when it is imported, before wait()
        os.environ["PREFECT_API_URL"] = self.api_url
        # registered before Prefect registers its own exit hooks, so it runs
        # after them: Prefect sends its last logs and events, then this stops
        atexit.register(self.stop)
        try:
            self._boot_lock.acquire(blocking=False)
        except filelock.Timeout:
            return  # another run's server is migrating the database: wait()
        self._spawn()

    @classmethod
    def start_if_needed(cls) -> TemporaryServer | None:
        """Start a server when no API is configured and Prefect is not imported yet."""
        if "prefect" in sys.modules or api_configured():
            return None
        return cls()

    def _spawn(self) -> subprocess.Popen:
        """Start the server process; the caller holds the boot lock."""
        self._boot_holder.write_text(json.dumps({"pid": os.getpid()}), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=_LEAN_SERVER_ENV | env | _SERVER_ENV,
            stdin=subprocess.DEVNULL,
        )
        return self.process

    def _wait_for_boot_lock(self) -> None:
        """Take the boot lock once other runs' servers are up.

        Raises:
            StoreBusyError: Another run held it for longer than ``boot_timeout``.
        """
        # kept out of start-up: filelock takes about 40 ms to import
        import filelock

        holder = _boot_holder(self._boot_holder)
        logger.warning(
            "waiting for %s to finish starting Prefect's server in %s",
            holder,
            self.home,
        )
        try:
            self._boot_lock.acquire(timeout=self.boot_timeout)
        except filelock.Timeout as error:
            raise StoreBusyError(
                f"{holder} has been starting Prefect's temporary server in "
                f"{self.home} for over {self.boot_timeout:g} s; try again when "
                "it is done, or start one with `prefect server start` and set "
                "PREFECT_API_URL"
            ) from error

    def _release_boot_lock(self) -> None:
        if self._boot_lock.is_locked:
            self._boot_holder.unlink(missing_ok=True)
            self._boot_lock.release()

    def wait(self, timeout: float = 60.0) -> None:
        """Return once the server answers its health check.

        Starts the server first if another run was starting its own when this
        one was created.

        Args:
            timeout: Seconds the server may take to answer once started.

        Raises:
            StoreBusyError: Another run's server took over ``boot_timeout``
                seconds to start.
            PipelineError: It exited or did not answer within ``timeout`` seconds.
        """
        try:
            process = self.process
            if process is None:
                self._wait_for_boot_lock()
                process = self._spawn()
            self._wait_for_health(process, timeout)
        finally:
            # the database is migrated once the server answers (or it failed)
            self._release_boot_lock()

    def _wait_for_health(self, process: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise PipelineError(
                    f"Prefect's temporary API server exited with code "
                    f"{process.returncode}; rerun with --debug, or start one with "
                    "`prefect server start` and set PREFECT_API_URL"
                )
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise PipelineError(
            f"Prefect's temporary API server did not answer within {timeout:.0f} s"
        )

    def ready(self) -> bool:
        """Whether the server is running and answers its health check now."""
        process = self.process
        return process is not None and process.poll() is None and self._answers()

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=1) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Stop the server (and give Prefect its own temporary one again)."""
        if os.environ.get("PREFECT_API_URL") == self.api_url:
            del os.environ["PREFECT_API_URL"]
        self._release_boot_lock()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def no_heartbeats() -> Iterator[None]:
    """Flow runs send no heartbeats inside the block (for a temporary server)."""
    # heavy, and Prefect must be imported only after the server's URL is set
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
