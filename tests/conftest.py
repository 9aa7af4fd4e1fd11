"""Shared fixtures: small data, a blank spaCy pipeline, an isolated Prefect home.

Prefect's home is set to a temporary folder before anything imports Prefect,
so tests never touch ``~/.prefect`` and never need a server started by hand.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)


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
    from pipeline.config import load_config

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
