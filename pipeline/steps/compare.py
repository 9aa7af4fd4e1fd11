"""The compare step: agreement of the auto-codes with the human codes."""

from __future__ import annotations

from typing import Any

from pipeline.agreement.run_comparison import compare_run
from pipeline.steps.inputs import RunInputs
from pipeline.store.run_folder import RunFolder


def run_compare_step(
    inputs: RunInputs, run: RunFolder, out: RunFolder
) -> dict[str, Any]:
    """Compare the run's auto-codes with its human codes; write the tables in ``out``.

    The human codes are read here, once per run, against the run's documents;
    ``human_codes.parquet`` keeps them for the export step.

    Returns:
        The comparison's summary: coders, coverage, counts, pooled agreement.
    """
    return compare_run(
        run.path,
        inputs.config,
        codebook=inputs.codebook,
        codebook_path=inputs.codebook_path,
        codes_path=inputs.codes_path,
        out_dir=out.path,
    )
