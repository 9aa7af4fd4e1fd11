"""The export step: what researchers open (report, workbook, REFI-QDA project)."""

from __future__ import annotations

from pathlib import Path

from pipeline.io.codes.records import assignments_from_table
from pipeline.outputs.export import export_run
from pipeline.steps.inputs import RunInputs
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder


def run_export_step(inputs: RunInputs, run: RunFolder) -> dict[str, Path]:
    """Write report.html, results.xlsx, the prevalence table and auto_codes.qdpx.

    The human codes are those the compare step read (``human_codes.parquet``),
    not the codes file read again.

    Returns:
        Output name to path.
    """
    human_codes = (
        assignments_from_table(run.read_parquet(run_files.HUMAN_CODES))
        if inputs.codes_path is not None  # a reused --out may hold an older run's
        else ()
    )
    return export_run(
        run.path,
        codebook=inputs.codebook,
        human_codes=human_codes,
        csv_encoding=inputs.config.store.csv_encoding,
    )
