"""What researchers open: the HTML report in a real browser, the workbook, the REFI-QDA export."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

HOSTILE = 'I said <script>alert(1)</script> & left the ward, "quoted".'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, prefect_harness):
    from flows.theme_pipeline import theme_pipeline
    from pipeline.config import RunOverrides

    tmp = tmp_path_factory.mktemp("report")
    corpus = tmp / "corpus"
    corpus.mkdir()
    for name in ("M01.txt", "M04.txt", "M10.txt", "metadata.csv"):
        shutil.copy(ROOT / "examples" / "nhs_managers" / name, corpus / name)
    metadata = (corpus / "metadata.csv").read_text()
    (corpus / "metadata.csv").write_text(
        metadata.replace(",Trust A,", ",Trust A <script>alert(2)</script>,", 1)
    )
    text = (corpus / "M04.txt").read_text()
    (corpus / "M04.txt").write_text(text.replace("RESP: ", "RESP: " + HOSTILE + " ", 1))
    config = tmp / "config.yaml"
    config.write_text(
        f"""
ingest:
  corpus: {corpus}
segment:
  spacy_model: 'blank:en'
embed:
  backend: hashing
topics:
  lemmatize: false
  rerank_words: false
  model_dir: {tmp / "models"}
classify:
  codebook: {ROOT / "config" / "codebooks" / "nhs_managers.yaml"}
compare:
  codes: {ROOT / "examples" / "nhs_managers" / "codes.csv"}
  n_boot: 50
store:
  database: {tmp / "store" / "themes.duckdb"}
  runs_dir: {tmp / "store"}
"""
    )
    summary = theme_pipeline(str(config), RunOverrides(out=str(tmp / "run")))
    assert summary["status"] == "completed"
    assert set(summary["outputs"]) >= {"report.html", "results.xlsx", "auto_codes.qdpx"}
    return tmp / "run"


def test_report_is_self_contained_and_escapes_transcript_text(run_folder):
    html = (run_folder / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "<script>alert(2)</script>" not in html
    assert "Trust A &lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert not re.search(r"<script[^>]+src=[\"']https?:", html)
    assert not re.search(r"<link[^>]+href=[\"']https?:", html)
    for section in (
        "overview",
        "prevalence",
        "topics",
        "agreement",
        "disagreements",
        "provenance",
    ):
        assert f'<section id="{section}">' in html


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_report_renders_in_headless_chromium_without_console_errors(
    run_folder, tmp_path
):
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--window-size=1400,2400",
    ]
    url = (run_folder / "report.html").as_uri()
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    for section in (
        "overview",
        "prevalence",
        "topics",
        "agreement",
        "disagreements",
        "provenance",
    ):
        assert f'id="{section}"' in dom.stdout
    assert dom.stdout.count('class="main-svg"') >= 3, "plotly charts did not render"
    assert "Trust A &lt;script&gt;alert(2)&lt;/script&gt;" in dom.stdout
    assert "alert(" not in " ".join(console)

    screenshot = tmp_path / "report.png"
    shot = subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={screenshot}", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0 and screenshot.stat().st_size > 50_000


def test_workbook_has_a_sheet_per_table_frozen_headers_and_readable_widths(run_folder):
    import openpyxl
    import pandas as pd

    book = openpyxl.load_workbook(run_folder / "results.xlsx", read_only=False)
    assert book.sheetnames[:1] == ["about"]
    for name in (
        "auto codes",
        "codes compared",
        "agreement",
        "disagreements",
        "topics",
        "prevalence by group",
    ):
        sheet = book[name]
        assert sheet.freeze_panes == "A2"
        assert sheet["A1"].font.b
        widths = [sheet.column_dimensions[c].width for c in "ABC"]
        assert all(8 <= w <= 62 for w in widths)
    agreement = pd.read_excel(run_folder / "results.xlsx", sheet_name="agreement")
    csv = pd.read_csv(run_folder / "agreement.csv")
    assert len(agreement) == len(csv)
    assert list(agreement.columns) == list(csv.columns)
    compared = pd.read_excel(run_folder / "results.xlsx", sheet_name="codes compared")
    every = pd.read_csv(run_folder / "codes_compared.csv")
    applied = every[every["auto_assigned"].eq(True) | every["human_any"].eq(True)]
    assert 0 < len(compared) == len(applied) < len(every)
    assert set(compared["segment_id"]) == set(applied["segment_id"])


def test_qdpx_export_validates_and_holds_human_and_auto_codings(run_folder):
    import zipfile

    import pandas as pd
    import xmlschema

    from pipeline.codebook import load_codebook
    from pipeline.codes import read_codes

    schema = xmlschema.XMLSchema(
        str(ROOT / "tests" / "data" / "refi" / "Project-mrt2019.xsd")
    )
    with zipfile.ZipFile(run_folder / "auto_codes.qdpx") as archive:
        schema.validate(archive.read("project.qde").decode("utf-8"))
    documents = pd.read_parquet(run_folder / "documents.parquet")
    texts = dict(zip(documents["document_id"], documents["text"], strict=True))
    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_managers.yaml")
    imported = read_codes(
        run_folder / "auto_codes.qdpx", codebook=codebook, documents=texts
    )
    coders = set(imported.coders)
    assert {"coder1", "coder2"} <= coders
    auto_user = next(c for c in coders if c.startswith("auto: "))
    auto = pd.read_parquet(run_folder / "auto_codes.parquet")
    assigned = auto[auto["assigned"]]
    exported = {
        (a.document_id, a.code, a.start, a.end)
        for a in imported.assignments
        if a.coder == auto_user
    }
    assert exported == set(
        zip(
            assigned["document_id"],
            assigned["code"],
            assigned["start"],
            assigned["end"],
            strict=True,
        )
    )
    human = read_codes(
        ROOT / "examples" / "nhs_managers" / "codes.csv",
        codebook=codebook,
        documents=texts,
    )
    kept = {(a.document_id, a.code, a.coder, a.start, a.end) for a in human.assignments}
    back = {
        (a.document_id, a.code, a.coder, a.start, a.end)
        for a in imported.assignments
        if a.coder != auto_user
    }
    assert back == kept


def test_report_command_rebuilds_from_a_stored_run(run_folder, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    (run_folder / "report.html").unlink()
    result = CliRunner().invoke(app, ["report", str(run_folder)])
    assert result.exit_code == 0, result.output
    assert (run_folder / "report.html").is_file()
