"""Topic tables: labels, representative segments, assignments and counts per group.

The same tables come from a fitted model and from a saved model applied to a
corpus, so both are made here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.topics.centroids import OUTLIER

TOPIC_COLUMNS = ["topic", "label", "top_words", "size", "representative_ids"]
"""Columns of the topic table: one row per topic."""


def topic_label(topic: int, words: Sequence[str], *, n_words: int = 3) -> str:
    """Make a readable label from a topic's best words: ``"training, course, time"``.

    A word that shares a word with one already in the label is skipped, so
    ``"wait time, waiting time, time wait"`` does not fill the label.
    """
    if topic == OUTLIER:
        return "(no topic)"
    chosen: list[str] = []
    used: set[str] = set()
    for word in words:
        parts = set(word.split())
        if parts & used:
            continue
        chosen.append(word)
        used |= parts | {p.rstrip("s") for p in parts} | {p + "s" for p in parts}
        if len(chosen) == n_words:
            break
    return ", ".join(chosen) if chosen else f"topic {topic}"


def topic_row(
    topic: int,
    *,
    label: str,
    top_words: str,
    segment_ids: Sequence[str],
    topics: np.ndarray,
    similarity: np.ndarray,
) -> dict:
    """One row of the topic table; the representative segments fit it best.

    Args:
        topic: The topic.
        label: Its label.
        top_words: Its words, comma-separated.
        segment_ids: Segment ids, in order.
        topics: Per segment, its topic.
        similarity: Per segment, its similarity to its topic's centroid.

    Returns:
        ``topic, label, top_words, size, representative_ids``, where the
        representative segments are the three most similar to the centroid.
    """
    members = np.flatnonzero(topics == topic)
    order = members[np.argsort(-similarity[members], kind="stable")]
    return {
        "topic": int(topic),
        "label": label,
        "top_words": top_words,
        "size": len(members),
        "representative_ids": ";".join(segment_ids[i] for i in order[:3]),
    }


def assignment_table(
    segment_ids: Sequence[str], topics: np.ndarray, similarity: np.ndarray
) -> pd.DataFrame:
    """Return ``segment_id, topic, probability`` per segment."""
    return pd.DataFrame(
        {
            "segment_id": list(segment_ids),
            "topic": topics.astype(int),
            "probability": similarity.round(4),
        }
    )


def choose_group_columns(
    metadata: pd.DataFrame, configured: Sequence[str] | None, *, max_groups: int = 20
) -> list[str]:
    """Metadata columns to break topics down by.

    Args:
        metadata: One row per segment, one column per metadata field.
        configured: Columns named in ``topics.per_group``, or None to choose:
            every column with 2 to ``max_groups`` distinct values.
        max_groups: The most distinct values a column may have to be chosen
            when ``configured`` is None.

    Returns:
        Column names present in ``metadata``.
    """
    if configured is not None:
        return [c for c in configured if c in metadata.columns]
    return [
        column
        for column in metadata.columns
        if 2 <= metadata[column].nunique(dropna=True) <= max_groups
    ]


def count_topics_by_group(
    topics: Sequence[int],
    labels: dict[int, str],
    metadata: pd.DataFrame,
    columns: Sequence[str],
) -> pd.DataFrame:
    """Count segments per topic in each metadata group.

    Args:
        topics: Topic of each segment.
        labels: Topic id to label.
        metadata: Metadata of each segment (aligned with ``topics``).
        columns: Metadata columns to group by.

    Returns:
        ``group_column, group, topic, label, count, share`` where ``share`` is
        the topic's share of the group's segments.
    """
    frames = []
    for column in columns:
        frame = pd.DataFrame(
            {
                "group": metadata[column].fillna("(missing)").to_numpy(),
                "topic": np.asarray(topics),
            }
        )
        counts = frame.groupby(["group", "topic"]).size().rename("count").reset_index()
        totals = counts.groupby("group")["count"].transform("sum")
        counts["share"] = (counts["count"] / totals).round(4)
        counts.insert(0, "group_column", column)
        counts["label"] = counts["topic"].map(
            lambda t: labels.get(int(t), f"topic {t}")
        )
        frames.append(counts)
    columns_out = ["group_column", "group", "topic", "label", "count", "share"]
    if not frames:
        return pd.DataFrame(columns=columns_out)
    return pd.concat(frames, ignore_index=True)[columns_out]


def count_by_group(
    topics: np.ndarray,
    table: pd.DataFrame,
    metadata: pd.DataFrame,
    per_group: Sequence[str] | None,
) -> tuple[pd.DataFrame, list[str]]:
    """Topic counts per metadata group, labelled from the topic table.

    Args:
        topics: Topic of each segment.
        table: The topic table (``topic`` and ``label`` columns).
        metadata: Metadata of each segment (aligned with ``topics``).
        per_group: ``topics.per_group``: columns to group by, or None to choose.

    Returns:
        The counts (see :func:`count_topics_by_group`) and the columns grouped by.
    """
    labels = dict(zip(table["topic"], table["label"], strict=True))
    group_columns = choose_group_columns(metadata, per_group)
    return count_topics_by_group(topics, labels, metadata, group_columns), group_columns
