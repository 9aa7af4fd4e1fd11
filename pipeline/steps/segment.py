"""The segment step: cut documents into segments, reusing what the store holds.

Documents whose segments (same text, same ``segment`` settings) are in the
store are not cut again; the others are cut in batches (:func:`segment_batch`,
mapped by the flow over threads or Dask workers, each cached in its own
folder), then :func:`finish_segmentation` joins them in document order, writes
``segments.parquet`` and stores the new segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from pipeline.config.run import PipelineConfig
from pipeline.records import transcripts_from_table
from pipeline.steps.summary import StepSummary
from pipeline.store import cache_keys, run_files
from pipeline.store.database import ResultsStore
from pipeline.store.parquet_rows import read_rows
from pipeline.store.run_folder import RunFolder
from pipeline.text.segment import (
    cached_sentence_splitter,
    combine_segments,
    segment_transcripts,
)


@dataclass(frozen=True)
class SegmentPlan:
    """Which documents need cutting, in which batches.

    Attributes:
        order: Document ids in the run's order.
        hashes: Document id to the hash of its text.
        cached: Segments found in the store.
        missing: Rows (positions in ``documents.parquet``) to cut.
        batches: ``missing`` in batches of ``execution.document_batch``, or
            larger ones when that would make more than :data:`MAX_BATCHES`.
        keys: Each batch's cache key.
        folders: Each batch's cache folder.
    """

    order: list[str]
    hashes: dict[str, str]
    cached: pa.Table
    missing: list[int]
    batches: list[list[int]]
    keys: list[str]
    folders: list[Path]


@dataclass(frozen=True)
class SegmentSummary(StepSummary):
    """What the segment step did (for the manifest)."""

    n_segments: int
    documents_segmented: int
    documents_cached: int
    new_segments: int


MAX_BATCHES = 256
"""Most segmentation tasks a run makes; a larger corpus gets larger batches.

Each task costs the flow's process Prefect's bookkeeping (about 20 ms in
threads, 100 ms on Dask): a million comments in batches of 200 made 5,000
tasks, and the step was mostly that (``benchmarks/README.md``).
"""


def plan_segmentation(
    config: PipelineConfig, run: RunFolder, store: ResultsStore
) -> SegmentPlan:
    """Find the documents whose segments are not stored yet; batch them."""
    documents = run.documents()
    order = documents.column("document_id").to_pylist()
    hashes = dict(zip(order, documents.column("content_hash").to_pylist(), strict=True))
    cached = store.get_segments(hashes, config.section_hash("segment"))
    done = set(cached.column("document_id").to_pylist())
    missing = [row for row, d in enumerate(order) if d not in done]
    size = max(config.execution.document_batch, -(-len(missing) // MAX_BATCHES))
    batches = [missing[i : i + size] for i in range(0, len(missing), size)]
    keys = [
        cache_keys.segment_batch_key(config, (hashes[order[row]] for row in batch))
        for batch in batches
    ]
    folders = [cache_keys.step_dir(config, "segment", key) for key in keys]
    return SegmentPlan(order, hashes, cached, missing, batches, keys, folders)


def segment_batch(
    config: PipelineConfig, documents_path: str | Path, rows: list[int], out: RunFolder
) -> Path:
    """Cut some documents (rows of the run's documents table); write their segments.

    Returns:
        The segments file written in ``out``.
    """
    # only the row groups holding this batch are decoded (decoding the whole
    # table in every batch made segmentation grow with the square of the corpus)
    transcripts = transcripts_from_table(read_rows(documents_path, rows))
    nlp = (
        None
        if config.segment.unit == "turn"
        else cached_sentence_splitter(config.segment.spacy_model)
    )
    segments = segment_transcripts(transcripts, config.segment, nlp=nlp)
    return out.write_parquet(run_files.SEGMENTS, segments)


def finish_segmentation(
    config: PipelineConfig,
    plan: SegmentPlan,
    new_tables: list[pa.Table],
    run: RunFolder,
    store: ResultsStore,
) -> SegmentSummary:
    """Join stored and new segments in document order; write and store them."""
    segments = combine_segments([plan.cached, *new_tables], plan.order)
    run.write_parquet(run_files.SEGMENTS, segments)
    new_rows = 0
    if new_tables:
        new_rows = store.save_segments(
            combine_segments(new_tables, plan.order),
            content_hashes=plan.hashes,
            settings_hash=config.section_hash("segment"),
        )
    return SegmentSummary(
        n_segments=segments.num_rows,
        documents_segmented=len(plan.missing),
        documents_cached=len(plan.order) - len(plan.missing),
        new_segments=new_rows,
    )
