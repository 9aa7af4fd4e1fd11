"""What researchers open: the HTML report (in a real browser), workbook, REFI-QDA."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

HOSTILE = 'I said <script>alert(1)</script> & left the ward, "quoted".'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, prefect_harness):
    """One run of three example interviews, made once for all test processes.

    The tests only read it (those that change files work on a copy), so the
    xdist workers share it: the first to get the lock runs the pipeline.
    """
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent  # the workers' common folder
    with FileLock(str(shared / "report-run.lock")):
        run = shared / "report" / "run"
        if not (run / "manifest.json").is_file():
            _make_run(shared / "report")
    return run


def _make_run(tmp: Path) -> None:
    from flows.theme_pipeline import theme_pipeline
    from pipeline.config.run import RunOverrides

    tmp.mkdir(parents=True, exist_ok=True)
    corpus = tmp / "corpus"
    corpus.mkdir(exist_ok=True)
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
        "network",
        "agreement",
        "disagreements",
        "provenance",
    ):
        assert f'<section id="{section}">' in html


def test_run_shows_the_knowledge_network_in_report_workbook_and_project(run_folder):
    import zipfile

    import openpyxl
    import pandas as pd

    sources = pd.read_parquet(run_folder / "knowledge_sources.parquet")
    documents = pd.read_parquet(run_folder / "documents.parquet")
    texts = dict(zip(documents["document_id"], documents["text"], strict=True))
    assert len(sources) > 0
    for row in sources.itertuples():
        assert texts[row.document_id][row.start : row.end] == row.mention
    html = (run_folder / "report.html").read_text()
    network = html.split('<section id="network">', 1)[1].split("</section>", 1)[0]
    assert "Who participants turn to" in network and "By group" in network
    assert "plotly-graph-div" in network
    assert "<script>alert" not in network
    book = openpyxl.load_workbook(run_folder / "results.xlsx", read_only=True)
    assert {"knowledge sources", "network by group"} <= set(book.sheetnames)
    # the mentions are coded in the project, by an auto-coder of their own
    with zipfile.ZipFile(run_folder / "auto_codes.qdpx") as archive:
        project = archive.read("project.qde").decode("utf-8")
    assert 'name="Knowledge sources"' in project
    assert 'name="auto: knowledge sources (run ' in project
    kinds = {f"Knowledge sources: {kind}" for kind in sources["kind"]}
    assert all(f'name="{kind}"' in project for kind in kinds)
    assert project.count("<Coding ") >= len(sources)


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

    from pipeline.coding.codebook import load_codebook
    from pipeline.io.codes.read import read_codes

    schema = xmlschema.XMLSchema(
        str(ROOT / "tests" / "data" / "refi" / "Project-mrt2019.xsd")
    )
    with zipfile.ZipFile(run_folder / "auto_codes.qdpx") as archive:
        schema.validate(archive.read("project.qde").decode("utf-8"))
    documents = pd.read_parquet(run_folder / "documents.parquet")
    texts = dict(zip(documents["document_id"], documents["text"], strict=True))
    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_managers.yaml")
    imported = read_codes(
        run_folder / "auto_codes.qdpx",
        codebook=codebook,
        documents=texts,
        include_auto_coders=True,
    )
    coders = set(imported.coders)
    assert {"coder1", "coder2"} <= coders
    auto_user = next(c for c in coders if c.startswith("auto: "))
    # the auto-coder's passages: a turn's adjacent coded segments merged
    passages = pd.read_parquet(run_folder / "auto_passages.parquet")
    exported = {
        (a.document_id, a.code, a.start, a.end)
        for a in imported.assignments
        if a.coder == auto_user
    }
    assert exported == set(
        zip(
            passages["document_id"],
            passages["code"],
            passages["start"],
            passages["end"],
            strict=True,
        )
    )
    auto = pd.read_parquet(run_folder / "auto_codes.parquet")
    assigned = auto[auto["assigned"]]
    assert passages["n_segments"].sum() == len(assigned)
    assert len(passages) < len(assigned)  # some passages hold several segments
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

    from flows.cli.main import app

    run = copy_run(run_folder, tmp_path)
    (run / "report.html").unlink()
    result = CliRunner().invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert (run / "report.html").is_file()


def copy_run(run_folder, tmp_path):
    """A copy of the module's run folder, for tests that rewrite its files."""
    run = tmp_path / "run"
    shutil.copytree(run_folder, run)
    return run


