"""Auto-codes as passages: a turn's adjacent coded segments merged, as coders mark.

A human coder marks a passage, not each sentence of it. :func:`merge_passages`
turns per-segment decisions into passages: the segments of one speaker turn
that carry the same code and follow one another (at most ``max_gap``
uncoded segments between them) become one passage from the first one's
``start`` to the last one's ``end``, exact offsets into the document text.
A passage never crosses a turn: the interviewer's question, or another
speaker, ends it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

PASSAGE_COLUMNS = [
    "document_id",
    "turn_index",
    "code",
    "start",
    "end",
    "first_segment_id",
    "last_segment_id",
    "n_segments",
    "score",
]
"""Columns of ``auto_passages.parquet``."""


def merge_passages(
    segments: pa.Table,
    codes: Sequence[str],
    scores: np.ndarray,
    decisions: np.ndarray,
    *,
    max_gap: int = 0,
) -> pd.DataFrame:
    """Coded segments merged into passages within each turn.

    Args:
        segments: The segment table (``document_id``, ``turn_index``,
            ``segment_id``, ``start``, ``end``), in document order.
        codes: Code ids, in column order of ``scores``.
        scores: ``(n_segments, n_codes)`` scores.
        decisions: ``(n_segments, n_codes)`` booleans.
        max_gap: Uncoded segments allowed between two coded ones of a passage.

    Returns:
        One row per passage (:data:`PASSAGE_COLUMNS`), in document order then
        code order; ``score`` is the best score of the passage's coded segments.
    """
    runs = _runs(segments, decisions, max_gap)
    if runs is None:
        return pd.DataFrame(columns=PASSAGE_COLUMNS)
    passage, rows, columns = runs
    # the coded cells are sorted by code then row, so each passage is a run of
    # consecutive cells: reduce over the runs with NumPy (a groupby with a
    # Python function per passage took most of the step at 100,000 segments)
    first = np.flatnonzero(np.diff(passage, prepend=0))
    last = np.append(first[1:], len(passage)) - 1
    first_rows, last_rows = rows[first], rows[last]
    starts = segments.column("start").to_numpy()[rows]
    ends = segments.column("end").to_numpy()[rows]
    segment_ids = segments.column("segment_id").to_numpy(zero_copy_only=False)
    order = np.lexsort((columns[first], first_rows))
    passages = pd.DataFrame(
        {
            "document_id": segments.column("document_id").to_numpy(
                zero_copy_only=False
            )[first_rows],
            "turn_index": segments.column("turn_index").to_numpy(zero_copy_only=False)[
                first_rows
            ],
            "code": np.asarray(codes, dtype=object)[columns[first]],
            "start": np.minimum.reduceat(starts, first),
            "end": np.maximum.reduceat(ends, first),
            "first_segment_id": segment_ids[first_rows],
            "last_segment_id": segment_ids[last_rows],
            "n_segments": (last_rows - first_rows + 1).astype(np.int64),
            "score": np.maximum.reduceat(np.asarray(scores)[rows, columns], first),
        }
    ).iloc[order]
    passages["score"] = passages["score"].round(4)
    return passages[PASSAGE_COLUMNS].reset_index(drop=True)


def fill_gaps(segments: pa.Table, decisions: np.ndarray, *, max_gap: int) -> np.ndarray:
    """Decisions with the gaps of merged passages filled (smoothing along the turn).

    A segment between two segments of its turn that carry a code, at most
    ``max_gap`` segments from each, gets the code too.
    """
    decisions = np.asarray(decisions, dtype=bool)
    runs = _runs(segments, decisions, max_gap) if max_gap > 0 else None
    if runs is None:
        return decisions.copy()
    passage, rows, columns = runs
    first = pd.Series(rows).groupby(passage).agg(["min", "max"])
    column = pd.Series(columns).groupby(passage).first()
    filled = decisions.copy()
    for (low, high), code in zip(first.to_numpy(), column.to_numpy(), strict=True):
        filled[low : high + 1, code] = True
    return filled


def _runs(segments: pa.Table, decisions: np.ndarray, max_gap: int):
    """``(passage number, row, column)`` of each coded cell, or None if none."""
    decisions = np.asarray(decisions, dtype=bool)
    rows, columns = np.nonzero(decisions)
    if not len(rows):
        return None
    documents = segments.column("document_id").to_numpy(zero_copy_only=False)
    turns = segments.column("turn_index").to_numpy(zero_copy_only=False)
    order = np.lexsort((rows, columns))
    rows, columns = rows[order], columns[order]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = (
        (columns[1:] != columns[:-1])
        | (rows[1:] - rows[:-1] > max_gap + 1)
        | (documents[rows[1:]] != documents[rows[:-1]])
        | (turns[rows[1:]] != turns[rows[:-1]])
    )
    return np.cumsum(new), rows, columns


def passages_for_csv(passages: pd.DataFrame, documents: pa.Table) -> pd.DataFrame:
    """The passages with their words (``quote``, after ``end``), for a spreadsheet."""
    texts = dict(
        zip(
            documents.column("document_id").to_pylist(),
            documents.column("text").to_pylist(),
            strict=True,
        )
    )
    quotes = [
        texts.get(d, "")[s:e]
        for d, s, e in zip(
            passages["document_id"], passages["start"], passages["end"], strict=True
        )
    ]
    quoted = passages.copy()
    quoted.insert(quoted.columns.get_loc("end") + 1, "quote", quotes)
    return quoted
