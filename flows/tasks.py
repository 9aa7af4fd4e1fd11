"""Thin Prefect tasks: load inputs by path, call one ``pipeline`` function, save.

Each task returns a path or a small summary, never bulk data, so the flow can
run its tasks in threads, processes or on a Dask cluster alike. Tasks that do
I/O retry with backoff.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import task

from pipeline.config import PipelineConfig
from pipeline.ingest import ingest_corpus
from pipeline.manifest import ingest_manifest
from pipeline.records import transcripts_from_table, transcripts_to_table
from pipeline.segment import segment_transcripts
from pipeline.store import ResultsStore, RunFolder

IO_RETRIES = dict(retries=2, retry_delay_seconds=[1, 4])


@task(name="ingest", **IO_RETRIES)
def ingest_task(config: PipelineConfig, run_dir: str) -> dict[str, Any]:
    """Read the corpus; write ``documents.parquet`` and ``ingest.json``."""
    started = time.perf_counter()
    result = ingest_corpus(config.ingest)
    folder = RunFolder(run_dir)
    folder.write_parquet(
        "documents.parquet", transcripts_to_table(list(result.transcripts))
    )
    report = ingest_manifest(result)
    folder.write_json("ingest.json", report)
    speakers = {
        turn.speaker
        for transcript in result.transcripts
        for turn in transcript.turns
        if turn.speaker is not None
    }
    return {
        "n_documents": len(result.transcripts),
        "n_quarantined": len(result.quarantined),
        "n_speakers": len(speakers),
        "seconds": time.perf_counter() - started,
    }


@task(name="segment")
def segment_task(config: PipelineConfig, run_dir: str) -> dict[str, Any]:
    """Segment the run's documents; write ``segments.parquet``."""
    started = time.perf_counter()
    folder = RunFolder(run_dir)
    transcripts = transcripts_from_table(folder.read_parquet("documents.parquet"))
    segments = segment_transcripts(transcripts, config.segment)
    folder.write_parquet("segments.parquet", segments)
    return {"n_segments": segments.num_rows, "seconds": time.perf_counter() - started}


@task(name="store", **IO_RETRIES)
def store_task(config: PipelineConfig, run_id: str, run_dir: str) -> dict[str, Any]:
    """Add the run's documents and segments to the results database."""
    started = time.perf_counter()
    folder = RunFolder(run_dir)
    documents = folder.read_parquet("documents.parquet")
    segments = folder.read_parquet("segments.parquet")
    store = ResultsStore(
        config.store.database, lock_timeout=config.store.lock_timeout_seconds
    )
    content_hashes = dict(
        zip(
            documents.column("document_id").to_pylist(),
            documents.column("content_hash").to_pylist(),
            strict=True,
        )
    )
    new_documents = store.save_documents(documents, run_id=run_id)
    new_segments = store.save_segments(
        segments,
        content_hashes=content_hashes,
        settings_hash=config.section_hash("segment"),
    )
    return {
        "new_documents": new_documents,
        "new_segments": new_segments,
        "seconds": time.perf_counter() - started,
    }
