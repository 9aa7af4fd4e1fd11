"""BERTopic is imported without the optional parts that load transformers."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

IMPORT_AND_REPORT = """
import json
import sys

from pipeline.topics.bertopic_adapters import UNUSED_BERTOPIC_PARTS, import_bertopic

import_bertopic()
from bertopic import BERTopic  # noqa: E402,F401
from bertopic.representation import KeyBERTInspired  # noqa: E402,F401

print(json.dumps({
    "transformers": "transformers" in sys.modules,
    "sentence_transformers": "sentence_transformers" in sys.modules,
    "marks_left": [name for name in UNUSED_BERTOPIC_PARTS if name in sys.modules],
}))
"""


def test_bertopic_loads_without_transformers_and_leaves_no_marks():
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_REPORT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == {
        "transformers": False,
        "sentence_transformers": False,
        "marks_left": [],
    }
