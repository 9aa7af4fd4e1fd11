"""The ``theme_pipeline`` flow and its subflows: ingest, analyse, compare, report.

- ``ingest``: fingerprint the corpus (content hashes), read it (cached by that
  fingerprint; unchanged files are not parsed again), store the documents.
- ``analyse``: segment only documents whose segments are not stored yet, in
  batches mapped over the task runner (threads or Dask); embed only texts not
  in the embedding cache, in batches; topics (the saved model assigns new
  segments, or a refit); classify.
- ``compare``: agreement with human codes, when a codes file is given.

Every run writes its own folder; the store (DuckDB) keeps what runs share.
One run holds the store's lock at a time; a second waits, then stops with a
clear message. A run killed half-way leaves its folder marked
``interrupted`` and the store without partial rows (every write is a
transaction); rerunning reuses what the killed run finished.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import flow, unmapped

from flows.keys import file_hash, step_dir, step_key, texts_key
from flows.tasks import (
    classify_task,
    compare_task,
    embed_batch_task,
    ingest_task,
    report_task,
    segment_batch_task,
    topics_task,
    vectors_of,
)
from pipeline.checksums import copy_into, discard_folder, verify_folder
from pipeline.config import PipelineConfig, RunOverrides, load_config
from pipeline.embed import assemble_embeddings, embedder_id, plan_embeddings
from pipeline.errors import describe_error
from pipeline.folders import check_output_folder, claim_output_folder
from pipeline.ingest import fingerprint_corpus
from pipeline.manifest import build_manifest, utc_now
from pipeline.memory import PeakMemory, release_memory
from pipeline.progress import report_progress
from pipeline.saved_topics import saved_model_to_apply, topics_settings_hash
from pipeline.segment import combine_segments
from pipeline.store import ResultsStore, RunFolder, new_run_id

logger = logging.getLogger("pipeline.cache")


def link_outputs(source: str | Path, run_dir: str | Path) -> list[str]:
    """Copy a cached step's files into the run folder (never hard links).

    A copy (a reflink where the filesystem has them) keeps damage to a run
    folder's file from reaching the cache or other runs.
    """
    names = []
    for path in sorted(Path(source).iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        copy_into(path, Path(run_dir) / path.name)
        names.append(path.name)
    return names


@contextmanager
def measured(
    step: str, timings: dict[str, float], memory: dict[str, float]
) -> Iterator[None]:
    """Record a step's wall time and the peak resident memory of the process tree during it.

    An error raised in the block is tagged with the step (``failed_step``), so
    the run's manifest can say where it failed.
    """
    started = time.perf_counter()
    try:
        with PeakMemory(interval=0.1) as peak:
            yield
    except BaseException as error:
        if getattr(error, "failed_step", None) is None:
            with contextlib.suppress(AttributeError, TypeError):
                error.failed_step = step
        raise
    timings[step] = time.perf_counter() - started
    memory[step] = round(peak.peak_gb, 3)
    release_memory()  # what the step freed goes back to the system


def run_cached(task_fn, **parameters) -> tuple[Any, bool]:
    """Run a cached task; return its result and whether the cache served it.

    A cached result whose folder is missing or damaged (its files do not match
    the checksums written with them) is recomputed, with a one-line note.
    """
    state = task_fn(**parameters, return_state=True)
    result = state.result()
    if isinstance(result, dict):
        result = dict(result)
    reused = state.name == "Cached"
    folder = result.get("dir") if isinstance(result, dict) else None
    if reused and folder is not None:
        problem = verify_folder(folder)
        if problem is not None:
            _recompute_note(folder, problem)
            discard_folder(folder)
            state = task_fn.with_options(refresh_cache=True)(
                **parameters, return_state=True
            )
            result, reused = dict(state.result()), False
    return result, reused


def _recompute_note(folder: str | Path, problem: str) -> None:
    logger.warning(
        "cache: %s is damaged or incomplete (%s); recomputing it",
        Path(folder).name,
        problem,
    )


def run_step(
    task_fn, step: str, key: str, config: PipelineConfig, link_to: str, **parameters
) -> tuple[dict[str, Any], bool]:
    """Run a cached step in its step folder and link its files into ``link_to`` (the run folder).

    Returns:
        The task's summary (without its ``seconds``) and whether the cache served it.
    """
    result, reused = run_cached(
        task_fn,
        config=config,
        cache_key=key,
        step_dir=str(step_dir(config, step, key)),
        **parameters,
    )
    link_outputs(result["dir"], link_to)
    result.pop("seconds", None)
    return result, reused


def fresh_file(path: str, task_fn, **parameters) -> str:
    """A mapped task's output file; recomputed when its folder is missing or damaged."""
    problem = verify_folder(Path(path).parent)
    if problem is None:
        return path
    if Path(path).parent.is_dir():
        _recompute_note(Path(path).parent, problem)
        discard_folder(Path(path).parent)
    return task_fn.with_options(refresh_cache=True)(**parameters)


