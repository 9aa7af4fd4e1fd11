"""Agreement between coders (human or automatic), per code and pooled, at several units.

Each CAQDAS tool reports agreement one way (NVivo: Cohen's kappa per code over
characters; MAXQDA: Brennan-Prediger kappa at the document, segment and
overlap levels; ATLAS.ti: Krippendorff's alpha), and kappa misleads when a
code is rare. This module reports them side by side, for each unit:

- ``characters``: every character of the documents is a unit (as NVivo counts);
- ``segments``: the run's segments;
- ``turns``: participant turns (a turn has a code when any of its segments has);
- ``documents``: presence of the code in a document (MAXQDA's first level).

Coefficients for two coders on one binary code: percent agreement, Cohen's
kappa, Krippendorff's alpha (nominal; the ``krippendorff`` package), Gwet's
AC1, Brennan-Prediger kappa, prevalence, and precision, recall and F1 with the
first coder (the human) as reference. 95% confidence intervals come from a
seeded bootstrap over documents (units of one document stay together).

A coefficient that cannot be computed (a code nobody used: kappa is 0/0) is
left empty and the ``flag`` column says why; nothing prints as an unexplained
NaN. Flags also mark unstable figures: a code present in under 5% of units,
or high agreement with low kappa (the kappa paradox of rare codes).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import krippendorff
import numpy as np
import pandas as pd

from pipeline.agreement.bootstrap import bootstrap_chunks, replicated_counts

UNITS = ("characters", "segments", "turns", "documents")
AGREEMENT_COLUMNS = [
    "code", "unit", "coder_a", "coder_b", "n_units", "prevalence",
    "prevalence_a", "prevalence_b", "percent_agreement", "kappa", "kappa_low",
    "kappa_high", "alpha", "alpha_low", "alpha_high", "ac1", "ac1_low", "ac1_high",
    "bp_kappa", "precision", "recall", "f1", "flag",
]  # fmt: skip
POOLED = "(all codes)"


@dataclass(frozen=True, slots=True)
class Counts:
    """A 2x2 table of two coders' binary decisions.

    Attributes:
        both: Units both coders gave the code.
        a_only: Units only coder A gave it.
        b_only: Units only coder B gave it.
        neither: Units neither gave it.
    """

    both: float
    a_only: float
    b_only: float
    neither: float

    @property
    def n(self) -> float:
        """Number of units: the sum of the four cells."""
        return self.both + self.a_only + self.b_only + self.neither


def counts_of(a: np.ndarray, b: np.ndarray) -> Counts:
    """Count the 2x2 table of two boolean vectors."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    return Counts(
        float((a & b).sum()),
        float((a & ~b).sum()),
        float((~a & b).sum()),
        float((~a & ~b).sum()),
    )


def _safe_divide(numerator, denominator):
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator > 0,
            numerator / np.where(denominator > 0, denominator, 1),
            np.nan,
        )


