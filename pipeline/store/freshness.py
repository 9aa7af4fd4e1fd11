"""Whether a run folder already holds the results of a run's inputs.

A researcher reruns ``themes run --out runs/study`` to pick up new interviews;
when nothing has changed, the run would reuse every step and write the same
files again, after paying Prefect's start-up. So a completed run records the
fingerprint of its inputs (:func:`run_fingerprint`) and the size and
modification time of every file it wrote (:func:`record_run_inputs`, in
``.run_inputs.json``). ``themes run`` checks the folder first
(:func:`up_to_date_run`) and stops there, before Prefect starts, when both
still match.

The fingerprint holds everything a run's results depend on: the whole
resolved config, the corpus (file names and bytes, the metadata table), the
codebook (the config's, or the one the trained model's card names), the
trained model's files, the human codes, the network step's gazetteer and
corrections, this project's code and the versions of the libraries that make
results (``tests/store/test_freshness.py`` checks that every file the config
can name is in it). Anything else a run reads (the store, the caches) only
makes it faster.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pipeline.agreement.run_inputs import run_codebook_path
from pipeline.config.base import hash_json
from pipeline.config.run import PipelineConfig
from pipeline.io.corpus_files import fingerprint_corpus
from pipeline.store import run_files
from pipeline.store.cache_keys import code_version, file_hash
from pipeline.store.manifest import package_versions

logger = logging.getLogger(__name__)

FINGERPRINTED_PATHS = (
    "ingest.corpus",
    "classify.codebook",
    "classify.model",
    "compare.codes",
    "network.gazetteer",
    "network.corrections",
)
"""The config's fields that name input files, all part of the fingerprint."""

NOT_INPUTS = (
    "store.database",
    "store.runs_dir",
    "embed.onnx_cache_dir",
    "topics.model_dir",
)
"""The config's fields that name caches or output places, not inputs."""


def run_fingerprint(config: PipelineConfig) -> str:
    """A content hash of everything a run's results depend on.

    Args:
        config: The run's resolved settings (file, overrides and options).

    Returns:
        16 hex digits; equal for two runs exactly when their results would be.

    Raises:
        ConfigError: The corpus is not there.
    """
    return hash_json(
        {
            "config": config.config_hash(),
            "corpus": fingerprint_corpus(config.ingest),
            "codebook": file_hash(run_codebook_path(config)),
            "model": file_hash(config.classify.model),
            "codes": file_hash(config.compare.codes),
            "network": [file_hash(path) for path in config.network.input_files],
            "code": code_version(),
            "versions": package_versions(),
        }
    )


def _file_stats(folder: Path) -> dict[str, list[int]]:
    """Size and modification time (ns) of each visible file of a run folder."""
    return {
        path.name: [path.stat().st_size, path.stat().st_mtime_ns]
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.startswith(".")
    }


def record_run_inputs(folder: str | Path, *, fingerprint: str, run_id: str) -> None:
    """Record a completed run's fingerprint and its files (``.run_inputs.json``).

    Args:
        folder: The run folder, with every output written.
        fingerprint: :func:`run_fingerprint` of the run's inputs, computed at its
            start.
        run_id: The run's id.
    """
    folder = Path(folder)
    record = {
        "fingerprint": fingerprint,
        "run_id": run_id,
        "files": _file_stats(folder),
    }
    (folder / run_files.RUN_INPUTS).write_text(json.dumps(record), encoding="utf-8")


def up_to_date_run(folder: str | Path, fingerprint: str) -> dict[str, Any] | None:
    """The manifest of the completed run in ``folder``, if it is up to date.

    Up to date: the folder's last run completed with the same fingerprint, and
    every file it wrote is there, unchanged (size and modification time).

    Args:
        folder: A run folder (which may not exist).
        fingerprint: :func:`run_fingerprint` of the run about to start.

    Returns:
        The folder's manifest, or None when a run has work to do.
    """
    folder = Path(folder)
    record_file = folder / run_files.RUN_INPUTS
    if not record_file.is_file():
        return None
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
        manifest = json.loads((folder / run_files.MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # unreadable: run again, which rewrites both
    if record.get("fingerprint") != fingerprint:
        return None
    if manifest.get("run_id") != record.get("run_id"):
        return None  # a later run (failed, interrupted) wrote the manifest
    if manifest.get("status") != "completed":
        return None
    current = _file_stats(folder)
    changed = [
        name
        for name, stats in record.get("files", {}).items()
        if current.get(name) != stats
    ]
    if changed:
        logger.info("run folder: %d file(s) changed since the run", len(changed))
        return None
    return manifest
