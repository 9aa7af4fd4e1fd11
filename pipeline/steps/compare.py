"""The compare step: agreement of the auto-codes with the human codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.agreement.run_comparison import compare_run
from pipeline.steps.inputs import RunInputs
from pipeline.steps.summary import StepSummary
from pipeline.store.run_folder import RunFolder


@dataclass(frozen=True, kw_only=True)
class CompareSummary(StepSummary):
    """What the compare step found (for the manifest and the console).

    Attributes:
        coders: The coders compared (human coders and the auto-coder).
        coverage: The share of the human codes' text the segments cover.
        n_assignments: Human code assignments used.
        n_unused: Rows of the codes file not used (``codes_import.json``
            says why).
        n_disagreements: Rows of ``disagreements.csv``.
        disagreements_by_kind: Those rows per kind.
        code_matches: How the codes file's codes were matched to the codebook.
        skipped_auto_coders: Auto-coders found in a REFI-QDA project and left
            out, with their number of codings.
        notes: What a researcher should know.
        pooled: Pooled agreement per unit and pair of coders.
    """

    coders: list[str]
    coverage: float
    n_assignments: int
    n_unused: int
    n_disagreements: int
    disagreements_by_kind: dict[str, int]
    code_matches: dict[str, Any]
    skipped_auto_coders: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    pooled: list[dict[str, Any]] = field(default_factory=list)


def run_compare_step(
    inputs: RunInputs, run: RunFolder, out: RunFolder
) -> CompareSummary:
    """Compare the run's auto-codes with its human codes; write the tables in ``out``.

    The human codes are read here, once per run, against the run's documents;
    ``human_codes.parquet`` keeps them for the export step.

    Returns:
        The comparison's summary: coders, coverage, counts, pooled agreement.
    """
    return CompareSummary(
        **compare_run(
            run.path,
            inputs.config,
            codebook=inputs.codebook,
            codebook_path=inputs.codebook_path,
            codes_path=inputs.codes_path,
            out_dir=out.path,
        )
    )