def coefficients(both, a_only, b_only, neither) -> dict[str, np.ndarray]:
    """All coefficients from 2x2 counts (arrays allowed: one value per replicate).

    Returns:
        ``percent_agreement``, ``kappa``, ``alpha``, ``ac1``, ``bp_kappa``,
        ``prevalence`` (the coders' mean), ``prevalence_a`` and ``prevalence_b``
        (each coder's share of units with the code), ``precision``,
        ``recall``, ``f1``; NaN where undefined.
    """
    both, a_only, b_only, neither = (
        np.asarray(x, dtype=float) for x in (both, a_only, b_only, neither)
    )
    n = both + a_only + b_only + neither
    observed = _safe_divide(both + neither, n)
    a_yes = _safe_divide(both + a_only, n)
    b_yes = _safe_divide(both + b_only, n)
    expected = a_yes * b_yes + (1 - a_yes) * (1 - b_yes)
    kappa = _safe_divide(observed - expected, 1 - expected)
    mean_yes = (a_yes + b_yes) / 2
    expected_ac1 = 2 * mean_yes * (1 - mean_yes)
    ac1 = _safe_divide(observed - expected_ac1, 1 - expected_ac1)
    # Krippendorff's nominal alpha for two coders and no missing values, from
    # the coincidence matrix: alpha = 1 - (m - 1) * disagreements / (m1 * m0),
    # with m = 2n pairable values, m1 and m0 the values 1 and 0.
    values = 2 * n
    ones = 2 * both + a_only + b_only
    zeros = 2 * neither + a_only + b_only
    alpha = 1 - _safe_divide((values - 1) * (a_only + b_only), ones * zeros)
    precision = _safe_divide(both, both + b_only)
    recall = _safe_divide(both, both + a_only)
    f1 = _safe_divide(2 * both, 2 * both + a_only + b_only)
    return {
        "percent_agreement": observed,
        "kappa": kappa,
        "alpha": alpha,
        "ac1": ac1,
        "bp_kappa": 2 * observed - 1,
        "prevalence": mean_yes,
        "prevalence_a": a_yes,
        "prevalence_b": b_yes,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def krippendorff_alpha(reliability: np.ndarray) -> float:
    """Krippendorff's alpha (nominal) for any number of coders, missing values as NaN.

    Args:
        reliability: ``(n_coders, n_units)`` values, NaN where a coder did not code.

    Returns:
        Alpha, or NaN when it is undefined (fewer than two values per unit, or
        a single value used throughout).
    """
    data = np.asarray(reliability, dtype=float)
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    values = np.unique(data[:, pairable][~np.isnan(data[:, pairable])])
    if pairable.sum() == 0 or len(values) < 2:
        return float("nan")
    return float(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    )


def flags_for(
    values: dict[str, float], *, rare: float = 0.05, lopsided: float = 3.0
) -> str:
    """Plain-language warnings about a row of coefficients.

    Args:
        values: The row's coefficients (see :func:`coefficients`).
        rare: Below this mean prevalence kappa is unstable.
        lopsided: When one coder uses the code this many times as often as
            the other (or one never does), the coefficients are misleading:
            AC1 and percent agreement look high because both mostly say no.
    """
    notes = []
    prevalence = values["prevalence"]
    a_share = values.get("prevalence_a", prevalence)
    b_share = values.get("prevalence_b", prevalence)
    low, high = sorted((a_share, b_share))
    mismatch = high > 0 and (low == 0 or high / low >= lopsided)
    if np.isnan(values["kappa"]):
        if prevalence == 0:
            notes.append("code never used by either coder: kappa and alpha undefined")
        elif prevalence == 1:
            notes.append(
                "code used on every unit by both coders: kappa and alpha undefined"
            )
        else:
            notes.append("kappa undefined")
    if mismatch:
        fewer = "A" if a_share < b_share else "B"
        notes.append(
            f"coder {fewer} gave the code to {low:.1%} of units, the other to "
            f"{high:.1%}: agreement here mostly means both left it out, so kappa, "
            "AC1 and percent agreement say little about this code"
        )
    elif not np.isnan(values["kappa"]) and prevalence < rare:
        notes.append(
            f"rare code (prevalence {prevalence:.1%} < {rare:.0%}): kappa unstable, "
            "read its interval, and AC1 beside it"
        )
    if (
        not mismatch
        and not np.isnan(values["kappa"])
        and values["percent_agreement"] >= 0.9
        and values["kappa"] < 0.4
    ):
        notes.append("high agreement with low kappa (prevalence paradox)")
    return "; ".join(notes)


@dataclass
class UnitData:
    """Two or more coders' binary codes on one kind of unit.

    Attributes:
        unit: ``characters``, ``segments``, ``turns`` or ``documents``.
        codes: Code ids (matrix columns).
        documents: Per unit, its document (bootstrap groups).
        labels: Coder to ``(n_units, n_codes)`` booleans.
        coded: Coder to ``(n_units,)`` booleans: whether the coder coded the
            unit's document (units outside are missing, not "no").
        weights: Per unit, how many units it stands for (character runs).
    """

    unit: str
    codes: list[str]
    documents: np.ndarray
    labels: dict[str, np.ndarray]
    coded: dict[str, np.ndarray]
    weights: np.ndarray | None = None


def compare_pair(
    data: UnitData,
    coder_a: str,
    coder_b: str,
    *,
    n_boot: int = 1000,
    random_state: int = 0,
) -> list[dict]:
    """Agreement of two coders on every code and pooled over codes.

    Units count only where both coders coded the document. Confidence
    intervals resample documents with replacement (``n_boot`` times).

    Returns:
        One row per code and one pooled row, with the columns of
        :data:`AGREEMENT_COLUMNS`.
    """
    mask = data.coded[coder_a] & data.coded[coder_b]
    weights = data.weights if data.weights is not None else np.ones(len(data.documents))
    weights = weights * mask
    a, b = data.labels[coder_a], data.labels[coder_b]
    documents, inverse = np.unique(data.documents, return_inverse=True)
    # every code's tables and the pooled one filled in place: a list of them
    # stacked into one matrix held both (two copies of 100 MB at 100,000
    # documents and 32 codes)
    tables = np.zeros((len(data.codes) + 1, 4, len(documents)))
    pooled = tables[-1]
    for j in range(len(data.codes)):
        per_document = tables[j]
        for k, cell in enumerate(
            (
                a[:, j] & b[:, j],
                a[:, j] & ~b[:, j],
                ~a[:, j] & b[:, j],
                ~a[:, j] & ~b[:, j],
            )
        ):
            per_document[k] = np.bincount(
                inverse, weights=weights * cell, minlength=len(documents)
            )
        pooled += per_document
    # every code's replicates in one product: the replicate table is converted
    # and read once per pair of coders, not once per code (the counts are
    # whole numbers, so the sums are exact in any order)
    replicated = (
        replicated_counts(
            bootstrap_chunks(len(documents), n_boot, random_state),
            tables.reshape(-1, len(documents)),
        ).reshape(-1, len(tables), 4)
        if len(documents)
        else None
    )
    return [
        _row(
            code,
            data.unit,
            coder_a,
            coder_b,
            per_document,
            None if replicated is None else replicated[:, j],
        )
        for j, (code, per_document) in enumerate(
            zip([*data.codes, POOLED], tables, strict=True)
        )
    ]


def _row(code, unit, coder_a, coder_b, per_document, replicated) -> dict:
    """One row of the agreement table.

    ``replicated``: ``(n_boot, 4)`` the 2x2 counts in each bootstrap
    replicate, or None without documents.
    """
    totals = per_document.sum(axis=1)
    point = {k: float(v) for k, v in coefficients(*totals).items()}
    boot = coefficients(*replicated.T) if replicated is not None else None
    row = {
        "code": code,
        "unit": unit,
        "coder_a": coder_a,
        "coder_b": coder_b,
        "n_units": int(round(totals.sum())),
        **{
            k: point[k]
            for k in (
                "prevalence",
                "prevalence_a",
                "prevalence_b",
                "percent_agreement",
                "kappa",
                "alpha",
                "ac1",
                "bp_kappa",
                "precision",
                "recall",
                "f1",
            )
        },
    }
    for name in ("kappa", "alpha", "ac1"):
        low = high = float("nan")
        if boot is not None and not np.isnan(point[name]):
            values = boot[name][~np.isnan(boot[name])]
            if len(values):
                low, high = (float(v) for v in np.percentile(values, [2.5, 97.5]))
        row[f"{name}_low"], row[f"{name}_high"] = low, high
    row["flag"] = flags_for(point)
    return row


def human_alpha(data: UnitData, coders: Sequence[str]) -> list[dict]:
    """Krippendorff's alpha of all human coders together, per code.

    Missing data is allowed.
    """
    rows = []
    for j, code in enumerate(data.codes):
        reliability = np.stack(
            [
                np.where(data.coded[c], data.labels[c][:, j].astype(float), np.nan)
                for c in coders
            ]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rows.append(
                {
                    "code": code,
                    "unit": data.unit,
                    "coders": ", ".join(coders),
                    "alpha": krippendorff_alpha(reliability),
                }
            )
    return rows


def agreement_table(rows: list[dict]) -> pd.DataFrame:
    """Rows as a DataFrame with the documented columns, rounded."""
    frame = pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
    numeric = [
        c
        for c in AGREEMENT_COLUMNS
        if c not in ("code", "unit", "coder_a", "coder_b", "flag", "n_units")
    ]
    frame[numeric] = frame[numeric].astype(float).round(4)
    return frame