def task_runner_for(config: PipelineConfig):
    """The task runner of the ``analyse`` subflow: threads, or Dask."""
    if config.execution.executor == "dask":
        from prefect_dask import DaskTaskRunner

        if config.execution.dask_address:
            return DaskTaskRunner(address=config.execution.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": config.execution.dask_workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=1)


@flow(name="ingest")
def ingest_flow(config: PipelineConfig, run_id: str, run_dir: str) -> dict[str, Any]:
    """Fingerprint and read the corpus; store its documents."""
    key = step_key(
        "ingest", fingerprint_corpus(config.ingest), config.section_hash("anonymise")
    )

    result, reused = run_step(ingest_task, "ingest", key, config, run_dir)
    folder = RunFolder(run_dir)
    new_documents = 0
    if result["n_documents"]:
        store = ResultsStore(
            config.store.database, lock_timeout=config.store.lock_timeout_seconds
        )
        new_documents = store.save_documents(
            folder.read_parquet("documents.parquet"), run_id=run_id
        )
    return {**result, "key": key, "reused": reused, "new_documents": new_documents}


def _segment(
    config: PipelineConfig, run_dir: str, store: ResultsStore
) -> dict[str, Any]:
    folder = RunFolder(run_dir)
    documents = folder.read_parquet("documents.parquet")
    order = documents.column("document_id").to_pylist()
    hashes = dict(zip(order, documents.column("content_hash").to_pylist(), strict=True))
    settings = config.section_hash("segment")
    cached = store.get_segments(hashes, settings)
    done = set(cached.column("document_id").to_pylist())
    missing = [row for row, d in enumerate(order) if d not in done]
    size = config.execution.document_batch
    batches = [missing[i : i + size] for i in range(0, len(missing), size)]
    keys = [
        step_key("segment", settings, *(hashes[order[row]] for row in batch))
        for batch in batches
    ]
    paths = [str(step_dir(config, "segment", key) / "segments.parquet") for key in keys]
    futures = segment_batch_task.map(
        config=unmapped(config),
        cache_key=keys,
        documents_path=unmapped(str(folder.file("documents.parquet"))),
        rows=batches,
        out_path=paths,
    )
    new_tables = []
    for number, future in enumerate(futures, start=1):
        path = fresh_file(
            future.result(),
            segment_batch_task,
            config=config,
            cache_key=keys[number - 1],
            documents_path=str(folder.file("documents.parquet")),
            rows=batches[number - 1],
            out_path=paths[number - 1],
        )
        new_tables.append(RunFolder(Path(path).parent).read_parquet("segments.parquet"))
        report_progress("segment", number, len(futures))
    segments = combine_segments([cached, *new_tables], order)
    folder.write_parquet("segments.parquet", segments)
    new_rows = 0
    if new_tables:
        new_rows = store.save_segments(
            combine_segments(new_tables, order),
            content_hashes=hashes,
            settings_hash=settings,
        )
    return {
        "n_segments": segments.num_rows,
        "documents_segmented": len(missing),
        "documents_cached": len(done),
        "new_segments": new_rows,
    }


def _embed(config: PipelineConfig, run_dir: str, store: ResultsStore) -> dict[str, Any]:
    folder = RunFolder(run_dir)
    texts = folder.read_parquet("segments.parquet").column("text").to_pylist()
    model_id = embedder_id(config.embed)
    plan = plan_embeddings(texts, model_id, store)
    batches = plan.batches(config.execution.text_batch)
    keys = [step_key("embed", model_id, texts_key(batch)) for batch in batches]
    paths = [str(step_dir(config, "embed", key) / "vectors.npy") for key in keys]
    futures = embed_batch_task.map(
        config=unmapped(config),
        cache_key=keys,
        texts=[[plan.texts_by_key[k] for k in batch] for batch in batches],
        out_path=paths,
    )
    new = {}
    for number, (batch, future) in enumerate(
        zip(batches, futures, strict=True), start=1
    ):
        path = fresh_file(
            future.result(),
            embed_batch_task,
            config=config,
            cache_key=keys[number - 1],
            texts=[plan.texts_by_key[k] for k in batch],
            out_path=paths[number - 1],
        )
        vectors = vectors_of([path])
        store.put_embeddings(model_id, batch, vectors)
        new.update(zip(batch, vectors, strict=True))
        report_progress("embed", number, len(futures))
    dimension = next(iter(new.values()), next(iter(plan.found.values()), None))
    matrix = assemble_embeddings(plan, new, 0 if dimension is None else len(dimension))
    folder.write_npy("embeddings.npy", matrix)
    summary = {
        "model_id": model_id,
        "n_texts": len(texts),
        "n_unique": len(plan.texts_by_key),
        "n_cached": len(plan.found),
        "n_embedded": len(plan.missing),
        "texts_key": texts_key(plan.keys),
    }
    folder.write_json("embeddings.json", summary)
    return summary


@flow(name="analyse")
def analyse_flow(
    config: PipelineConfig, ingest_key: str, run_dir: str
) -> dict[str, Any]:
    """Segment, embed, find topics and code the run's documents."""
    store = ResultsStore(
        config.store.database, lock_timeout=config.store.lock_timeout_seconds
    )
    timings: dict[str, float] = {}
    memory: dict[str, float] = {}
    with measured("segment", timings, memory):
        segmented = _segment(config, run_dir, store)
    out: dict[str, Any] = {
        "segment": segmented,
        "timings": timings,
        "memory_gb": memory,
        "reused": {},
    }
    if not segmented["n_segments"]:
        return out
    with measured("embed", timings, memory):
        embedded = _embed(config, run_dir, store)
    out["embeddings"] = embedded
    corpus = step_key(
        "segments", ingest_key, config.section_hash("segment"), embedded["texts_key"]
    )
    if config.topics.enabled:
        texts = (
            RunFolder(run_dir)
            .read_parquet("segments.parquet")
            .column("text")
            .to_pylist()
        )
        saved = saved_model_to_apply(config, texts)
        key = step_key(
            "topics",
            corpus,
            embedded["model_id"],
            topics_settings_hash(config),
            "fit"
            if saved is None
            else f"transform:{file_hash(saved.folder / 'card.json')}",
            file_hash(config.classify.codebook) if config.topics.guided else "",
        )

        with measured("topics", timings, memory):
            out["topics"], out["reused"]["topics"] = run_step(
                topics_task, "topics", key, config, run_dir, run_dir=run_dir
            )
    classify_key = step_key(
        "classify",
        corpus,
        embedded["model_id"],
        config.section_hash("classify"),
        file_hash(config.classify.codebook),
        file_hash(config.classify.model),
    )
    if config.classify.codebook is not None or config.classify.model is not None:
        with measured("classify", timings, memory):
            out["classify"], out["reused"]["classify"] = run_step(
                classify_task,
                "classify",
                classify_key,
                config,
                run_dir,
                run_dir=run_dir,
            )
        out["classify_key"] = classify_key
    return out


@flow(name="compare")
def compare_flow(
    config: PipelineConfig, classify_key: str, run_dir: str
) -> dict[str, Any]:
    """Compare the run's auto-codes with human codes."""
    key = step_key(
        "compare",
        classify_key,
        config.section_hash("compare"),
        file_hash(config.compare.codes),
        file_hash(config.classify.codebook),
    )
    compared, reused = run_step(
        compare_task, "compare", key, config, run_dir, run_dir=run_dir
    )
    return {**compared, "reused": reused}


@flow(name="report")
def report_flow(config: PipelineConfig, run_dir: str) -> dict[str, Any]:
    """Write what researchers open: report, workbook, REFI-QDA project."""
    return report_task(config=config, run_dir=run_dir)


@flow(name="theme_pipeline", log_prints=False)
def theme_pipeline(
    config_path: str | None = None, overrides: RunOverrides | None = None
) -> dict[str, Any]:
    """Run the pipeline on a corpus and write a run folder.

    Args:
        config_path: A YAML config; the defaults when None.
        overrides: Typed values that replace keys of the config (corpus,
            output folder, columns, unit, codebook, model, codes, executor, ...).

    Returns:
        A summary: run id, output folder, counts, what was reused, quarantined
        sources, notes.
    """
    overrides = overrides or RunOverrides()
    config = load_config(config_path, overrides=overrides.as_dotted())
    run_id = new_run_id()
    out_dir = (
        Path(overrides.out) if overrides.out else Path(config.store.runs_dir) / run_id
    )
    # a folder the tool did not make is refused before any work (nothing in it
    # is touched); the folder itself is made only once the store is ours
    check_output_folder(out_dir, kind="run", option="--out")
    store = ResultsStore(
        config.store.database, lock_timeout=config.store.lock_timeout_seconds
    )
    started_at = utc_now()
    started = time.perf_counter()
    corpus = str(config.ingest.corpus)
    with store.lock(run_id=run_id):
        store.mark_interrupted()
        folder = RunFolder(claim_output_folder(out_dir, kind="run", option="--out"))
        store.record_run(
            {
                "run_id": run_id,
                "started_at": started_at,
                "status": "running",
                "corpus": corpus,
                "out_dir": str(out_dir),
                "config_hash": config.config_hash(),
            }
        )
        timings: dict[str, float] = {}
        memory: dict[str, float] = {}
        try:
            return _run_steps(
                config, run_id, folder, store, started_at, started, timings, memory
            )
        except BaseException as error:
            failure = {
                "step": getattr(error, "failed_step", None) or "run",
                "reason": describe_error(error),
            }
            timings["total"] = time.perf_counter() - started
            written = (
                folder.read_json("manifest.json")
                if folder.file("manifest.json").is_file()
                else {}
            )
            if written.get("run_id") != run_id:  # none yet, or an earlier run's
                written = {
                    "run_id": run_id,
                    "started_at": started_at,
                    "corpus": corpus,
                    "config": config.model_dump(mode="json"),
                    "config_hash": config.config_hash(),
                }
            folder.write_json(
                "manifest.json",
                written
                | {
                    "status": "failed",
                    "failed": failure,
                    "finished_at": utc_now(),
                    "timings": {k: round(v, 3) for k, v in timings.items()},
                    "memory_gb": memory,
                },
            )
            store.record_run(
                {
                    "run_id": run_id,
                    "finished_at": utc_now(),
                    "status": "failed",
                    "summary": {"failed": failure},
                }
            )
            raise


def _run_steps(
    config: PipelineConfig,
    run_id: str,
    folder: RunFolder,
    store: ResultsStore,
    started_at: str,
    started: float,
    timings: dict[str, float],
    memory: dict[str, float],
) -> dict[str, Any]:
    """The steps of :func:`theme_pipeline`, in the order the data takes."""
    out_dir = folder.path
    corpus = str(config.ingest.corpus)
    with measured("ingest", timings, memory):
        ingested = ingest_flow(config, run_id, str(out_dir))
    reused = {"ingest": ingested["reused"]}
    counts = {
        "documents": ingested["n_documents"],
        "quarantined": ingested["n_quarantined"],
        "speakers": ingested["n_speakers"],
        "new_documents": ingested["new_documents"],
        "segments": 0,
    }
    extra: dict[str, Any] = {}
    status = "nothing ingested"
    if ingested["n_documents"]:
        analysed = analyse_flow.with_options(task_runner=task_runner_for(config))(
            config, ingested["key"], str(out_dir)
        )
        timings.update(analysed["timings"])
        memory.update(analysed["memory_gb"])
        reused.update(analysed["reused"])
        segmented = analysed["segment"]
        counts.update(
            segments=segmented["n_segments"],
            new_segments=segmented["new_segments"],
            documents_segmented=segmented["documents_segmented"],
        )
        for name in ("embeddings", "topics", "classify"):
            if name in analysed:
                extra[name] = analysed[name]
        if "embeddings" in analysed:
            counts.update(
                embedded=analysed["embeddings"]["n_embedded"],
                embeddings_cached=analysed["embeddings"]["n_cached"],
            )
        if "topics" in analysed:
            counts["topics"] = analysed["topics"]["n_topics"]
        if "classify" in analysed:
            counts["coded_segments"] = (
                counts["segments"] - analysed["classify"]["segments_without_code"]
            )
            if config.compare.codes is not None:
                with measured("compare", timings, memory):
                    compared = compare_flow(
                        config, analysed["classify_key"], str(out_dir)
                    )
                reused["compare"] = compared.pop("reused")
                extra["compare"] = compared
        status = "completed"
    ingest_report = folder.read_json("ingest.json")

    def write_manifest(status: str) -> dict[str, Any]:
        timings.pop("total", None)
        timings["total"] = time.perf_counter() - started
        written = build_manifest(
            run_id=run_id,
            config=config,
            corpus=corpus,
            started_at=started_at,
            ingest=ingest_report,
            counts=counts,
            timings=timings,
            extra={
                "status": status,
                "reused": reused,
                "memory_gb": memory,
                **extra,
            },
        )
        folder.write_json("manifest.json", written)
        return written

    if status == "completed":
        # the report shows the manifest; should it fail, the manifest says so
        write_manifest(status)
        with measured("report", timings, memory):
            reported = report_flow(config, str(out_dir))
        extra["outputs"] = reported["files"]
    manifest = write_manifest(status)
    store.record_run(
        {
            "run_id": run_id,
            "finished_at": manifest["finished_at"],
            "status": status,
            "n_documents": counts["documents"],
            "n_segments": counts["segments"],
            "n_quarantined": counts["quarantined"],
            "summary": {
                "counts": counts,
                "timings": manifest["timings"],
                "reused": reused,
            },
        }
    )
    return {
        "run_id": run_id,
        "status": status,
        "out_dir": str(out_dir),
        "database": str(config.store.database),
        "counts": counts,
        "timings": manifest["timings"],
        "memory_gb": memory,
        "reused": reused,
        "quarantined": ingest_report["quarantined"],
        "notes": ingest_report["notes"],
        "anonymisation": ingest_report.get("anonymisation"),
        "topics": extra.get("topics"),
        "classify": extra.get("classify"),
        "compare": extra.get("compare"),
        "outputs": extra.get("outputs", {}),
    }
