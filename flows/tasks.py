"""Thin Prefect tasks: load inputs by path, call one ``pipeline`` function, save.

Each task returns a path or a small summary, never bulk data, so the flow can
run its tasks in threads, processes or on a Dask cluster alike.

Caching: the steps that are worth skipping (ingest, topics, classify, compare,
and each batch of segmentation and embedding) take a ``cache_key`` built from
content hashes of their real inputs (file hashes, config section hashes, the
keys of the steps before them; see :mod:`flows.keys`), not Prefect's pickled
inputs. Their results are persisted, so a rerun on unchanged inputs reuses them
across processes. A cached step writes its files to
``<runs>/.cache/steps/<step>-<key>/`` and seals the folder with the checksums
of its files (:mod:`pipeline.checksums`); the flow verifies them before reuse
and copies the files into the run folder.

Tasks that do I/O retry with backoff.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from prefect import task

from pipeline.autocodes import (
    auto_codes_for_csv,
    auto_codes_table,
    code_segments,
    roll_up_by_document,
)
from pipeline.charts import figures_to_html
from pipeline.checksums import seal_folder
from pipeline.compare import compare_run
from pipeline.config import PipelineConfig
from pipeline.embed import CachingEmbedder, cached_embedder, embed_batch
from pipeline.export import export_run, load_codebook_and_codes
from pipeline.records import segment_metadata, transcripts_from_table
from pipeline.segment import cached_sentence_splitter, segment_transcripts
from pipeline.steps.ingest import read_checked_corpus, write_ingest
from pipeline.store import ResultsStore, RunFolder, read_rows
from pipeline.topics import run_topics, seed_topics

IO_RETRIES: dict[str, Any] = dict(retries=2, retry_delay_seconds=[1, 4])


def _by_cache_key(context, parameters: dict[str, Any]) -> str:
    """Prefect cache key: the ``cache_key`` parameter, a hash of the real inputs."""
    return parameters["cache_key"]


CACHED: dict[str, Any] = dict(cache_key_fn=_by_cache_key, persist_result=True)


@task(name="ingest", **CACHED, **IO_RETRIES)
def ingest_task(
    config: PipelineConfig, cache_key: str, step_dir: str
) -> dict[str, Any]:
    """Read the corpus and check it; write ``documents.parquet`` and ``ingest.json``."""
    started = time.perf_counter()
    # documents checked in earlier runs are not checked again (findings are
    # kept in the store by a key of their speech and the checker's settings)
    store = ResultsStore(
        config.store.database, lock_timeout=config.store.lock_timeout_seconds
    )
    checked = read_checked_corpus(config, store=store)
    counts = write_ingest(checked, RunFolder(step_dir))
    seal_folder(step_dir)
    return {"dir": step_dir, **counts, "seconds": time.perf_counter() - started}


@task(name="segment-batch", **CACHED)
def segment_batch_task(
    config: PipelineConfig,
    cache_key: str,
    documents_path: str,
    rows: list[int],
    out_path: str,
) -> str:
    """Segment some documents of the run (rows of its documents table); write their segments."""
    # only the row groups holding this batch are decoded (decoding the whole
    # table in every batch made segmentation grow with the square of the corpus)
    table = read_rows(documents_path, rows)
    transcripts = transcripts_from_table(table)
    nlp = (
        None
        if config.segment.unit == "turn"
        else cached_sentence_splitter(config.segment.spacy_model)
    )
    segments = segment_transcripts(transcripts, config.segment, nlp=nlp)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    RunFolder(Path(out_path).parent).write_parquet(Path(out_path).name, segments)
    seal_folder(Path(out_path).parent)
    return out_path


@task(name="embed-batch", **CACHED)
def embed_batch_task(
    config: PipelineConfig, cache_key: str, texts: list[str], out_path: str
) -> str:
    """Embed a batch of distinct texts; write the vectors as ``.npy``."""
    vectors = embed_batch(cached_embedder(config.embed), texts)
    RunFolder(Path(out_path).parent).write_npy(Path(out_path).name, vectors)
    seal_folder(Path(out_path).parent)
    return out_path


@task(name="topics", **CACHED)
def topics_task(
    config: PipelineConfig, cache_key: str, run_dir: str, step_dir: str
) -> dict[str, Any]:
    """Fit (or apply the saved) topic model; write the topic tables and charts."""
    started = time.perf_counter()
    folder = RunFolder(run_dir)
    segments = folder.read_parquet("segments.parquet")
    embeddings = folder.read_embeddings(n_rows=segments.num_rows)
    metadata = segment_metadata(segments, folder.read_parquet("documents.parquet"))
    guided = config.topics.guided and config.classify.codebook is not None
    embedder = (
        cached_embedder(config.embed) if config.topics.rerank_words or guided else None
    )
    step = run_topics(
        segments.column("segment_id").to_pylist(),
        segments.column("text").to_pylist(),
        embeddings,
        metadata,
        config,
        embedder=embedder,
        seed_topic_list=seed_topics(config.classify.codebook) if guided else None,
    )

    out = RunFolder(step_dir)
    out.write_parquet(
        "segment_topics.parquet",
        pa.Table.from_pandas(step.assignments, preserve_index=False),
    )
    out.write_csv("topics.csv", step.topics)
    out.write_csv("topics_by_group.csv", step.by_group)
    out.write_text(
        "topics.html", figures_to_html("Topics", step.figures, intro=step.message)
    )
    seal_folder(step_dir)
    return {
        "dir": step_dir,
        "n_topics": int((step.topics["topic"] >= 0).sum()),
        "method": step.method,
        "message": step.message,
        "n_outliers": step.n_outliers,
        "model_dir": step.model_dir,
        "seconds": time.perf_counter() - started,
    }


@task(name="classify", **CACHED)
def classify_task(
    config: PipelineConfig, cache_key: str, run_dir: str, step_dir: str
) -> dict[str, Any] | None:
    """Code segments (trained model, or zero-shot from the codebook); write auto-codes."""
    from pipeline.zeroshot import saved_coding_dir

    started = time.perf_counter()
    folder = RunFolder(run_dir)
    segments = folder.read_parquet("segments.parquet")
    documents = folder.read_parquet("documents.parquet")
    embeddings = folder.read_embeddings(n_rows=segments.num_rows)
    model_id = folder.read_json("embeddings.json")["model_id"]
    # the codebook's prototype texts go through the store's embedding cache:
    # the same on every run, so a rerun needs no model to code zero-shot
    embedder = (
        CachingEmbedder(
            config.embed,
            ResultsStore(
                config.store.database, lock_timeout=config.store.lock_timeout_seconds
            ),
        )
        if config.classify.model is None
        else None
    )
    result = code_segments(
        segments,
        documents,
        embeddings,
        embedding_model_id=model_id,
        config=config,
        embedder=embedder,
        settings_hash=config.section_hash("segment"),
        saved_coding=saved_coding_dir(config, model_id)
        if config.classify.model is None and config.classify.codebook is not None
        else None,
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
    out = RunFolder(step_dir)
    out.write_parquet(
        "auto_codes.parquet", pa.Table.from_pandas(table, preserve_index=False)
    )
    out.write_csv("auto_codes.csv", auto_codes_for_csv(table))
    by_document = roll_up_by_document(table)
    out.write_parquet(
        "auto_codes_by_document.parquet",
        pa.Table.from_pandas(by_document, preserve_index=False),
    )
    out.write_csv("auto_codes_by_document.csv", by_document)
    thresholds = dict(zip(result.codes, map(float, result.thresholds), strict=True))
    out.write_json("classifier.json", {"thresholds": thresholds} | result.summary())
    seal_folder(step_dir)
    return {
        "dir": step_dir,
        **result.summary(),
        "seconds": time.perf_counter() - started,
    }


@task(name="compare", **CACHED, **IO_RETRIES)
def compare_task(
    config: PipelineConfig, cache_key: str, run_dir: str, step_dir: str
) -> dict[str, Any]:
    """Compare auto-codes with the human codes; write the agreement tables."""
    started = time.perf_counter()
    RunFolder(step_dir)
    summary = compare_run(run_dir, config, out_dir=step_dir)
    seal_folder(step_dir)
    return {"dir": step_dir, **summary, "seconds": time.perf_counter() - started}


def vectors_of(paths: list[str]) -> np.ndarray | None:
    """Stack the vectors written by :func:`embed_batch_task` (None when there are none)."""
    arrays = [np.load(path, allow_pickle=False) for path in paths]
    return np.concatenate(arrays) if arrays else None


@task(name="report", **IO_RETRIES)
def report_task(config: PipelineConfig, run_dir: str) -> dict[str, Any]:
    """Write report.html, results.xlsx, prevalence_by_group.csv and auto_codes.qdpx."""
    started = time.perf_counter()
    codebook, imported = load_codebook_and_codes(run_dir, config)
    written = export_run(run_dir, codebook=codebook, imported=imported)
    return {"files": written, "seconds": time.perf_counter() - started}
