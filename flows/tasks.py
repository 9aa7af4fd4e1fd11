"""Thin Prefect tasks: load inputs by path, call one ``pipeline`` function, save.

Each task returns a path or a small summary, never bulk data, so the flow can
run its tasks in threads, processes or on a Dask cluster alike. Tasks that do
I/O retry with backoff.
"""

from __future__ import annotations

import time
from typing import Any

import pyarrow as pa
from prefect import task

from pipeline.autocodes import (
    auto_codes_for_csv,
    auto_codes_table,
    code_segments,
    roll_up_by_document,
)
from pipeline.charts import figures_to_html
from pipeline.compare import compare_run

from pipeline.config import PipelineConfig
from pipeline.embed import embed_texts, make_embedder
from pipeline.ingest import corpus_name, ingest_corpus
from pipeline.manifest import ingest_manifest
from pipeline.records import (
    segment_metadata,
    transcripts_from_table,
    transcripts_to_table,
)
from pipeline.segment import segment_transcripts
from pipeline.store import ResultsStore, RunFolder
from pipeline.topics import model_topics, save_topic_model, topic_model_card

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


@task(name="embed", **IO_RETRIES)
def embed_task(config: PipelineConfig, run_dir: str) -> dict[str, Any]:
    """Embed the run's segments (cached by text); write ``embeddings.npy``."""
    started = time.perf_counter()
    folder = RunFolder(run_dir)
    segments = folder.read_parquet("segments.parquet")
    embedder = make_embedder(config.embed)
    store = ResultsStore(
        config.store.database, lock_timeout=config.store.lock_timeout_seconds
    )
    result = embed_texts(segments.column("text").to_pylist(), embedder, cache=store)
    folder.write_npy("embeddings.npy", result.vectors)
    summary = {
        "model_id": result.model_id,
        "n_texts": result.n_texts,
        "n_unique": result.n_unique,
        "n_cached": result.n_cached,
        "n_embedded": result.n_embedded,
    }
    folder.write_json("embeddings.json", summary)
    return {**summary, "seconds": time.perf_counter() - started}


@task(name="topics")
def topics_task(config: PipelineConfig, run_dir: str) -> dict[str, Any]:
    """Fit topics; write segment_topics, topics, topics_by_group, topics.html and the model."""
    started = time.perf_counter()
    folder = RunFolder(run_dir)
    segments = folder.read_parquet("segments.parquet")
    embeddings = folder.read_embeddings(n_rows=segments.num_rows)
    metadata = segment_metadata(segments, folder.read_parquet("documents.parquet"))
    embedder = make_embedder(config.embed) if config.topics.rerank_words else None
    outputs = model_topics(
        segments.column("segment_id").to_pylist(),
        segments.column("text").to_pylist(),
        embeddings,
        metadata,
        config.topics,
        random_state=config.random_state,
        embedder=embedder,
    )
    folder.write_parquet(
        "segment_topics.parquet",
        pa.Table.from_pandas(outputs.assignments, preserve_index=False),
    )
    folder.write_csv("topics.csv", outputs.topics)
    folder.write_csv("topics_by_group.csv", outputs.by_group)
    folder.write_text(
        "topics.html",
        figures_to_html(
            "Topics", outputs.figures, intro=outputs.modeler.message_ or ""
        ),
    )
    model_dir = None
    if outputs.modeler.model_ is not None:
        name = config.topics.name or corpus_name(config.ingest.corpus)
        model_dir = str(config.topics.model_dir / name)
        save_topic_model(
            outputs.modeler,
            model_dir,
            card=topic_model_card(config, outputs, segments.column("text").to_pylist()),
        )
    n_topics = int((outputs.topics["topic"] >= 0).sum())
    return {
        "n_topics": n_topics,
        "method": outputs.modeler.method_,
        "message": outputs.modeler.message_,
        "n_outliers": outputs.modeler.n_outliers_,
        "model_dir": model_dir,
        "seconds": time.perf_counter() - started,
    }


@task(name="classify")
def classify_task(config: PipelineConfig, run_dir: str) -> dict[str, Any] | None:
    """Code segments (trained model or zero-shot); write auto_codes tables."""
    started = time.perf_counter()
    folder = RunFolder(run_dir)
    segments = folder.read_parquet("segments.parquet")
    documents = folder.read_parquet("documents.parquet")
    embeddings = folder.read_embeddings(n_rows=segments.num_rows)
    model_id = folder.read_json("embeddings.json")["model_id"]
    embedder = make_embedder(config.embed) if config.classify.model is None else None
    result = code_segments(
        segments,
        documents,
        embeddings,
        embedding_model_id=model_id,
        config=config,
        embedder=embedder,
        settings_hash=config.section_hash("segment"),
    )
    if result is None:
        return None
    table = auto_codes_table(
        segments,
        result.codes,
        result.scores,
        result.decisions,
        method=result.methods,
        model=result.model,
    )
    folder.write_parquet(
        "auto_codes.parquet", pa.Table.from_pandas(table, preserve_index=False)
    )
    folder.write_csv("auto_codes.csv", auto_codes_for_csv(table))
    by_document = roll_up_by_document(table)
    folder.write_parquet(
        "auto_codes_by_document.parquet",
        pa.Table.from_pandas(by_document, preserve_index=False),
    )
    folder.write_csv("auto_codes_by_document.csv", by_document)
    folder.write_json(
        "classifier.json",
        {
            "thresholds": dict(
                zip(result.codes, map(float, result.thresholds), strict=True)
            )
        }
        | result.summary(),
    )
    return {**result.summary(), "seconds": time.perf_counter() - started}


@task(name="compare", **IO_RETRIES)
def compare_task(config: PipelineConfig, run_dir: str) -> dict[str, Any]:
    """Compare auto-codes with the human codes; write the agreement tables."""
    started = time.perf_counter()
    summary = compare_run(run_dir, config)
    return {**summary, "seconds": time.perf_counter() - started}
