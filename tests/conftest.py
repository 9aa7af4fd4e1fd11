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
# one numba cache per test session, shared by the xdist workers (children of
# the controlling process) and the subprocesses they start: UMAP is compiled
# once, not in every worker and run
_WORKER = "PYTEST_XDIST_WORKER" in os.environ
_SESSION = os.getppid() if _WORKER else os.getpid()
_NUMBA_CACHE = Path(tempfile.gettempdir()) / f"themes-test-numba-{_SESSION}"
_NUMBA_CACHE.mkdir(exist_ok=True)
os.environ["NUMBA_CACHE_DIR"] = str(_NUMBA_CACHE)


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
        shutil.rmtree(_NUMBA_CACHE, ignore_errors=True)


_SHARED_SERVER: dict[str, str] = {}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop_server(process: subprocess.Popen, home: Path) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    shutil.rmtree(home, ignore_errors=True)


def shared_prefect_server() -> str:
    """The API URL of one Prefect server per test process, started on first use.

    ``themes run`` with no server boots a temporary one (10-15 s here). The
    subprocess tests that are not about that boot share this server instead;
    the tests of the temporary server (``test_concurrency``, the CLI tests run
    in-process) keep booting their own.
    """
    if "url" in _SHARED_SERVER:
        return _SHARED_SERVER["url"]
    home = Path(tempfile.mkdtemp(prefix="themes-test-server-"))
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
    atexit.register(_stop_server, server, home)
    url = f"http://127.0.0.1:{port}/api"
    import httpx

    deadline = time.time() + 120
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.time() > deadline:
            raise RuntimeError("the shared Prefect server did not start")
        time.sleep(0.5)
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
    """A temporary Prefect API for flow tests (its database in a temp folder)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def managers_corpus(tmp_path) -> Path:
    """Four of the example interviews (.txt) and their metadata, in a temp folder."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("M01.txt", "M04.txt", "M07.txt", "M10.txt", "metadata.csv"):
        shutil.copy(ROOT / "examples" / "nhs_managers" / name, folder / name)
    return folder
