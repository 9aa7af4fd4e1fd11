"""The compare step: agreement of the auto-codes with the human codes."""

from __future__ import annotations

from typing import Any

from pipeline.agreement.compare import compare_run
from pipeline.config import PipelineConfig
from pipeline.store.database import RunFolder


def run_compare_step(
    config: PipelineConfig, run: RunFolder, out: RunFolder
) -> dict[str, Any]:
    """Compare the run's auto-codes with ``compare.codes``; write the tables in ``out``.

    Returns:
        The comparison's summary: coders, coverage, counts, pooled agreement.
    """
    return compare_run(run.path, config, out_dir=out.path)
