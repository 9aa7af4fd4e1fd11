"""Thin Prefect tasks: each calls one step of ``pipeline.steps`` and seals its folder.

Each task returns a path or a :class:`~flows.step_runs.StepOutput` (its folder
and the step's summary record), never bulk data, so the flow can run its
tasks in threads, processes or on a Dask cluster alike.

Caching: the steps that are worth skipping (ingest, topics, classify, compare,
and each batch of segmentation and embedding) take a ``cache_key`` built from
content hashes of their real inputs (see :mod:`pipeline.store.cache_keys`), not
Prefect's pickled inputs. Their results are persisted, so a rerun on
unchanged inputs reuses them across processes. A cached step writes its
files to ``<runs>/.cache/steps/<step>-<key>/`` and seals the folder with the
checksums of its files (:mod:`pipeline.store.checksums`); the flow verifies them
before reuse and copies the files into the run folder.

Tasks that do I/O retry an operating-system error with backoff; any other
error fails the step at once (it would fail again: at a million segments a
report step that could not be written ran three times, 10 minutes each).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import task

from flows.step_runs import StepOutput
from pipeline.config.run import PipelineConfig
from pipeline.steps.code import run_code_step
from pipeline.steps.compare import run_compare_step
from pipeline.steps.embed import embed_batch_step
from pipeline.steps.export import run_export_step
from pipeline.steps.ingest import read_checked_corpus, write_ingest
from pipeline.steps.inputs import RunInputs
from pipeline.steps.network import run_network_step
from pipeline.steps.segment import segment_batch
from pipeline.steps.summary import StepSummary
from pipeline.steps.topics import run_topics_step
from pipeline.store import cache_keys
from pipeline.store.checksums import seal_folder
from pipeline.store.database import ResultsStore
from pipeline.store.run_folder import RunFolder


def _input_output_error(task, task_run, state) -> bool:
    """Whether a failed I/O task is worth running again: an OS error only.

    A file briefly locked, a full disk freed, a network share back; any
    other error would fail again.
    """
    return isinstance(state.data, OSError)


IO_RETRIES: dict[str, Any] = dict(
    retries=2, retry_delay_seconds=[1, 4], retry_condition_fn=_input_output_error
)


def _by_cache_key(context, parameters: dict[str, Any]) -> str:
    """Prefect cache key: the ``cache_key`` parameter, a hash of the real inputs."""
    return parameters["cache_key"]


CACHED: dict[str, Any] = dict(cache_key_fn=_by_cache_key, persist_result=True)


def _sealed(step_dir: str, summary: StepSummary, started: float) -> StepOutput:
    """Seal a cached step's folder; its output: the folder, summary and seconds."""
    seal_folder(step_dir)
    return StepOutput(
        dir=step_dir, summary=summary, seconds=time.perf_counter() - started
    )


@task(name="ingest", **CACHED, **IO_RETRIES)
def ingest_task(config: PipelineConfig, cache_key: str, step_dir: str) -> StepOutput:
    """Read the corpus and check it; write ``documents.parquet`` and ``ingest.json``."""
    started = time.perf_counter()
    # documents checked in earlier runs are not checked again (findings are
    # kept in the store by a key of their speech and the checker's settings)
    store = ResultsStore(
        config.store.database, lock_timeout=config.store.lock_timeout_seconds
    )
    checked = read_checked_corpus(config, store=store)
    return _sealed(step_dir, write_ingest(checked, RunFolder(step_dir)), started)


@task(name="segment-batch", **CACHED)
def segment_batch_task(
    config: PipelineConfig,
    cache_key: str,
    documents_path: str,
    rows: list[int],
    step_dir: str,
) -> str:
    """Segment some documents of the run (rows of its documents table)."""
    segment_batch(config, documents_path, rows, RunFolder(step_dir))
    seal_folder(step_dir)
    return step_dir


@task(name="embed-batch", **CACHED)
def embed_batch_task(
    config: PipelineConfig, cache_key: str, texts: list[str], step_dir: str
) -> str:
    """Embed a batch of distinct texts."""
    embed_batch_step(config, texts, RunFolder(step_dir))
    seal_folder(step_dir)
    return step_dir


@task(name="topics", **CACHED)
def topics_task(
    inputs: RunInputs, cache_key: str, run_dir: str, step_dir: str
) -> StepOutput:
    """Fit (or apply the saved) topic model; write the topic tables and charts."""
    started = time.perf_counter()
    summary = run_topics_step(inputs, RunFolder(run_dir), RunFolder(step_dir))
    return _sealed(step_dir, summary, started)


@task(name="classify", **CACHED)
def classify_task(
    inputs: RunInputs, cache_key: str, run_dir: str, step_dir: str
) -> StepOutput | None:
    """Code segments and write auto-codes.

    With the trained model, or zero-shot from the codebook.
    """
    started = time.perf_counter()
    summary = run_code_step(inputs, RunFolder(run_dir), RunFolder(step_dir))
    return None if summary is None else _sealed(step_dir, summary, started)


@task(name="network", **CACHED)
def network_task(
    config: PipelineConfig, cache_key: str, run_dir: str, step_dir: str
) -> StepOutput | None:
    """Find the knowledge sources each participant draws on; write the network."""
    started = time.perf_counter()
    summary = run_network_step(
        config.network,
        RunFolder(run_dir),
        RunFolder(step_dir),
        random_state=config.random_state,
        csv_encoding=config.store.csv_encoding,
        mentions_cache=cache_keys.network_mentions_dir(config),
    )
    return None if summary is None else _sealed(step_dir, summary, started)


@task(name="compare", **CACHED, **IO_RETRIES)
def compare_task(
    inputs: RunInputs, cache_key: str, run_dir: str, step_dir: str
) -> StepOutput:
    """Compare auto-codes with the human codes; write the agreement tables."""
    started = time.perf_counter()
    summary = run_compare_step(inputs, RunFolder(run_dir), RunFolder(step_dir))
    return _sealed(step_dir, summary, started)


@task(name="report", **IO_RETRIES)
def report_task(inputs: RunInputs, run_dir: str) -> dict[str, Any]:
    """Write report.html, results.xlsx, prevalence_by_group.csv and auto_codes.qdpx."""
    started = time.perf_counter()
    written = run_export_step(inputs, RunFolder(run_dir))
    return {
        "files": {name: str(Path(path)) for name, path in written.items()},
        "seconds": time.perf_counter() - started,
    }
