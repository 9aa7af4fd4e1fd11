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

Flow-run heartbeats tell a long-lived server that a run is still alive; a
temporary server ends with the run, so :func:`no_heartbeats` turns them off
(each flow's exit otherwise waits up to a second for the heartbeat thread).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import PipelineError

# What Prefect's own temporary server sets (prefect.server.api.server.SubprocessASGIServer).
_SERVER_ENV = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
}


def _api_configured() -> bool:
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


class TemporaryServer:
    """A Prefect API server on loopback for the length of one run.

    Use :meth:`start_if_needed` (after ``PREFECT_HOME`` is set), then
    :meth:`wait` before the first flow runs; it stops when the process exits.
    """

    def __init__(self) -> None:
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
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
            env=env | _SERVER_ENV,
            stdin=subprocess.DEVNULL,
        )
        os.environ["PREFECT_API_URL"] = self.api_url
        # registered before Prefect registers its own exit hooks, so it runs
        # after them: Prefect sends its last logs and events, then this stops
        atexit.register(self.stop)

    @classmethod
    def start_if_needed(cls) -> TemporaryServer | None:
        """Start a server when no API is configured and Prefect is not imported yet."""
        if "prefect" in sys.modules or _api_configured():
            return None
        return cls()

    def wait(self, timeout: float = 60.0) -> None:
        """Return once the server answers its health check.

        Raises:
            PipelineError: It exited or did not answer within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PipelineError(
                    f"Prefect's temporary API server exited with code "
                    f"{self.process.returncode}; rerun with --debug, or start one with "
                    "`prefect server start` and set PREFECT_API_URL"
                )
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise PipelineError(
            f"Prefect's temporary API server did not answer within {timeout:.0f} s"
        )

    def stop(self) -> None:
        """Stop the server (and give Prefect its own temporary one again)."""
        if os.environ.get("PREFECT_API_URL") == self.api_url:
            del os.environ["PREFECT_API_URL"]
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def no_heartbeats() -> Iterator[None]:
    """Flow runs send no heartbeats inside the block (for a temporary server)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
