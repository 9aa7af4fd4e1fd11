"""Which run folder a command works on, and the config it ran with."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.config.run import PipelineConfig
from pipeline.errors import RunNotFoundError


def newest_run(settings: PipelineConfig) -> Path:
    """The newest completed run's folder, from the results store.

    Raises:
        RunNotFoundError: The store has no completed run.
    """
    # heavy: pulls in pyarrow; kept out of start-up
    from pipeline.store.database import ResultsStore

    store = ResultsStore(settings.store.database)
    for run in store.list_runs():
        if run.get("status") == "completed" and run.get("out_dir"):
            return Path(run["out_dir"])
    raise RunNotFoundError(f"no completed run in {settings.store.database}; pass --run")


def run_config(folder: Path, settings: PipelineConfig) -> PipelineConfig:
    """The run's own config, with the codebook and codes given on the command line."""
    manifest = Path(folder) / "manifest.json"
    if not manifest.is_file():
        return settings
    stored = PipelineConfig.model_validate(json.loads(manifest.read_text())["config"])
    classify = stored.classify.model_copy(
        update={"codebook": settings.classify.codebook or stored.classify.codebook}
    )
    return stored.model_copy(update={"classify": classify, "compare": settings.compare})
