"""Network measures per metadata group, with 95% intervals.

For each grouping column (``network.group_by``, default every metadata
column with 2 to 20 values) and each of its groups: participants, mean
sources per participant, the share of ties that are external, the share of
each kind, participants with at most one external source, and the sources
that bridge groups (named by participants of more than one group of the
column). Means and shares of ties get percentile bootstrap intervals over
participants (ties of one participant are not independent); the share of
participants gets a Wilson interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.network.gazetteer import KINDS
from pipeline.outputs.prevalence import grouping_columns, wilson_interval

ALL_GROUPS = "(all)"

BY_GROUP_COLUMNS: tuple[str, ...] = (
    "column",
    "group",
    "n_participants",
    "n_ties",
    "mean_sources",
    "mean_sources_low",
    "mean_sources_high",
    "share_external",
    "share_external_low",
    "share_external_high",
    *(f"share_{kind}{end}" for kind in KINDS for end in ("", "_low", "_high")),
    "n_max_one_external",
    "share_max_one_external",
    "share_max_one_external_low",
    "share_max_one_external_high",
    "n_bridging_sources",
    "bridging_sources",
)
"""Columns of ``network_by_group.csv`` (``share_codified`` is the share of
ties to written sources)."""


def network_group_columns(
    participants: pd.DataFrame, metadata: Sequence[str], group_by: Sequence[str] | None
) -> list[str]:
    """The metadata columns to break the network down by.

    Args:
        participants: One row per document with its metadata columns.
        metadata: The metadata column names.
        group_by: The configured columns, or None for every column with 2 to
            20 values (and fewer values than documents).

    Returns:
        Column names present in ``participants``.
    """
    if group_by is not None:
        return [c for c in group_by if c in participants.columns]
    return grouping_columns(participants, participants[list(metadata)])


def participant_ties(sources: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    """One row per participant: distinct sources, external ones, and per kind."""
    ties = sources.drop_duplicates(["document_id", "source"])
    counts = pd.DataFrame(
        index=pd.Index(participants["document_id"], name="document_id")
    )
    counts["n_sources"] = ties.groupby("document_id").size()
    external = ties[ties["scope"] == "external"]
    counts["n_external"] = external.groupby("document_id").size()
    for kind in KINDS:
        counts[f"n_{kind}"] = ties[ties["kind"] == kind].groupby("document_id").size()
    return counts.fillna(0).astype("int64").reset_index()


def network_by_group(
    sources: pd.DataFrame,
    participants: pd.DataFrame,
    columns: Sequence[str],
    *,
    n_boot: int = 1000,
    random_state: int = 42,
) -> pd.DataFrame:
    """The measures of every group of every column, and of all participants.

    Args:
        sources: Kept mentions (``document_id``, ``source``, ``kind``, ``scope``).
        participants: One row per document: ``document_id`` and metadata.
        columns: Grouping columns (:func:`network_group_columns`).
        n_boot: Bootstrap replicates (0: no intervals for means and shares
            of ties).
        random_state: Seed of the bootstrap.

    Returns:
        A table with :data:`BY_GROUP_COLUMNS`; first a row of all participants
        (``column`` and ``group`` both ``(all)``).
    """
    rng = np.random.default_rng(random_state)
    per = participant_ties(sources, participants)
    rows = [_measures(per, ALL_GROUPS, ALL_GROUPS, rng, n_boot, bridging=[])]
    for column in columns:
        group_of = dict(
            zip(
                participants["document_id"],
                participants[column].fillna("(missing)").astype(str),
                strict=True,
            )
        )
        named_by = sources.assign(group=sources["document_id"].map(group_of))
        bridging = named_by.groupby("source")["group"].nunique()
        bridges = set(bridging[bridging > 1].index)
        for group in sorted(set(group_of.values())):
            members = per[per["document_id"].map(group_of) == group]
            names = sorted(
                bridges.intersection(named_by.loc[named_by["group"] == group, "source"])
            )
            rows.append(_measures(members, column, group, rng, n_boot, bridging=names))
    return pd.DataFrame(rows, columns=list(BY_GROUP_COLUMNS))


def _measures(per, column, group, rng, n_boot, *, bridging) -> dict:
    n = len(per)
    row: dict[str, object] = {"column": column, "group": group, "n_participants": n}
    totals = per["n_sources"].to_numpy(dtype=float)
    row["n_ties"] = int(totals.sum())
    samples = rng.integers(0, n, size=(n_boot, n)) if n and n_boot else None
    row |= _with_interval("mean_sources", totals, None, samples)
    row |= _with_interval(
        "share_external", per["n_external"].to_numpy(dtype=float), totals, samples
    )
    for kind in KINDS:
        values = per[f"n_{kind}"].to_numpy(dtype=float)
        row |= _with_interval(f"share_{kind}", values, totals, samples)
    few = int((per["n_external"] <= 1).sum())
    low, high = wilson_interval(few, n)
    row |= {
        "n_max_one_external": few,
        "share_max_one_external": round(few / n, 4) if n else 0.0,
        "share_max_one_external_low": round(low, 4),
        "share_max_one_external_high": round(high, 4),
        "n_bridging_sources": len(bridging),
        "bridging_sources": "; ".join(bridging),
    }
    return row


def _with_interval(name, values, totals, samples) -> dict[str, float]:
    """A mean (``totals`` None) or a ratio of sums, with its bootstrap interval."""

    def estimate(numerator, denominator):
        if totals is None:
            return numerator.mean(axis=-1) if numerator.shape[-1] else 0.0
        total = denominator.sum(axis=-1)
        return np.divide(
            numerator.sum(axis=-1),
            total,
            out=np.zeros_like(total, dtype=float),
            where=total > 0,
        )

    point = float(estimate(values, totals)) if len(values) else 0.0
    if samples is None:
        return {name: round(point, 4), f"{name}_low": np.nan, f"{name}_high": np.nan}
    boot = estimate(values[samples], None if totals is None else totals[samples])
    low, high = np.percentile(boot, [2.5, 97.5])
    return {
        name: round(point, 4),
        f"{name}_low": round(float(low), 4),
        f"{name}_high": round(float(high), 4),
    }
