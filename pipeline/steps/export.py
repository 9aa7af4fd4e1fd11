"""The export step: what researchers open (report, workbook, REFI-QDA project)."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import PipelineConfig
from pipeline.outputs.export import export_run, load_codebook_and_codes
from pipeline.store.database import RunFolder


def run_export_step(config: PipelineConfig, run: RunFolder) -> dict[str, Path]:
    """Write report.html, results.xlsx, the prevalence table and auto_codes.qdpx.

    Returns:
        Output name to path.
    """
    codebook, imported = load_codebook_and_codes(run.path, config)
    return export_run(
        run.path,
        codebook=codebook,
        imported=imported,
        csv_encoding=config.store.csv_encoding,
    )
