"""The ``theme_pipeline`` flow and its subflows: ingest, analyse, compare, report.

- ``ingest``: fingerprint the corpus (content hashes), read it (cached by that
  fingerprint; unchanged files are not parsed again), store the documents.
- ``analyse``: segment only documents whose segments are not stored yet, in
  batches mapped over the task runner (threads or Dask); embed only texts not
  in the embedding cache, in batches; topics (the saved model assigns new
  segments, or a refit), beside classify, network and compare.
- ``compare`` (within ``analyse``): agreement with human codes, when a codes
  file is given.

Every run writes its own folder; the store (DuckDB) keeps what runs share.
One run holds the store's lock at a time; a second waits, then stops with a
clear message. A run killed half-way leaves its folder marked
``interrupted`` and the store without partial rows (every write is a
transaction); rerunning reuses what the killed run finished.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, unmapped

from flows.step_runs import (
    StepOutput,
    StepRun,
    fresh_folder,
    measured,
    run_step,
    side_runner,
    start_step,
    task_runner_for,
)
from flows.tasks import (
    classify_task,
    compare_task,
    embed_batch_task,
    ingest_task,
    network_task,
    report_task,
    segment_batch_task,
    topics_task,
)
from pipeline.config.run import PipelineConfig, RunOverrides, load_config
from pipeline.errors import describe_error
from pipeline.io.corpus_files import fingerprint_corpus
from pipeline.progress import report_progress
from pipeline.steps.embed import (
    EmbedSummary,
    finish_embedding,
    plan_embedding,
    read_batch,
)
from pipeline.steps.ingest import IngestSummary
from pipeline.steps.inputs import RunInputs, resolve_run_inputs
from pipeline.steps.segment import (
    SegmentSummary,
    finish_segmentation,
    plan_segmentation,
)
from pipeline.store import cache_keys, run_files
from pipeline.store.database import ResultsStore, new_run_id
from pipeline.store.folders import check_output_folder, claim_output_folder
from pipeline.store.freshness import record_run_inputs, run_fingerprint
from pipeline.store.manifest import build_manifest, utc_now
from pipeline.store.run_folder import RunFolder
from pipeline.topics.saved import saved_model_to_apply


@dataclass(frozen=True)
class Ingested:
    """The ingest subflow's result.

    Attributes:
        summary: What the ingest step wrote (counts).
        key: The ingest cache key (a fingerprint of the corpus and settings).
        reused: Whether the cache served the step.
        new_documents: Documents the store had not seen before.
    """

    summary: IngestSummary
    key: str
    reused: bool
    new_documents: int


@dataclass
class Analysis:
    """The analyse subflow's result: each step's summary, times and reuse.

    A step that did not run (no segments, topics off, no codebook, network
    off) is None.
    """

    segment: SegmentSummary
    timings: dict[str, float] = field(default_factory=dict)
    memory_gb: dict[str, float] = field(default_factory=dict)
    reused: dict[str, bool] = field(default_factory=dict)
    embeddings: EmbedSummary | None = None
    topics: StepOutput | None = None
    classify: StepOutput | None = None
    classify_key: str | None = None
    network: StepOutput | None = None
    compare: StepOutput | None = None

    def for_manifest(self) -> dict[str, Any]:
        """The steps' summaries as the manifest keeps them."""
        steps = {
            "topics": self.topics,
            "classify": self.classify,
            "network": self.network,
            "compare": self.compare,
        }
        return (
            {} if self.embeddings is None else {"embeddings": self.embeddings.as_dict()}
        ) | {
            name: output.for_manifest()
            for name, output in steps.items()
            if output is not None
        }


@flow(name="ingest")
def ingest_flow(config: PipelineConfig, run_id: str, run_dir: str) -> Ingested:
    """Fingerprint and read the corpus; store its documents."""
    key = cache_keys.ingest_key(config, fingerprint_corpus(config.ingest))

    ran = run_step(ingest_task, "ingest", key, config, run_dir, config=config)
    summary: IngestSummary = ran.output.summary
    new_documents = 0
    if summary.n_documents:
        store = ResultsStore(
            config.store.database, lock_timeout=config.store.lock_timeout_seconds
        )
        new_documents = store.save_documents(
            RunFolder(run_dir).documents(), run_id=run_id
        )
    return Ingested(summary, key, ran.reused, new_documents)


