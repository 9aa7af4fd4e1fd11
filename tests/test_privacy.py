"""Privacy: no transcript text in logs, even at debug level."""

from __future__ import annotations

import glob
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_demo_with_debug_logging_writes_no_transcript_sentence_to_any_log(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""
ingest:
  corpus: {ROOT / "examples" / "nhs_managers"}
segment:
  spacy_model: 'blank:en'
embed:
  backend: hashing
topics:
  lemmatize: false
  model_dir: {tmp_path / "models"}
classify:
  codebook: {ROOT / "config" / "codebooks" / "nhs_managers.yaml"}
compare:
  codes: {ROOT / "examples" / "nhs_managers" / "codes.csv"}
  n_boot: 20
store:
  database: {tmp_path / "store" / "themes.duckdb"}
  runs_dir: {tmp_path / "store"}
"""
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PREFECT_HOME": str(tmp_path / "home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "themes"),
            "run",
            "--config",
            str(config),
            "--out",
            str(tmp_path / "run"),
            "--debug",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "DEBUG" in done.stdout + done.stderr, "debug logging was not on"
    logs = done.stdout + done.stderr
    database = glob.glob(str(tmp_path / "home" / "*.db"))[0]
    with sqlite3.connect(database) as connection:
        stored = "\n".join(
            row[0] for row in connection.execute("SELECT message FROM log")
        )
    assert stored, "no logs reached Prefect's database"
    sentences = [
        s
        for s in pq.read_table(tmp_path / "run" / "segments.parquet")
        .column("text")
        .to_pylist()
        if len(s) >= 30
    ]
    assert len(sentences) > 300
    leaked = [s for s in sentences if s in logs or s in stored]
    assert leaked == []
    fragments = [s[:30] for s in sentences]
    assert [f for f in fragments if f in logs or f in stored] == []
