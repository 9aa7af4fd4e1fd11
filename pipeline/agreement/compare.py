"""Auto-codes beside human codes: agreement at every unit, and the tables to read.

:func:`compare_codes` builds the four units of :mod:`pipeline.agreement.metrics`
(see :mod:`pipeline.agreement.units`) from a run's segments and the imported
human codes, compares the auto-coder with each human coder and each pair of
human coders (the human-vs-human ceiling), and lists the disagreements to
review (:mod:`pipeline.agreement.disagreements`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.agreement.disagreements import disagreement_table
from pipeline.agreement.metrics import (
    UnitData,
    agreement_table,
    compare_pair,
    human_alpha,
)
from pipeline.agreement.units import (
    AUTO,
    character_units,
    document_units,
    segment_units,
    turn_units,
)
from pipeline.coding.auto_code_tables import segment_code_columns
from pipeline.coding.codebook_records import Codebook
from pipeline.io.codes.align import AlignedCodes
from pipeline.io.codes.records import CodesImport

POOLED_SUMMARY = [
    "unit", "coder_a", "coder_b", "n_units", "prevalence_a", "prevalence_b",
    "kappa", "alpha", "ac1", "f1", "flag",
]  # fmt: skip
"""The pooled rows' columns the run's summary (and the console) carry."""


@dataclass
class Comparison:
    """Everything ``compare`` writes.

    Attributes:
        agreement: The agreement table (``agreement.csv``).
        human_alpha: Krippendorff's alpha of all human coders, per code and unit.
        codes_compared: Per segment and code: each coder, the auto score and decision.
        disagreements: Segments where auto and humans differ, in review order.
        coverage: Share of human span codes that landed on a segment.
        coders: Human coders.
    """

    agreement: pd.DataFrame
    human_alpha: pd.DataFrame
    codes_compared: pd.DataFrame
    disagreements: pd.DataFrame
    coverage: float
    coders: list[str]


def compare_codes(
    *,
    segments: pa.Table,
    texts: dict[str, str],
    imported: CodesImport,
    aligned: AlignedCodes,
    auto_scores: np.ndarray,
    auto_decisions: np.ndarray,
    thresholds: np.ndarray,
    embeddings: np.ndarray,
    codebook: Codebook,
    auto_name: str = AUTO,
    units: Sequence[str] = ("characters", "segments", "turns", "documents"),
    n_boot: int = 1000,
    random_state: int = 0,
    review_per_code: int = 500,
) -> Comparison:
    """Compare auto-codes with human codes at every unit; list disagreements.

    Args:
        segments: The run's segments.
        texts: Document id to normalised text.
        imported: The human codes as read.
        aligned: The human codes on segments (columns: ``aligned.codes``).
        auto_scores: ``(n_segments, n_codes)`` auto scores, same columns.
        auto_decisions: ``(n_segments, n_codes)`` auto decisions, same columns.
        thresholds: Per code, the auto-coder's threshold.
        embeddings: Segment embeddings (for the nearest human-coded examples).
        codebook: The codebook (the names shown beside code ids).
        auto_name: The auto-coder's name in the tables.
        units: Units to compare at.
        n_boot: Bootstrap replicates for confidence intervals.
        review_per_code: At most this many disagreements per code to review
            (the first in review order; 0: all).
        random_state: Seed of the bootstrap.

    Returns:
        The comparison tables.
    """
    coders = list(aligned.coders)
    codes = list(aligned.codes)
    data = {"segments": segment_units(aligned, segments, auto_decisions)}
    if "turns" in units:
        data["turns"] = turn_units(data["segments"], segments)
    if "documents" in units:
        data["documents"] = document_units(
            imported, codes, segments, auto_decisions, coders
        )
    if "characters" in units:
        data["characters"] = character_units(
            imported, codes, segments, auto_decisions, texts, coders, aligned.documents
        )
    # the review first: the embeddings are needed for it only, and a caller
    # that hands them over (as compare_run does) has them freed here before
    # the bootstrap (150 MB at 100,000 segments)
    review = disagreement_table(
        segments,
        aligned,
        auto_scores,
        auto_decisions,
        thresholds,
        embeddings,
        data["segments"],
        per_code=review_per_code,
    )
    del embeddings
    rows, alpha_rows = [], []
    for unit in units:
        unit_data = data[unit]
        for coder in coders:
            for row in compare_pair(
                unit_data, coder, AUTO, n_boot=n_boot, random_state=random_state
            ):
                rows.append(row | {"coder_b": auto_name})
        for first, second in itertools.combinations(coders, 2):
            rows.extend(
                compare_pair(
                    unit_data, first, second, n_boot=n_boot, random_state=random_state
                )
            )
        if len(coders) >= 2:
            alpha_rows.extend(human_alpha(unit_data, coders))
    compared = codes_compared_table(
        segments, aligned, auto_scores, auto_decisions, data["segments"]
    )
    names = codebook.display_names()
    return Comparison(
        agreement=with_code_names(agreement_table(rows), names),
        human_alpha=with_code_names(
            pd.DataFrame(alpha_rows, columns=["code", "unit", "coders", "alpha"]),
            names,
        ),
        codes_compared=with_code_names(compared, names),
        disagreements=with_code_names(review, names),
        coverage=aligned.coverage,
        coders=coders,
    )


def with_code_names(table: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """The table with a ``code_name`` column (what people read) after ``code``.

    ``code`` keeps the code's id, stable for joining tables; a code the
    codebook does not have (and the pooled row, ``(all codes)``) is its own
    name. A new table is returned; a column ``code_name`` already there is
    replaced.

    Args:
        table: A table with a ``code`` column.
        names: Code id to the name to show.

    Returns:
        The table with ``code_name``, as a categorical column (one string per
        code, however many rows).
    """
    table = table.drop(columns="code_name", errors="ignore")
    if "code" not in table:
        return table
    # each distinct code named once, not every row (3,200,000 rows at 100,000
    # segments and 32 codes); the categories sorted as astype("category") sorts
    rows, codes = pd.factorize(table["code"].astype(str))
    labels = [_name(names, code) for code in codes]
    categories = pd.Index(sorted(set(labels)), dtype=codes.dtype)
    position = {label: n for n, label in enumerate(categories)}
    to_category = np.array([position[label] for label in labels] + [-1])
    named = table.copy(deep=False)  # the input keeps its columns
    named.insert(
        table.columns.get_loc("code") + 1,
        "code_name",
        pd.Categorical.from_codes(to_category[rows], categories=categories),
    )
    return named


def _name(names: Mapping[str, str], code: str) -> str:
    """The code's name, or its id when the codebook has none."""
    name = names.get(code)
    return code if name is None or pd.isna(name) else name


def codes_compared_table(
    segments, aligned, scores, decisions, data: UnitData
) -> pd.DataFrame:
    """Per segment and code: each coder, the auto score and decision, agreement.

    A human coder's cell is blank where they did not code the document.
    """
    n, k = scores.shape
    frame = pd.DataFrame(segment_code_columns(segments, aligned.codes))
    human_any = np.zeros(n * k, dtype=bool)
    any_coded = np.zeros(n * k, dtype=bool)
    for coder in aligned.coders:
        coded = np.repeat(data.coded[coder], k)
        values = aligned.labels[coder].reshape(-1)
        frame[coder] = pd.array(np.where(coded, values, False), dtype="boolean")
        frame.loc[~coded, coder] = pd.NA
        human_any |= values & coded
        any_coded |= coded
    frame["auto_score"] = np.round(scores.reshape(-1), 4)
    frame["auto_assigned"] = decisions.reshape(-1).astype(bool)
    frame["human_any"] = pd.array(
        np.where(any_coded, human_any, False), dtype="boolean"
    )
    frame.loc[~any_coded, "human_any"] = pd.NA
    agree = frame["auto_assigned"] == frame["human_any"]
    frame["agree"] = agree.astype("boolean")
    return frame