def _segment(
    config: PipelineConfig, run_dir: str, store: ResultsStore
) -> SegmentSummary:
    """Segment the documents not in the store, in batches mapped over the runner."""
    run = RunFolder(run_dir)
    plan = plan_segmentation(config, run, store)
    documents_path = str(run.file(run_files.DOCUMENTS))
    futures = segment_batch_task.map(
        config=unmapped(config),
        cache_key=plan.keys,
        documents_path=unmapped(documents_path),
        rows=plan.batches,
        step_dir=[str(folder) for folder in plan.folders],
    )
    new_tables = []
    for number, future in enumerate(futures):
        folder = fresh_folder(
            future.result(),
            segment_batch_task,
            config=config,
            cache_key=plan.keys[number],
            documents_path=documents_path,
            rows=plan.batches[number],
            step_dir=str(plan.folders[number]),
        )
        new_tables.append(RunFolder(folder).segments())
        report_progress("segment", number + 1, len(futures))
    return finish_segmentation(config, plan, new_tables, run, store)


def _embed(config: PipelineConfig, run_dir: str, store: ResultsStore) -> EmbedSummary:
    """Embed the texts not in the embedding cache, in batches mapped over the runner."""
    run = RunFolder(run_dir)
    step = plan_embedding(config, run, store)
    futures = embed_batch_task.map(
        config=unmapped(config),
        cache_key=step.keys,
        texts=[step.texts(number) for number in range(len(step.batches))],
        step_dir=[str(folder) for folder in step.folders],
    )
    new = {}
    for number, (batch, future) in enumerate(zip(step.batches, futures, strict=True)):
        folder = fresh_folder(
            future.result(),
            embed_batch_task,
            config=config,
            cache_key=step.keys[number],
            texts=step.texts(number),
            step_dir=str(step.folders[number]),
        )
        vectors = read_batch(folder)
        store.put_embeddings(step.plan.model_id, batch, vectors)
        new.update(zip(batch, vectors, strict=True))
        report_progress("embed", number + 1, len(futures))
    return finish_embedding(step, new, run)


@flow(name="analyse")
def analyse_flow(inputs: RunInputs, ingest_key: str, run_dir: str) -> Analysis:
    """Segment, embed, find topics, code the run's documents and compare the codes.

    Topics run beside the rest (on a worker, or in a second process for a
    large corpus: :func:`~flows.step_runs.side_runner`) and are collected last.
    """
    config = inputs.config
    store = ResultsStore(
        config.store.database, lock_timeout=config.store.lock_timeout_seconds
    )
    timings: dict[str, float] = {}
    memory: dict[str, float] = {}
    with measured("segment", timings, memory):
        segmented = _segment(config, run_dir, store)
    out = Analysis(segmented, timings=timings, memory_gb=memory)
    if not segmented.n_segments:
        return out
    with measured("embed", timings, memory):
        out.embeddings = embedded = _embed(config, run_dir, store)
    corpus = cache_keys.segments_key(config, ingest_key, embedded.texts_key)
    topics_key = None
    if config.topics.enabled:
        texts = RunFolder(run_dir).segments().column("text").to_pylist()
        saved = saved_model_to_apply(config, texts)
        del texts
        topics_key = cache_keys.topics_key(
            config,
            corpus,
            embedded.model_id,
            None if saved is None else saved.folder,
            codebook_hash=inputs.hashes.codebook,
        )
    with (
        side_runner(config, segmented.n_segments, "topics", topics_key) as side,
        contextlib.ExitStack() as topics_clock,
    ):
        topics_done = None
        if topics_key is not None and side is False:
            with measured("topics", timings, memory):
                ran = run_step(
                    topics_task, "topics", topics_key, config, run_dir,
                    inputs=inputs, run_dir=run_dir,
                )  # fmt: skip
            out.topics, out.reused["topics"] = ran.output, ran.reused
        elif topics_key is not None:
            # beside coding: measured from here until collected below
            topics_clock.enter_context(measured("topics", timings, memory))
            topics_done = start_step(
                side, topics_task, "topics", topics_key, config, run_dir,
                inputs=inputs, run_dir=run_dir,
            )  # fmt: skip
        _code(inputs, out, corpus, embedded.model_id, run_dir)
        if topics_done is not None:
            with topics_clock:
                ran = topics_done()
            out.topics, out.reused["topics"] = ran.output, ran.reused
            if ran.output is not None and not ran.reused:
                # the step's own seconds, not the wait until it was collected
                timings["topics"] = round(ran.output.seconds, 3)
    return out


