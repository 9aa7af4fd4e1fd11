"""Nothing lost, nothing leaked: output folders, caches, statuses, file modes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT
from tests.flows.test_orchestration import manifest, themes, write_config


def invoke(*args: str):
    from flows.cli.main import app

    return CliRunner().invoke(app, list(args))


def small_config(tmp_path: Path, corpus: Path, extra: str = "") -> Path:
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
{extra}
"""
    )
    return config


def one_interview(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "one.txt").write_text(
        "Interviewer: Who do you ask for advice?\n"
        "P01: Mostly my line manager, and a peer in another trust.\n"
    )
    return folder


# --- never delete what you did not write ---------------------------------


def test_run_refuses_an_out_folder_it_did_not_make_and_touches_nothing(tmp_path):
    config = small_config(tmp_path, one_interview(tmp_path))
    out = tmp_path / "my_corpus"
    out.mkdir()
    (out / "P01.txt").write_text("my only copy")
    result = invoke("run", "--config", str(config), "--out", str(out))
    assert result.exit_code == 2
    assert "was not made by themes" in result.output
    assert [p.name for p in out.iterdir()] == ["P01.txt"]
    assert (out / "P01.txt").read_text() == "my only copy"
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_run_out_naming_a_file_is_a_usage_error_before_any_work(tmp_path, where):
    config = small_config(tmp_path, one_interview(tmp_path))
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    out = blocker if where == "a file" else blocker / "run"
    result = invoke("run", "--config", str(config), "--out", str(out))
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0, result.output
    assert "unexpected" not in result.output
    assert blocker.read_text() == "mine"
    assert not (tmp_path / "store").exists()


