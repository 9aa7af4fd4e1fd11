from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.config.run import load_config
from pipeline.errors import RunNotFoundError, StoreBusyError
from pipeline.io.ingest import ingest_corpus
from pipeline.records import transcripts_from_table, transcripts_to_table
from pipeline.store.database import ResultsStore
from pipeline.store.run_folder import RunFolder
from pipeline.text.segment import segment_transcripts


@pytest.fixture(scope="module")
def tables(data_dir, blank_nlp):
    config = load_config(overrides={"segment.spacy_model": "blank:en"})
    result = ingest_corpus(config.ingest, data_dir / "corpus")
    documents = transcripts_to_table(list(result.transcripts))
    segments = segment_transcripts(result.transcripts, config.segment, nlp=blank_nlp)
    hashes = {t.document_id: t.content_hash for t in result.transcripts}
    return documents, segments, hashes


def test_rerunning_the_same_input_adds_no_duplicate_rows(tmp_path, tables):
    documents, segments, hashes = tables
    store = ResultsStore(tmp_path / "themes.duckdb")
    assert store.save_documents(documents, run_id="r1") == documents.num_rows
    assert (
        store.save_segments(segments, content_hashes=hashes, settings_hash="s1")
        == segments.num_rows
    )
    assert store.save_documents(documents, run_id="r2") == 0
    assert store.save_segments(segments, content_hashes=hashes, settings_hash="s1") == 0
    assert store.count("documents") == documents.num_rows
    assert store.count("segments") == segments.num_rows
    assert store.count("run_documents") == 2 * documents.num_rows


def test_changed_segment_settings_store_new_rows(tmp_path, tables):
    documents, segments, hashes = tables
    store = ResultsStore(tmp_path / "themes.duckdb")
    store.save_segments(segments, content_hashes=hashes, settings_hash="s1")
    assert (
        store.save_segments(segments, content_hashes=hashes, settings_hash="s2")
        == segments.num_rows
    )


def test_documents_table_round_trips_through_parquet(tmp_path, tables):
    documents, _, _ = tables
    folder = RunFolder(tmp_path / "run")
    folder.write_parquet("documents.parquet", documents)
    again = transcripts_from_table(folder.read_parquet("documents.parquet"))
    assert transcripts_to_table(again).equals(documents)
    assert not list((tmp_path / "run").glob("*.tmp"))


def test_reading_some_rows_decodes_only_their_row_groups(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    table = pa.table({"id": [f"d{i:03d}" for i in range(100)], "n": list(range(100))})
    folder = RunFolder(tmp_path / "run")
    folder.write_parquet("t.parquet", table, row_group_size=10)
    read_groups = []
    original = pq.ParquetFile.read_row_groups

    def spy(self, groups, *args, **kwargs):
        read_groups.extend(groups)
        return original(self, groups, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    rows = [57, 3, 58, 99, 0]
    some = folder.read_parquet("t.parquet", rows=rows)
    assert some.column("id").to_pylist() == [f"d{i:03d}" for i in rows]
    assert some.column("n").to_pylist() == rows
    assert sorted(read_groups) == [0, 5, 9]
    assert folder.read_parquet("t.parquet", rows=[]).num_rows == 0
    assert folder.read_parquet("t.parquet", rows=[4], columns=["n"]).to_pylist() == [
        {"n": 4}
    ]
    with pytest.raises(Exception, match="rows outside 0..99"):
        folder.read_parquet("t.parquet", rows=[100])


def test_failed_write_leaves_no_partial_file(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.write_json("manifest.json", {"ok": 1})

    def explode(_tmp):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        folder.write_with("manifest.json", explode)
    assert folder.read_json("manifest.json") == {"ok": 1}
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["manifest.json"]

    def decline(tmp):
        Path(tmp).write_text("half")
        return False

    assert folder.write_with("manifest.json", decline) is None
    assert folder.read_json("manifest.json") == {"ok": 1}
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["manifest.json"]


def test_record_run_inserts_then_updates(tmp_path):
    store = ResultsStore(tmp_path / "themes.duckdb")
    store.record_run({"run_id": "r1", "status": "running", "corpus": "c"})
    store.record_run(
        {"run_id": "r1", "status": "completed", "n_documents": 3, "summary": {"a": 1}}
    )
    (run,) = store.list_runs()
    assert (run["status"], run["corpus"], run["n_documents"]) == ("completed", "c", 3)


def test_second_writer_waits_then_gives_a_clear_message(tmp_path):
    path = tmp_path / "themes.duckdb"
    holder = ResultsStore(path)
    waiter = ResultsStore(path, lock_timeout=0.3)
    released = threading.Event()

    def hold():
        with holder.lock():
            released.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    time.sleep(0.1)
    with pytest.raises(StoreBusyError, match="another run is using the results store"):
        with waiter.lock():
            pass
    released.set()
    thread.join()
    with waiter.lock():
        pass


def test_missing_run_folder_is_reported(tmp_path):
    with pytest.raises(RunNotFoundError, match="no manifest.json"):
        RunFolder.existing(tmp_path / "nothing")


def test_empty_documents_table_is_fine(tmp_path):
    from pipeline.records import DOCUMENT_SCHEMA

    store = ResultsStore(tmp_path / "themes.duckdb")
    assert store.save_documents(DOCUMENT_SCHEMA.empty_table(), run_id="r") == 0
    assert pa.table({"x": [1]}).num_rows == 1
