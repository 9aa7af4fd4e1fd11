"""The ``theme_pipeline`` flow: ingest, segment and store a corpus as one run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow

from flows.tasks import (
    classify_task,
    compare_task,
    embed_task,
    ingest_task,
    segment_task,
    store_task,
    topics_task,
)
from pipeline.config import RunOverrides, load_config
from pipeline.manifest import build_manifest, utc_now
from pipeline.store import ResultsStore, RunFolder, new_run_id


@flow(name="theme_pipeline", log_prints=False)
def theme_pipeline(
    config_path: str | None = None, overrides: RunOverrides | None = None
) -> dict[str, Any]:
    """Run the pipeline on a corpus and write a run folder.

    Args:
        config_path: A YAML config; the defaults when None.
        overrides: Values that replace keys of the config (corpus, output
            folder, columns, unit, ...).

    Returns:
        A summary: run id, output folder, counts, quarantined sources, notes.

    """
    overrides = overrides or RunOverrides()
    config = load_config(config_path, overrides=overrides.as_dotted())
    run_id = new_run_id()
    out_dir = Path(overrides.out) if overrides.out else config.store.runs_dir / run_id
    folder = RunFolder(out_dir)
    store = ResultsStore(
        config.store.database, lock_timeout=config.store.lock_timeout_seconds
    )
    started_at = utc_now()
    started = time.perf_counter()
    corpus = str(config.ingest.corpus)
    with store.lock():
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
        ingested = ingest_task(config, str(out_dir))
        timings = {"ingest": ingested["seconds"]}
        counts = {
            "documents": ingested["n_documents"],
            "quarantined": ingested["n_quarantined"],
            "speakers": ingested["n_speakers"],
            "segments": 0,
        }
        status = "nothing ingested"
        extra: dict[str, Any] = {}
        if ingested["n_documents"]:
            segmented = segment_task(config, str(out_dir))
            stored = store_task(config, run_id, str(out_dir))
            timings.update(segment=segmented["seconds"], store=stored["seconds"])
            counts.update(
                segments=segmented["n_segments"],
                new_documents=stored["new_documents"],
                new_segments=stored["new_segments"],
            )
            if segmented["n_segments"]:
                embedded = embed_task(config, str(out_dir))
                timings["embed"] = embedded.pop("seconds")
                counts.update(
                    embedded=embedded["n_embedded"],
                    embeddings_cached=embedded["n_cached"],
                )
                extra["embeddings"] = embedded
                if config.topics.enabled:
                    topics = topics_task(config, str(out_dir))
                    timings["topics"] = topics.pop("seconds")
                    counts["topics"] = topics["n_topics"]
                    extra["topics"] = topics
                coded = classify_task(config, str(out_dir))
                if coded is not None:
                    timings["classify"] = coded.pop("seconds")
                    counts["coded_segments"] = (
                        counts["segments"] - coded["segments_without_code"]
                    )
                    extra["classify"] = coded
                    if config.compare.codes is not None:
                        compared = compare_task(config, str(out_dir))
                        timings["compare"] = compared.pop("seconds")
                        extra["compare"] = compared
            status = "completed"
        timings["total"] = time.perf_counter() - started
        ingest_report = folder.read_json("ingest.json")
        manifest = build_manifest(
            run_id=run_id,
            config=config,
            corpus=corpus,
            started_at=started_at,
            ingest=ingest_report,
            counts=counts,
            timings=timings,
            extra={"status": status, **extra},
        )
        folder.write_json("manifest.json", manifest)
        store.record_run(
            {
                "run_id": run_id,
                "finished_at": manifest["finished_at"],
                "status": status,
                "n_documents": counts["documents"],
                "n_segments": counts["segments"],
                "n_quarantined": counts["quarantined"],
                "summary": {"counts": counts, "timings": manifest["timings"]},
            }
        )
    return {
        "run_id": run_id,
        "status": status,
        "out_dir": str(out_dir),
        "database": str(config.store.database),
        "counts": counts,
        "timings": manifest["timings"],
        "quarantined": ingest_report["quarantined"],
        "notes": ingest_report["notes"],
        "topics": extra.get("topics"),
        "classify": extra.get("classify"),
        "compare": extra.get("compare"),
    }