def qdpx_contents(path) -> tuple[int, list[str], dict[str, int]]:
    """Codings, users in order, and codings per user of a ``.qdpx``."""
    from collections import Counter

    from pipeline.io.refi.read import read_project

    project = read_project(path)
    per_user = Counter(project.users[c.user_guid] for c in project.codings)
    return len(project.codings), list(project.users.values()), dict(per_user)


def small_config(tmp_path):
    config = tmp_path / "compare.yaml"
    config.write_text("compare:\n  n_boot: 20\n")
    return config


def test_exported_project_names_a_human_coder_first_and_shows_code_names(
    run_folder,
):
    from pipeline.coding.codebook import load_codebook
    from pipeline.io.refi.guids import is_auto_coder
    from pipeline.io.refi.read import read_project

    project = read_project(run_folder / "auto_codes.qdpx")
    users = list(project.users.items())
    assert [name for _, name in users[:2]] == ["coder1", "coder2"]
    assert not is_auto_coder(*users[0])
    assert is_auto_coder(*users[-1]) and users[-1][1].startswith("auto: ")
    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_managers.yaml")
    # the study's codes, then the knowledge sources and one child per kind
    names = [code.name for code in project.codes]
    assert names[: len(codebook.codes)] == [c.name for c in codebook.codes]
    assert names[len(codebook.codes)] == "Knowledge sources"
    assert all(n.startswith("Knowledge sources: ") for n in names[-5:])


def test_tables_and_report_show_code_names_beside_ids(run_folder):
    import pandas as pd

    from pipeline.coding.codebook import load_codebook

    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_managers.yaml")
    names = codebook.display_names()
    for name in (
        "auto_codes.csv",
        "auto_codes_by_document.csv",
        "agreement.csv",
        "disagreements.csv",
        "codes_compared.csv",
        "prevalence_by_group.csv",
    ):
        table = pd.read_csv(run_folder / name, keep_default_na=False)
        columns = list(table.columns)
        assert columns[columns.index("code") + 1] == "code_name", name
        per_code = table[table["code"] != "(all codes)"]
        assert (per_code["code_name"] == per_code["code"].map(names)).all(), name
    sheet = pd.read_excel(run_folder / "results.xlsx", sheet_name="auto codes")
    assert set(sheet["code_name"]) <= set(names.values())
    html = (run_folder / "report.html").read_text()
    assert "Reliance on experience and situated knowledge" in html


