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
  intertopic_map: false  # a picture: nothing of it is logged
  small_corpus: 100000   # k-means: UMAP and HDBSCAN log numbers only, and compile
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


NAMES = ("Margaret Thornton", "Graham Fairweather", "Priya Ramaswamy", "Tom Ashcroft")
PLANTED = "P07: Call me on 07700 900123 or write to jo.bloggs@example.org please.\n"


def anonymise_run(tmp_path, policy: str):
    import shutil

    from flows.theme_pipeline import theme_pipeline
    from pipeline.config.run import RunOverrides

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(
        ROOT / "tests" / "data" / "anonymise" / "interview_with_names.txt",
        corpus / "named.txt",
    )
    with open(corpus / "named.txt", "a") as handle:
        handle.write("\n" + PLANTED)
    shutil.copy(
        ROOT / "tests" / "data" / "corpus" / "int_resp.txt", corpus / "clean.txt"
    )
    text = (corpus / "named.txt").read_text()
    start = text.index("I spoke to Margaret Thornton")
    codes = tmp_path / "codes.csv"
    codes.write_text(
        "document_id,code,start,end,coder\n"
        f"named,network_support,{start},"
        f"{start + len('I spoke to Margaret Thornton almost every week')},ann\n"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""
ingest:
  corpus: {corpus}
anonymise:
  policy: {policy}
segment:
  spacy_model: 'blank:en'
embed:
  backend: hashing
topics:
  enabled: false
classify:
  codebook: {ROOT / "config" / "codebooks" / "nhs_managers.yaml"}
compare:
  codes: {codes}
  n_boot: 10
store:
  database: {tmp_path / "store" / "themes.duckdb"}
  runs_dir: {tmp_path / "store"}
"""
    )
    return theme_pipeline(str(config), RunOverrides(out=str(tmp_path / "run")))


@pytest.mark.slow
def test_redact_policy_removes_identifiers_before_anything_is_stored(
    prefect_harness, tmp_path
):
    summary = anonymise_run(tmp_path, "redact")
    assert summary["status"] == "completed"
    assert summary["anonymisation"]["n_findings"] >= 6
    run = tmp_path / "run"
    documents = (
        pq.read_table(run / "documents.parquet").to_pandas().set_index("document_id")
    )
    text = documents.loc["named", "text"]
    assert "[PERSON]" in text and "[PHONE]" in text and "[EMAIL]" in text
    leaks = ["07700 900123", "jo.bloggs@example.org", *NAMES]
    for path in list(run.rglob("*")) + list((tmp_path / "store").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            for leak in leaks:
                assert leak.encode() not in data, (leak, path)
    segments = pq.read_table(run / "segments.parquet").to_pandas()
    for row in segments.itertuples():
        assert documents.loc[row.document_id, "text"][row.start : row.end] == row.text
    findings = (run / "anonymisation.csv").read_text(encoding="utf-8-sig")
    assert findings.splitlines()[0] == "document_id,kind,start,end,detector"
    compared = pq.read_table(run / "codes_compared.parquet").to_pandas()
    coded = compared[(compared["code"] == "network_support") & compared["ann"].eq(True)]
    assert len(coded) == 1
    assert (
        "I spoke to [PERSON] almost every week"
        in segments.set_index("segment_id").loc[coded["segment_id"].iloc[0], "text"]
    )


@pytest.mark.slow
def test_block_policy_quarantines_documents_with_identifiers(prefect_harness, tmp_path):
    summary = anonymise_run(tmp_path, "block")
    reasons = {q["source"]: q["reason"] for q in summary["quarantined"]}
    assert "blocked by the anonymisation check" in reasons["named.txt"]
    assert not any(name in reasons["named.txt"] for name in NAMES)
    assert summary["counts"]["documents"] == 1


@pytest.mark.slow
def test_report_policy_keeps_text_and_lists_counts_in_the_report(
    prefect_harness, tmp_path
):
    summary = anonymise_run(tmp_path, "report")
    html = (tmp_path / "run" / "report.html").read_text()
    assert "Anonymisation check" in html and "PERSON" in html
    counts = summary["anonymisation"]["counts"]["named"]
    assert counts["PHONE"] == 1 and counts["EMAIL"] == 1 and counts["PERSON"] >= 4


@pytest.mark.slow
def test_check_command_prints_counts_never_identifiers(tmp_path):
    from typer.testing import CliRunner

    from flows.cli.main import app

    result = CliRunner().invoke(
        app, ["check", str(ROOT / "tests" / "data" / "anonymise")]
    )
    assert result.exit_code == 3
    assert "PERSON" in result.output
    for name in NAMES:
        assert name not in result.output


SECRET = "I never told anyone about the ward manager in Leeds"


def test_unexpected_error_is_one_line_without_its_message(
    prefect_harness, tmp_path, monkeypatch, capfd
):
    """A library error that quotes transcript text: the logs name its type only.

    Both the CLI and Prefect's logs.
    """
    from typer.testing import CliRunner

    import pipeline.steps.export
    from flows.cli.main import app

    def broken(*args, **kwargs):
        raise ValueError(f"{SECRET} cannot be used in worksheets.")

    monkeypatch.setattr(pipeline.steps.export, "export_run", broken)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.txt").write_text("Interviewer: How was it?\nP01: Fine, mostly.\n")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""
ingest:
  corpus: {corpus}
segment:
  spacy_model: 'blank:en'
embed:
  backend: hashing
topics:
  enabled: false
store:
  database: {tmp_path / "store" / "themes.duckdb"}
  runs_dir: {tmp_path / "store"}
"""
    )
    result = CliRunner().invoke(
        app, ["run", "--config", str(config), "--out", str(tmp_path / "run")]
    )
    captured = capfd.readouterr()
    output = result.output + captured.out + captured.err
    assert result.exit_code == 1, output
    assert "unexpected error ValueError" in output
    assert "--debug" in output
    assert SECRET not in output, [
        line for line in output.splitlines() if SECRET in line
    ]
