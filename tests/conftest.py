"""Shared fixtures: small data, a blank spaCy pipeline, an isolated Prefect home.

Prefect's home is set to a temporary folder before anything imports Prefect,
so tests never touch ``~/.prefect`` and never need a server started by hand.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent

_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="themes-test-prefect-"))
os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
# The xdist workers are children of the controlling process: what they share
# for the session lives in a folder named after it.
_WORKER = "PYTEST_XDIST_WORKER" in os.environ
_SESSION = os.getppid() if _WORKER else os.getpid()
_SESSION_DIR = Path(tempfile.gettempdir()) / f"themes-test-session-{_SESSION}"
_SESSION_DIR.mkdir(exist_ok=True)
# One numba cache for every test session on this machine, kept between
# sessions like the runs' own (``runs/.cache/numba``): UMAP and pynndescent are
# compiled once, not in every worker, subprocess and session. Numba checks each
# entry against its function's source, so an upgrade compiles again.
# ``tests/topics/test_numba_cache.py`` starts from an empty cache of its own.
_NUMBA_CACHE = ROOT / "runs" / ".cache" / "numba-tests"
_NUMBA_CACHE.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("NUMBA_CACHE_DIR", str(_NUMBA_CACHE))

_HEAVY_FIXTURES = {"prefect_harness", "run_folder"}


def pytest_collection_modifyitems(session, config, items):
    """Run the heaviest tests first, so two workers finish together.

    Slow tests (servers, subprocess runs) go first, then tests that run a flow
    in-process; the quick ones fill the gaps at the end.
    """

    def weight(item) -> int:
        if item.get_closest_marker("slow"):
            return 0
        if _HEAVY_FIXTURES & set(getattr(item, "fixturenames", ())):
            return 1
        return 2

    items.sort(key=weight)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)
    if not _WORKER:  # the controller ends after its workers
        _stop_shared_server()
        shutil.rmtree(_SESSION_DIR, ignore_errors=True)


_SHARED_SERVER: dict[str, object] = {}
_SERVER_DIR = _SESSION_DIR / "prefect-server"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop_shared_server() -> None:
    """Stop the session's shared server, if one was started (by any worker)."""
    pid_file = _SERVER_DIR / "pid"
    if not pid_file.is_file():
        return
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return  # stopped already
    started_here = _SHARED_SERVER.get("process")
    if started_here is not None:  # our child: wait for it (no zombie left)
        try:
            started_here.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(pid, signal.SIGKILL)
        return
    # a worker's child, now adopted by init: wait until it is gone
    deadline = time.time() + 30
    try:
        while time.time() < deadline:
            os.killpg(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _healthy(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def shared_prefect_server() -> str:
    """The API URL of the session's Prefect server, started on first use.

    ``themes run`` with no server boots a temporary one (10-15 s here). The
    tests that are not about that boot share one real server for the whole
    session: the first worker to need it starts it (under a file lock) and
    the controlling process stops it at the end. Each server costs about 8 s
    of CPU to start and 2 s a minute idle, so one instead of one per worker
    (and per in-process harness) saves a minute of CPU on 2 cores. The tests
    of the temporary server (``test_concurrency``, the CLI tests run
    in-process) keep booting their own.
    """
    if "url" in _SHARED_SERVER:
        return _SHARED_SERVER["url"]
    from filelock import FileLock

    _SERVER_DIR.mkdir(parents=True, exist_ok=True)
    url_file = _SERVER_DIR / "url"
    with FileLock(str(_SESSION_DIR / "prefect-server.lock")):
        if url_file.is_file() and _healthy(url_file.read_text()):
            _SHARED_SERVER["url"] = url_file.read_text()
            return _SHARED_SERVER["url"]
        home = _SERVER_DIR / "home"
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            PREFECT_HOME=str(home),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_UI_ENABLED="false",
        )
        port = _free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "prefect"), "server", "start"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        (_SERVER_DIR / "pid").write_text(str(server.pid))
        _SHARED_SERVER["process"] = server
        if not _WORKER:  # no controller to stop it: this process does
            atexit.register(_stop_shared_server)
        url = f"http://127.0.0.1:{port}/api"
        deadline = time.time() + 120
        while not _healthy(url):
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError("the shared Prefect server did not start")
            time.sleep(0.5)
        url_file.write_text(url)
    _SHARED_SERVER["url"] = url
    return url


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def blank_nlp():
    """A blank English pipeline with the rule-based sentencizer (fast)."""
    from pipeline.text.segment import load_sentence_splitter

    return load_sentence_splitter("blank:en")


@pytest.fixture()
def config():
    """Default settings with the fast blank sentencizer."""
    from pipeline.config.run import load_config

    return load_config(overrides={"segment.spacy_model": "blank:en"})


@pytest.fixture(scope="session")
def prefect_harness():
    """A Prefect API for flows run in the test process: the session's shared server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: shared_prefect_server()}):
        yield


@pytest.fixture()
def managers_corpus(tmp_path) -> Path:
    """Four of the example interviews (.txt) and their metadata, in a temp folder."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("M01.txt", "M04.txt", "M07.txt", "M10.txt", "metadata.csv"):
        shutil.copy(ROOT / "examples" / "nhs_managers" / name, folder / name)
    return folder