def test_folder_rules(tmp_path):
    from pipeline.errors import OutputFolderError
    from pipeline.store.folders import MARKER, claim_output_folder, replacing_folder

    empty = tmp_path / "empty"
    empty.mkdir()
    assert claim_output_folder(empty, kind="run", option="--out") == empty
    assert (empty / MARKER).is_file()
    # a folder of ours is replaced whole, only once the new one is complete
    with replacing_folder(tmp_path / "model", kind="model", option="--out") as staging:
        (staging / "card.json").write_text("{}")
    with pytest.raises(RuntimeError):
        with replacing_folder(tmp_path / "model", kind="model", option="--out") as new:
            (new / "card.json").write_text('{"half": true}')
            raise RuntimeError("training failed half-way")
    assert (tmp_path / "model" / "card.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "model"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "card.json").write_text("a user's card, not a model")
    with pytest.raises(OutputFolderError, match="not made by themes"):
        with replacing_folder(foreign, kind="model", option="--out"):
            pass
    assert (foreign / "card.json").read_text() == "a user's card, not a model"


# --- honest statuses and exits --------------------------------------------


def test_run_failing_in_the_report_step_is_recorded_as_failed(
    prefect_harness, tmp_path, monkeypatch
):
    import pipeline.steps.export
    from flows.theme_pipeline import theme_pipeline
    from pipeline.config.run import RunOverrides
    from pipeline.store.database import ResultsStore

    def broken(*args, **kwargs):
        raise ValueError("the workbook could not be written")

    monkeypatch.setattr(pipeline.steps.export, "export_run", broken)
    config = small_config(tmp_path, one_interview(tmp_path))
    with pytest.raises(ValueError):
        theme_pipeline(str(config), RunOverrides(out=str(tmp_path / "run")))
    written = manifest(tmp_path / "run")
    assert written["status"] == "failed"
    assert written["failed"]["step"] == "report"
    assert written["failed"]["reason"].startswith("ValueError")
    assert "workbook" not in written["failed"]["reason"]  # messages may quote text
    assert written["counts"]["documents"] == 1  # what the run did is kept
    runs = ResultsStore(tmp_path / "store" / "themes.duckdb").list_runs()
    assert [run["status"] for run in runs] == ["failed"]


def test_run_refused_by_a_busy_store_leaves_no_folder(prefect_harness, tmp_path):
    from flows.theme_pipeline import theme_pipeline
    from pipeline.config.run import RunOverrides
    from pipeline.errors import StoreBusyError
    from pipeline.store.database import ResultsStore

    config = small_config(
        tmp_path, one_interview(tmp_path), extra="  lock_timeout_seconds: 0.2\n"
    )
    store = ResultsStore(tmp_path / "store" / "themes.duckdb")
    with store.lock():
        with pytest.raises(StoreBusyError):
            theme_pipeline(str(config), RunOverrides(out=str(tmp_path / "run")))
    assert not (tmp_path / "run").exists()


def test_check_fails_when_nothing_could_be_checked(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "broken.docx").write_bytes(b"this is not a Word file")
    config = small_config(tmp_path, corpus)
    result = invoke("check", str(corpus), "--config", str(config))
    assert result.exit_code == 1
    assert "nothing could be checked" in result.output
    assert "0 possible identifiers found" not in result.output


# --- private by default ---------------------------------------------------


def test_files_are_private_unless_the_team_shares_a_group(tmp_path):
    from pipeline.store.permissions import file_mode, folder_mode, use_file_modes
    from pipeline.store.run_folder import RunFolder

    before = os.umask(0o022)
    try:
        use_file_modes(share_with_group=False)
        private = RunFolder(tmp_path / "private")
        path = private.write_text("a.txt", "transcript text")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 == file_mode()
        assert stat.S_IMODE(private.path.stat().st_mode) == 0o700 == folder_mode()
        use_file_modes(share_with_group=True)
        shared = RunFolder(tmp_path / "shared")
        path = shared.write_text("a.txt", "transcript text")
        assert stat.S_IMODE(path.stat().st_mode) == 0o660
        assert stat.S_IMODE(shared.path.stat().st_mode) == 0o770
    finally:
        use_file_modes(share_with_group=False)
        os.umask(before)


# --- caches that verify themselves ------------------------------------------


def truncate(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(max(1, path.stat().st_size // 2))


@pytest.mark.slow
def test_damaged_cache_entries_of_every_step_are_recomputed(tmp_path, managers_corpus):
    config = write_config(
        tmp_path,
        managers_corpus,
        extra=f"compare:\n  codes: {ROOT / 'examples/nhs_managers/codes.csv'}\n"
        "  n_boot: 10\n",
    )
    first = themes(
        tmp_path, "run", "--config", str(config), "--out", str(tmp_path / "one")
    )
    assert first.returncode == 0, first.stderr[-3000:]
    one = tmp_path / "one"
    names = (
        "documents.parquet",
        "segments.parquet",
        "embeddings.npy",
        "segment_topics.parquet",
        "auto_codes.parquet",
        "agreement.csv",
    )
    expected = {name: (one / name).read_bytes() for name in names}

    steps = sorted((tmp_path / "store" / ".cache" / "steps").iterdir())
    assert {p.name.split("-")[0] for p in steps} == {
        "ingest",
        "segment",
        "embed",
        "topics",
        "classify",
        "compare",
    }
    cached = {p.name: p for step in steps for p in step.iterdir()}
    # run folders share no inode with the cache, so damage cannot travel
    for name in ("documents.parquet", "auto_codes.parquet"):
        assert (one / name).stat().st_ino != cached[name].stat().st_ino
    truncate(one / "auto_codes.parquet")  # a run folder damaged by hand
    for step in steps:  # and every step's cached files
        for path in step.iterdir():
            if not path.name.startswith("."):
                truncate(path)

    # a new store, so that the segment and embed batches are needed again too
    (tmp_path / "store" / "themes.duckdb").unlink()
    second = themes(
        tmp_path, "run", "--config", str(config), "--out", str(tmp_path / "two")
    )
    assert second.returncode == 0, second.stderr[-3000:]
    notes = [line for line in second.stderr.splitlines() if "recomputing" in line]
    assert len(notes) == len(steps), second.stderr[-3000:]
    assert "Traceback" not in second.stderr
    two = tmp_path / "two"
    for name in names:
        if name.endswith(".parquet"):
            assert pq.read_table(two / name).equals(
                pq.read_table(pa_buffer(expected[name]))
            ), name
        else:
            assert (two / name).read_bytes() == expected[name], name
    # every file the run wrote is its owner's only: run folder, store, caches,
    # Prefect's database, the REFI-QDA project
    for root in (two, tmp_path / "store", tmp_path / "prefect-home"):
        for path in root.rglob("*"):
            if path.is_file():
                assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert (two / "auto_codes.qdpx").is_file()


def pa_buffer(data: bytes):
    import pyarrow as pa

    return pa.BufferReader(data)


def test_a_damaged_parse_cache_entry_is_parsed_again(tmp_path):
    from pipeline.config.inputs import IngestConfig
    from pipeline.io.ingest import ingest_corpus
    from pipeline.io.readers.parsed_cache import ParsedCache

    corpus = one_interview(tmp_path)
    cache = ParsedCache(tmp_path / "parsed")
    first = ingest_corpus(IngestConfig(corpus=corpus), cache=cache)
    (entry,) = (tmp_path / "parsed").iterdir()
    raw = entry.read_text()
    entry.write_text(raw.replace("line manager", "line mangler"))  # same shape
    again = ingest_corpus(IngestConfig(corpus=corpus), cache=cache)
    assert again.transcripts[0].text == first.transcripts[0].text
    entry.write_text(raw[: len(raw) // 2])  # truncated
    again = ingest_corpus(IngestConfig(corpus=corpus), cache=cache)
    assert again.transcripts[0].text == first.transcripts[0].text


def test_sealed_folder_reports_what_is_wrong(tmp_path):
    from pipeline.store.checksums import SEAL, seal_folder, verify_folder

    folder = tmp_path / "step"
    folder.mkdir()
    (folder / "a.parquet").write_bytes(b"x" * 100)
    assert (
        verify_folder(folder)
        == "no checksums: unfinished, or made by an earlier version"
    )
    seal_folder(folder)
    assert verify_folder(folder) is None
    (folder / "a.parquet").write_bytes(b"y" * 100)  # same size, other bytes
    assert verify_folder(folder) == "a.parquet changed"
    (folder / "a.parquet").unlink()
    assert verify_folder(folder) == "a.parquet missing"
    (folder / SEAL).write_text("{not json")
    assert verify_folder(folder) == "checksums unreadable"


@pytest.mark.parametrize("where", ["a folder", "under a file"])
def test_check_out_that_cannot_be_a_file_is_a_usage_error(tmp_path, where):
    corpus = one_interview(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    out = (
        tmp_path / "corpus" if where == "a folder" else tmp_path / "notes.txt" / "x.csv"
    )
    result = invoke("check", str(corpus), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert (tmp_path / "notes.txt").read_text() == "mine"
