"""The themes command: help with examples, and a clear error for bad usage.

Bad usage gets one clear line and exit status 2.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cli.main import app
from tests.conftest import ROOT


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(
    "command", ["run", "train", "suggest", "compare", "report", "runs", "serve"]
)
def test_every_command_has_help_with_an_example(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert (
        "Example: themes " + command in " ".join(result.output.split())
        or command == "runs"
    )


def test_top_level_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in (
        "run",
        "train",
        "suggest",
        "compare",
        "report",
        "runs",
        "serve",
        "check",
    ):
        assert command in result.output


def error_lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("segment:\n  unti: turn\n", "segment.unti: unknown key; allowed keys:"),
        (
            "segment:\n  window_size: many\n",
            "segment.window_size: Input should be a valid integer",
        ),
        ("classify:\n  codebook: [1, 2]\n", "classify.codebook"),
        ("nonsense: 1\n", "nonsense: unknown key"),
    ],
)
def test_config_errors_are_one_line_with_exit_status_2(tmp_path, config, expected):
    path = tmp_path / "config.yaml"
    path.write_text(config)
    result = invoke("run", "--config", str(path), "--corpus", str(tmp_path))
    assert result.exit_code == 2
    lines = error_lines(result)
    assert len(lines) == 1 and expected in lines[0] and str(path) in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--config", "nowhere.yaml"], "config file not found"),
        (["run", "--corpus", "no/such/folder"], "corpus not found: no/such/folder"),
        (
            ["run", "--config", "config/demo.yaml", "--codebook", "missing.yaml"],
            "codebook not found: missing.yaml",
        ),
        (
            ["run", "--config", "config/demo.yaml", "--codes", "missing.csv"],
            "codes file not found: missing.csv",
        ),
        (["run", "--config", "config/demo.yaml", "--unit", "paragraph"], "unit"),
        (["compare", "--codes", "missing.csv"], "codes file not found"),
        (["report", "no/such/run"], "no run at no/such/run"),
    ],
)
def test_missing_files_and_bad_options_exit_2_with_one_line(
    monkeypatch, args, expected
):
    monkeypatch.chdir(ROOT)
    result = invoke(*args)
    assert not (ROOT / "no").exists()  # a missing run is not made by asking for it
    assert result.exit_code in (1, 2)
    assert result.exit_code == 2 or args[0] == "report"
    lines = error_lines(result)
    assert len(lines) == 1 and expected in lines[0], result.output


def test_codes_missing_from_the_codebook_exit_2_naming_them(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    codes = tmp_path / "codes.csv"
    codes.write_text(
        "document_id,code,text\n"
        "M01,heroic_leadership,x\nM02,Typo Code,y\nM03,gm_isolation,z\n"
    )
    result = invoke("run", "--config", "config/demo.yaml", "--codes", str(codes))
    assert result.exit_code == 2
    (line,) = error_lines(result)
    assert "2 code(s) not in the codebook" in line
    assert "'heroic_leadership' (row 1)" in line and "'Typo Code' (row 2)" in line


def test_run_starts_its_own_temporary_server_only_when_no_api_is_configured(
    tmp_path, monkeypatch
):
    import sys

    from flows import api_server

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_PROFILES_PATH", raising=False)
    modules = {k: v for k, v in sys.modules.items() if k != "prefect"}
    monkeypatch.setattr(sys, "modules", modules)
    assert not api_server.api_configured()
    (tmp_path / "profiles.toml").write_text(
        'active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://10.0.0.5:4200/api"\n'
    )
    assert api_server.api_configured()
    assert api_server.TemporaryServer.start_if_needed() is None
    (tmp_path / "profiles.toml").unlink()
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert api_server.TemporaryServer.start_if_needed() is None
    monkeypatch.delenv("PREFECT_API_URL")
    monkeypatch.setattr(sys, "modules", {**modules, "prefect": object()})
    # Prefect already imported (a test harness, a notebook): Prefect decides
    assert api_server.TemporaryServer.start_if_needed() is None


def test_runs_table_fits_80_columns_and_names_the_coefficient(tmp_path, monkeypatch):
    from pipeline.store.database import ResultsStore

    store = ResultsStore(tmp_path / "themes.duckdb")
    for number in range(3):
        store.record_run(
            {
                "run_id": f"20261130-18000{number}-ab{number}c",
                "started_at": "2026-11-30 18:00:00",
                "status": "completed" if number else "nothing ingested",
                "corpus": str(tmp_path / "a_rather_long_corpus_folder_name"),
                "out_dir": str(tmp_path / f"run{number}"),
                "n_documents": 1200,
                "n_segments": 104_000,
            }
        )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"store:\n  database: {tmp_path / 'themes.duckdb'}\n  runs_dir: {tmp_path}\n"
    )
    monkeypatch.setenv("COLUMNS", "80")
    result = invoke("runs", "--config", str(config))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "20261130-180001-ab1c" in result.output  # ids are never cut
    assert "Cohen's kappa" in result.output


def test_suggest_says_when_there_is_nothing_to_suggest(prefect_harness, tmp_path):
    from flows.theme_pipeline import theme_pipeline
    from pipeline.config.run import RunOverrides
    from tests.conftest import DATA

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.txt").write_text(
        "Interviewer: How did you learn the job?\n"
        "P01: Mostly on the job, by trial and error, and one course.\n"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"ingest:\n  corpus: {corpus}\nsegment:\n  spacy_model: 'blank:en'\n"
        "embed:\n  backend: hashing\ntopics:\n  enabled: false\n"
        f"classify:\n  codebook: {DATA / 'codebooks' / 'mini.yaml'}\n"
        f"store:\n  database: {tmp_path / 'store' / 'themes.duckdb'}\n"
        f"  runs_dir: {tmp_path / 'store'}\n"
    )
    run = tmp_path / "run"
    theme_pipeline(str(config), RunOverrides(out=str(run)))
    codes = tmp_path / "codes.csv"
    codes.write_text("document_id,code\none,courses\n")
    result = invoke(
        "suggest", "--run", str(run), "--codes", str(codes), "--config", str(config)
    )
    assert result.exit_code == 0, result.output
    assert "Nothing to suggest" in " ".join(result.output.split())
    assert not (run / "suggestions.csv").exists()


def test_serve_help_says_what_happens_without_a_server():
    text = " ".join(invoke("serve", "--help").output.split())
    assert "Without PREFECT_API_URL" in text
    assert "end when you stop it" in text


def test_summary_lists_a_few_quarantined_sources_and_counts_the_rest(capsys):
    from flows.cli import console

    summary = {
        "run_id": "r",
        "status": "completed",
        "counts": {"documents": 5},
        "quarantined": [
            {"source": f"answers.csv:row {n}", "reason": "empty text"}
            for n in range(400)
        ],
        "notes": [],
        "out_dir": "runs/r",
        "database": "runs/themes.duckdb",
    }
    console.print_summary(summary)
    output = capsys.readouterr().out
    assert output.count("empty text") == console.MAX_LISTED
    assert "... and 380 more" in output