def test_our_qdpx_fed_back_as_codes_adds_no_human_coder(run_folder, tmp_path):
    from pipeline.agreement.run_comparison import compare_run
    from pipeline.config.run import PipelineConfig
    from pipeline.steps.inputs import resolve_run_inputs

    run = copy_run(run_folder, tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    config = PipelineConfig.model_validate(manifest["config"])

    inputs = resolve_run_inputs(config)
    summary = compare_run(
        run,
        config,
        codebook=inputs.codebook,
        codebook_path=inputs.codebook_path,
        codes_path=run / "auto_codes.qdpx",
    )

    assert summary["coders"] == ["coder1", "coder2"]
    pairs = {(r["coder_a"], r["coder_b"]) for r in summary["pooled"]}
    assert pairs == {("coder1", "auto"), ("coder2", "auto"), ("coder1", "coder2")}
    # the auto-coder and the network step's knowledge-source mentions
    skipped = sorted(summary["skipped_auto_coders"])
    assert len(skipped) == 2 and all(s.startswith("auto: ") for s in skipped)
    assert any(s.startswith("auto: knowledge sources (run ") for s in skipped)
    assert any("not a human coder" in note for note in summary["notes"])


def test_report_command_keeps_the_human_codings_in_the_project(run_folder, tmp_path):
    from typer.testing import CliRunner

    from flows.cli.main import app

    run = copy_run(run_folder, tmp_path)
    before = qdpx_contents(run / "auto_codes.qdpx")
    assert before[2]["coder1"] and before[2]["coder2"]

    result = CliRunner().invoke(app, ["report", str(run)])

    assert result.exit_code == 0, result.output
    after = qdpx_contents(run / "auto_codes.qdpx")
    assert after == before
    assert len(after[1]) == 4  # two coders, the auto-coder, the knowledge sources


def test_report_command_says_when_the_human_codes_are_gone(run_folder, tmp_path):
    from typer.testing import CliRunner

    from flows.cli.main import app

    run = copy_run(run_folder, tmp_path)
    record = json.loads((run / "codes_import.json").read_text())
    record["codes_path"] = str(tmp_path / "moved.csv")
    (run / "codes_import.json").write_text(json.dumps(record))

    result = CliRunner().invoke(app, ["report", str(run)])

    assert result.exit_code == 1
    message = "moved.csv: the human codes file this run compared with (recorded in"
    assert message in result.output
    assert "--codes FILE" in result.output


def test_compare_command_rewrites_report_workbook_and_project(run_folder, tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from flows.cli.main import app

    run = copy_run(run_folder, tmp_path)
    outputs = ("report.html", "results.xlsx", "auto_codes.qdpx")
    for name in outputs:
        (run / name).write_bytes(b"stale")
    codes = pd.read_csv(ROOT / "examples" / "nhs_managers" / "codes.csv")
    only_one = tmp_path / "coder1.csv"
    codes[codes["coder"] == "coder1"].to_csv(only_one, index=False)

    result = CliRunner().invoke(
        app,
        [
            "compare",
            "--run",
            str(run),
            "--codes",
            str(only_one),
            "--config",
            str(small_config(tmp_path)),
        ],
    )

    assert result.exit_code == 0, result.output
    for name in outputs:
        assert (run / name).read_bytes() != b"stale", name
    n_codings, users, per_user = qdpx_contents(run / "auto_codes.qdpx")
    assert users[0] == "coder1" and "coder2" not in per_user
    agreement = pd.read_excel(run / "results.xlsx", sheet_name="agreement")
    assert set(agreement["coder_a"]) == {"coder1"}
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["compare"]["coders"] == ["coder1"]
    assert manifest["compare"]["recompared"]["codes"] == str(only_one.resolve())
    assert "coder1.csv" in (run / "report.html").read_text()

    # a later report rebuilds from the codes this comparison used
    rebuilt = CliRunner().invoke(app, ["report", str(run)])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert qdpx_contents(run / "auto_codes.qdpx") == (n_codings, users, per_user)


def test_run_csvs_open_in_excel_and_plain_utf8_is_one_setting_away(
    run_folder, tmp_path
):
    import codecs

    from pipeline.outputs.export import export_run

    names = sorted(path.name for path in run_folder.glob("*.csv"))
    assert {"auto_codes.csv", "disagreements.csv", "agreement.csv"} <= set(names)
    marked = {name: (run_folder / name).read_bytes() for name in names}
    for name, data in marked.items():
        assert data.startswith(codecs.BOM_UTF8), name

    run = copy_run(run_folder, tmp_path)
    export_run(run, csv_encoding="utf-8")

    for name in names:
        data = (run / name).read_bytes()
        assert not data.startswith(codecs.BOM_UTF8), name
        assert data == marked[name][len(codecs.BOM_UTF8) :], name


def test_auto_code_and_disagreement_rows_carry_their_quotes(run_folder):
    import openpyxl
    import pandas as pd

    from pipeline.outputs.run_tables import read_output_csv

    segments = pd.read_parquet(run_folder / "segments.parquet")
    texts = dict(zip(segments["segment_id"], segments["text"], strict=True))
    auto = read_output_csv(run_folder / "auto_codes.csv")
    assert (auto["quote"] == auto["segment_id"].map(texts)).all()
    by_document = read_output_csv(run_folder / "auto_codes_by_document.csv")
    assert (by_document["quote"] == by_document["best_segment_id"].map(texts)).all()
    present = by_document[by_document["present"]]
    assigned = read_output_csv(run_folder / "auto_codes.csv").query("assigned")
    pairs = set(zip(assigned["segment_id"], assigned["code"], strict=True))
    assert all(
        (s, c) in pairs
        for s, c in zip(present["best_segment_id"], present["code"], strict=True)
    )
    review = read_output_csv(run_folder / "disagreements.csv")
    assert len(review) and (review["quote"] == review["segment_id"].map(texts)).all()
    assert "definition" not in review

    book = openpyxl.load_workbook(run_folder / "results.xlsx")
    for sheet in ("auto codes", "disagreements", "codes compared"):
        header = [cell.value for cell in book[sheet][1]]
        assert "quote" in header, sheet
    assert "definition" not in [cell.value for cell in book["disagreements"][1]]


def test_disagreements_come_in_review_order_with_fillers_last(run_folder):
    from pipeline.outputs.run_tables import read_output_csv

    review = read_output_csv(run_folder / "disagreements.csv")
    assert review["rank"].tolist() == list(range(1, len(review) + 1))
    assert set(review["kind"]) == {"false positive", "miss"}
    top = review.head(10)
    assert set(top["kind"]) == {"false positive", "miss"}
    assert top["code"].nunique() > 3
    fillers = review["filler"].to_numpy()
    assert fillers.any() and not fillers[: (~fillers).sum()].any()
    assert (review.loc[review["n_words"] <= 4, "filler"]).all()


def test_workbook_keeps_numbers_and_holds_the_codebook_once(run_folder):
    import openpyxl

    from pipeline.coding.codebook import load_codebook

    book = openpyxl.load_workbook(run_folder / "results.xlsx")
    sheet = book["agreement"]
    header = [cell.value for cell in sheet[1]]
    for column in ("kappa", "kappa_low", "alpha", "precision", "prevalence_b"):
        cells = [row[header.index(column)] for row in sheet.iter_rows(min_row=2)]
        assert all(c.data_type == "n" for c in cells), column
        assert any(isinstance(c.value, float) for c in cells), column
    kappa = sheet.cell(row=2, column=header.index("kappa") + 1)
    assert kappa.number_format == "0.00"
    share = sheet.cell(row=2, column=header.index("prevalence_a") + 1)
    assert share.number_format == "0.0%"

    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_managers.yaml")
    rows = list(book["codebook"].iter_rows(values_only=True))
    assert rows[0][:4] == ("code", "code_name", "parent", "definition")
    assert [row[0] for row in rows[1:]] == codebook.ids
    assert [row[3] for row in rows[1:]] == [c.definition for c in codebook.codes]


def test_report_heads_agreement_with_both_shares_and_lists_the_codebook(run_folder):
    from markupsafe import escape

    from pipeline.coding.codebook import load_codebook

    html = (run_folder / "report.html").read_text()
    assert '<section id="codebook">' in html
    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_managers.yaml")
    assert str(escape(codebook.codes[0].definition)) in html
    assert "Headline: pooled over codes" in html
    assert "A coded" in html and "B coded" in html
    assert "of the segments" in html  # the auto-coder's share of segments coded
    assert "false positive" in html and "in review order" in html


def test_export_in_small_chunks_and_a_second_process_writes_the_same_files(
    run_folder, tmp_path, monkeypatch
):
    import zipfile

    from pipeline.coding.codebook import load_codebook
    from pipeline.io.codes.records import assignments_from_table
    from pipeline.outputs import csv_chunks, export
    from pipeline.outputs.export import export_run
    from pipeline.store.run_folder import RunFolder

    whole, chunked = (
        copy_run(run_folder, tmp_path / "a"),
        copy_run(run_folder, tmp_path / "b"),
    )
    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_managers.yaml")
    human = assignments_from_table(RunFolder(whole).read_parquet("human_codes.parquet"))
    # each CSV in one chunk, the workbook in this process
    in_line = export_run(whole, codebook=codebook, human_codes=human)
    monkeypatch.setattr(csv_chunks, "CHUNK_ROWS", 7)
    # and the workbook and the project written in a second process, as a
    # large run's are
    monkeypatch.setattr(export, "PROCESS_FROM_SEGMENTS", 1)
    written = export_run(chunked, codebook=codebook, human_codes=human)
    assert list(written) == list(in_line)  # the same files, listed in the same order
    assert Path(written["results.xlsx"]) == chunked / "results.xlsx"

    assert len((whole / "auto_codes_by_document.csv").read_text().splitlines()) > 7
    for path in sorted(whole.glob("*.csv")) + [whole / "report.html"]:
        assert path.read_bytes() == (chunked / path.name).read_bytes(), path.name
    assert (whole / "auto_codes.qdpx").read_bytes() == (
        chunked / "auto_codes.qdpx"
    ).read_bytes()
    with (
        zipfile.ZipFile(whole / "results.xlsx") as one,
        zipfile.ZipFile(chunked / "results.xlsx") as other,
    ):
        # docProps/core.xml holds the time the workbook was made
        entries = [n for n in one.namelist() if n != "docProps/core.xml"]
        assert entries == [n for n in other.namelist() if n != "docProps/core.xml"]
        for entry in entries:
            assert one.read(entry) == other.read(entry), entry