def _code(
    inputs: RunInputs, out: Analysis, corpus: str, model_id: str, run_dir: str
) -> None:
    """Classify, find the network and compare the codes, into ``out``."""
    config = inputs.config
    timings, memory = out.timings, out.memory_gb
    if inputs.codebook is not None or config.classify.model is not None:
        out.classify_key = cache_keys.classify_key(
            config,
            corpus,
            model_id,
            codebook_hash=inputs.hashes.codebook,
            model_hash=inputs.hashes.model,
        )
        with measured("classify", timings, memory):
            ran = run_step(
                classify_task,
                "classify",
                out.classify_key,
                config,
                run_dir,
                inputs=inputs,
                run_dir=run_dir,
            )
        out.classify, out.reused["classify"] = ran.output, ran.reused
    if config.network.enabled:
        with measured("network", timings, memory):
            ran = run_step(
                network_task,
                "network",
                cache_keys.network_key(config, corpus),
                config,
                run_dir,
                config=config,
                run_dir=run_dir,
            )
        out.network, out.reused["network"] = ran.output, ran.reused
    if out.classify is not None and config.compare.codes is not None:
        with measured("compare", timings, memory):
            compared = compare_flow(inputs, out.classify_key, run_dir)
        out.compare, out.reused["compare"] = compared.output, compared.reused


@flow(name="compare")
def compare_flow(inputs: RunInputs, classify_key: str, run_dir: str) -> StepRun:
    """Compare the run's auto-codes with human codes."""
    key = cache_keys.compare_key(
        inputs.config,
        classify_key,
        codes_hash=inputs.hashes.codes,
        codebook_hash=inputs.hashes.codebook,
    )
    return run_step(
        compare_task,
        "compare",
        key,
        inputs.config,
        run_dir,
        inputs=inputs,
        run_dir=run_dir,
    )


@flow(name="report")
def report_flow(inputs: RunInputs, run_dir: str) -> dict[str, Any]:
    """Write what researchers open: report, workbook, REFI-QDA project."""
    return report_task(inputs=inputs, run_dir=run_dir)


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
    # the codebook is read and the inputs hashed once; every step gets them
    inputs = resolve_run_inputs(config)
    # recorded once the run completes: an unchanged rerun into the same folder
    # then stops before Prefect starts (pipeline.store.freshness)
    fingerprint = run_fingerprint(config)
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
        folder.file(run_files.RUN_INPUTS).unlink(missing_ok=True)
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
            summary = _run_steps(
                inputs, run_id, folder, store, started_at, started, timings, memory
            )
            if summary["status"] == "completed":
                record_run_inputs(folder.path, fingerprint=fingerprint, run_id=run_id)
            return summary
        except BaseException as error:
            failure = {
                "step": getattr(error, "failed_step", None) or "run",
                "reason": describe_error(error),
            }
            timings["total"] = time.perf_counter() - started
            written = (
                folder.manifest() if folder.file(run_files.MANIFEST).is_file() else {}
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
                run_files.MANIFEST,
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
    inputs: RunInputs,
    run_id: str,
    folder: RunFolder,
    store: ResultsStore,
    started_at: str,
    started: float,
    timings: dict[str, float],
    memory: dict[str, float],
) -> dict[str, Any]:
    """The steps of :func:`theme_pipeline`, in the order the data takes."""
    config = inputs.config
    out_dir = folder.path
    corpus = str(config.ingest.corpus)
    with measured("ingest", timings, memory):
        ingested = ingest_flow(config, run_id, str(out_dir))
    reused = {"ingest": ingested.reused}
    counts = {
        "documents": ingested.summary.n_documents,
        "quarantined": ingested.summary.n_quarantined,
        "speakers": ingested.summary.n_speakers,
        "new_documents": ingested.new_documents,
        "segments": 0,
    }
    extra: dict[str, Any] = {}
    status = "nothing ingested"
    if ingested.summary.n_documents:
        analysed = analyse_flow.with_options(task_runner=task_runner_for(config))(
            inputs, ingested.key, str(out_dir)
        )
        timings.update(analysed.timings)
        memory.update(analysed.memory_gb)
        reused.update(analysed.reused)
        counts.update(
            segments=analysed.segment.n_segments,
            new_segments=analysed.segment.new_segments,
            documents_segmented=analysed.segment.documents_segmented,
        )
        extra.update(analysed.for_manifest())
        if analysed.embeddings is not None:
            counts.update(
                embedded=analysed.embeddings.n_embedded,
                embeddings_cached=analysed.embeddings.n_cached,
            )
        if analysed.topics is not None:
            counts["topics"] = analysed.topics.summary.n_topics
        if analysed.network is not None:
            counts["knowledge_sources"] = analysed.network.summary.n_sources
        if analysed.classify is not None:
            counts["coded_segments"] = (
                counts["segments"] - analysed.classify.summary.segments_without_code
            )
        status = "completed"
    ingest_report = folder.read_json(run_files.INGEST)

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
        folder.write_json(run_files.MANIFEST, written)
        return written

    if status == "completed":
        # the report shows the manifest; should it fail, the manifest says so
        write_manifest(status)
        with measured("report", timings, memory):
            reported = report_flow(inputs, str(out_dir))
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
