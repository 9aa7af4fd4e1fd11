"""End-to-end: the theme_pipeline flow and the ``themes run`` command."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.store.database import ResultsStore


def write_config(tmp_path: Path, corpus: Path, *, intertopic_map: bool = False) -> Path:
    """A run's config; the intertopic map (a UMAP fit) only where a test looks at it."""
    lines = [
        "ingest:",
        f"  corpus: {corpus}",
        "segment:",
        "  spacy_model: 'blank:en'",
        "embed:",
        "  backend: hashing",
        "topics:",
        "  lemmatize: false",
        "  rerank_words: false",
        f"  intertopic_map: {str(intertopic_map).lower()}",
        f"  model_dir: {tmp_path / 'models'}",
        "network:",
        "  enabled: false",
        "store:",
        f"  database: {tmp_path / 'store' / 'themes.duckdb'}",
        f"  runs_dir: {tmp_path / 'store'}",
    ]
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_flow_writes_run_folder_and_store(prefect_harness, tmp_path, data_dir):
    from flows.theme_pipeline import theme_pipeline
    from pipeline.config.run import RunOverrides

    config = write_config(tmp_path, data_dir / "corpus", intertopic_map=True)
    summary = theme_pipeline(str(config), RunOverrides(out=str(tmp_path / "run1")))
    assert summary["status"] == "completed"
    assert summary["counts"]["documents"] == 10
    run = tmp_path / "run1"
    segments = pq.read_table(run / "segments.parquet")
    documents = pq.read_table(run / "documents.parquet")
    assert segments.num_rows == summary["counts"]["segments"] > 0
    texts = dict(
        zip(
            documents["document_id"].to_pylist(),
            documents["text"].to_pylist(),
            strict=True,
        )
    )
    for row in segments.to_pylist():
        assert texts[row["document_id"]][row["start"] : row["end"]] == row["text"]
    assert {"site", "managerial_group", "role"} <= set(documents.column_names)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["counts"]["documents"] == 10
    assert manifest["quarantined"] == []
    assert len(manifest["config_hash"]) == 16
    assert manifest["versions"]["spacy"]
    assert {i["source"] for i in manifest["inputs"]} >= {"teams.vtt", "word_table.docx"}
    assert set(manifest["timings"]) >= {
        "ingest",
        "segment",
        "embed",
        "topics",
        "total",
    }
    # every timed step has its peak memory: the process, at least its start
    assert set(manifest["memory_gb"]) == set(manifest["timings"]) - {"total"}
    assert all(0.05 < gb < 20 for gb in manifest["memory_gb"].values())
    embeddings = np.load(run / "embeddings.npy")
    assert embeddings.shape == (segments.num_rows, 256)
    topics = pq.read_table(run / "segment_topics.parquet")
    assert (
        topics.column("segment_id").to_pylist()
        == segments.column("segment_id").to_pylist()
    )
    topic_table = pd.read_csv(run / "topics.csv")
    assert topic_table["size"].sum() == segments.num_rows
    html = (run / "topics.html").read_text()
    assert "Plotly.newPlot" in html and "plotly.js" in html  # embedded, not linked
    assert not re.search(r"<script[^>]+src=[\"']https?:", html)

    assert manifest["embeddings"]["n_embedded"] == manifest["embeddings"]["n_unique"]

    store = ResultsStore(tmp_path / "store" / "themes.duckdb")
    n_documents, n_segments = store.count("documents"), store.count("segments")
    second = theme_pipeline(str(config), RunOverrides(out=str(tmp_path / "run2")))
    assert second["counts"]["new_documents"] == 0
    assert second["counts"]["embedded"] == 0

    assert second["counts"]["new_segments"] == 0
    assert (store.count("documents"), store.count("segments")) == (
        n_documents,
        n_segments,
    )
    assert [r["status"] for r in store.list_runs()] == ["completed", "completed"]


def invoke(*args: str):
    from flows.cli.main import app

    return CliRunner().invoke(app, list(args))


def test_cli_run_prints_summary_and_results_path(prefect_harness, tmp_path, data_dir):
    corpus = tmp_path / "corpus"
    shutil.copytree(data_dir / "corpus", corpus)
    (corpus / "broken.docx").write_text("not a zip")
    config = write_config(tmp_path, corpus)
    result = invoke("run", "--config", str(config), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "documents" in result.output and "segments" in result.output
    assert "broken.docx: not a .docx file" in result.output
    assert f"Results: {tmp_path / 'out'}" in result.output.replace("\n", "")
    assert (tmp_path / "out" / "manifest.json").is_file()

    strict = invoke(
        "run", "--config", str(config), "--strict", "--out", str(tmp_path / "o2")
    )
    assert strict.exit_code == 3


def test_cli_nothing_ingested_exits_1(prefect_harness, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("")
    config = write_config(tmp_path, corpus)
    result = invoke("run", "--config", str(config), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "empty.txt: empty file" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("segment:\n  unti: turn\n", "segment.unti: unknown key"),
        ("segment:\n  unit: paragraph\n", "segment.unit"),
    ],
)
def test_cli_bad_config_exits_2_with_one_clear_line(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = invoke("run", "--config", str(path), "--corpus", str(tmp_path))
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


def test_cli_missing_corpus_exits_2(tmp_path):
    result = invoke("run", "--corpus", str(tmp_path / "missing"))
    assert result.exit_code == 2
    assert "corpus not found" in result.output


def test_rerun_after_the_store_and_step_files_were_deleted(
    prefect_harness, tmp_path, data_dir
):
    """Prefect still remembers the cached steps; their files are gone.

    They are recomputed.
    """
    from flows.theme_pipeline import theme_pipeline
    from pipeline.config.run import RunOverrides

    config = write_config(tmp_path, data_dir / "corpus")
    first = theme_pipeline(str(config), RunOverrides(out=str(tmp_path / "run1")))
    shutil.rmtree(tmp_path / "store")
    second = theme_pipeline(str(config), RunOverrides(out=str(tmp_path / "run2")))
    assert second["status"] == "completed"
    assert second["counts"]["segments"] == first["counts"]["segments"]
    a = pq.read_table(tmp_path / "run1" / "segments.parquet").to_pandas()
    b = pq.read_table(tmp_path / "run2" / "segments.parquet").to_pandas()
    pd.testing.assert_frame_equal(a, b)


def test_io_tasks_retry_an_os_error_but_not_a_bug(prefect_harness, monkeypatch):
    from prefect import flow, task

    from flows.tasks import IO_RETRIES

    monkeypatch.setitem(IO_RETRIES, "retry_delay_seconds", 0)
    calls = []

    @task(**IO_RETRIES)
    def write(error: type[Exception]) -> int:
        calls.append(error)
        if len(calls) == 1:
            raise error("first attempt")
        return len(calls)

    @flow
    def run(error: type[Exception]) -> int:
        return write(error)

    assert run(OSError) == 2  # a file briefly locked: tried again
    calls.clear()
    with pytest.raises(RuntimeError, match="first attempt"):
        run(RuntimeError)  # "File size too large": failing again would take as long
    assert calls == [RuntimeError]
