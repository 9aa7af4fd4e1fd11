"""Auto-codes as tables: one row per segment and code, and rolled up per document.

``auto_codes`` has one row per (segment, code) with the score and the
decision, so researchers can see how close a segment came to a code, not only
whether it got it. ``auto_codes_by_document`` says, per document and code,
whether any segment has the code (presence in a document, MAXQDA's first
level of comparison), in how many segments, and the best score.

The CSV copies carry the words as well (:func:`with_quotes`,
:func:`best_quotes_by_document`), so a researcher reading them in a
spreadsheet sees what was coded, not only where.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

AUTO_CODE_COLUMNS = [
    "document_id",
    "segment_id",
    "start",
    "end",
    "code",
    "score",
    "assigned",
    "method",
    "model",
]


def segment_code_columns(
    segments: pa.Table, codes: Sequence[str]
) -> dict[str, np.ndarray]:
    """The key columns of a table with one row per segment and code.

    Rows go in segment order, then code order: the order of a
    ``(n_segments, n_codes)`` matrix flattened with ``reshape(-1)``.

    Args:
        segments: The segment table.
        codes: Code ids, in matrix column order.

    Returns:
        ``document_id``, ``segment_id``, ``start``, ``end`` and ``code``.
    """
    k = len(codes)
    return {
        "document_id": np.repeat(
            segments.column("document_id").to_numpy(zero_copy_only=False), k
        ),
        "segment_id": np.repeat(
            segments.column("segment_id").to_numpy(zero_copy_only=False), k
        ),
        "start": np.repeat(segments.column("start").to_numpy(), k),
        "end": np.repeat(segments.column("end").to_numpy(), k),
        "code": np.tile(np.asarray(codes, dtype=object), segments.num_rows),
    }


def auto_codes_table(
    segments: pa.Table,
    codes: Sequence[str],
    scores: np.ndarray,
    decisions: np.ndarray,
    *,
    method: Sequence[str] | str,
    model: str,
) -> pd.DataFrame:
    """One row per segment and code: score, decision, how and by what.

    Args:
        segments: The segment table.
        codes: Code ids, in column order of ``scores``.
        scores: ``(n_segments, n_codes)`` scores.
        decisions: ``(n_segments, n_codes)`` booleans.
        method: ``zero-shot``, ``supervised`` or ``supervised (out-of-fold)``,
            for all segments or per segment.
        model: The model's name (codebook or trained model, with the embedding model).

    Returns:
        A DataFrame with :data:`AUTO_CODE_COLUMNS`, segment order then code order.
    """
    k = scores.shape[1]
    # one method for all: a scalar column, not n x k copies of the string
    methods = (
        method
        if isinstance(method, str)
        else np.repeat(np.asarray(method, dtype=object), k)
    )
    return pd.DataFrame(
        {
            **segment_code_columns(segments, codes),
            "score": np.round(scores.reshape(-1), 4),
            "assigned": decisions.reshape(-1).astype(bool),
            "method": methods,
            "model": model,
        },
        columns=AUTO_CODE_COLUMNS,
    )


def auto_codes_for_csv(table: pd.DataFrame, *, top: int = 3) -> pd.DataFrame:
    """The rows worth reading in a spreadsheet.

    Args:
        table: The auto-codes table (:func:`auto_codes_table`).
        top: Each segment's best-scoring codes to keep besides the assigned ones.

    Returns:
        Every assigned code, and each segment's ``top`` best.
    """
    rank = table.groupby("segment_id", sort=False)["score"].rank(
        method="first", ascending=False
    )
    return table[table["assigned"] | (rank <= top)].reset_index(drop=True)


def roll_up_by_document(table: pd.DataFrame) -> pd.DataFrame:
    """Per document and code: present (any segment assigned), segments, best score."""
    grouped = table.groupby(["document_id", "code"], sort=False)
    rolled = grouped.agg(
        present=("assigned", "any"),
        n_segments=("assigned", "sum"),
        max_score=("score", "max"),
    ).reset_index()
    rolled["n_segments"] = rolled["n_segments"].astype(int)
    return rolled


def with_quotes(table: pd.DataFrame, texts: Mapping[str, str]) -> pd.DataFrame:
    """The table with each segment's words in a ``quote`` column, after ``end``.

    Args:
        table: A table with a ``segment_id`` column (auto-codes, their CSV).
        texts: Segment id to its text.

    Returns:
        A new table; a ``quote`` column already there is replaced. A segment
        id not in ``texts`` gets an empty quote.
    """
    table = table.drop(columns="quote", errors="ignore")
    quotes = table["segment_id"].astype(str).map(dict(texts)).fillna("")
    position = (
        table.columns.get_loc("end") + 1 if "end" in table else len(table.columns)
    )
    quoted = table.copy()
    quoted.insert(position, "quote", quotes)
    return quoted


def best_quotes_by_document(
    table: pd.DataFrame, texts: Mapping[str, str]
) -> pd.DataFrame:
    """Per document and code, the segment that best shows the code, and its words.

    The best segment is the highest-scoring one given the code, or, where no
    segment of the document got it, the highest-scoring one.

    Args:
        table: ``document_id, segment_id, code, score, assigned`` of every
            segment and code (``auto_codes.parquet``).
        texts: Segment id to its text.

    Returns:
        ``document_id, code, best_segment_id, quote``.
    """
    ordered = table.sort_values(
        ["assigned", "score"], ascending=False, kind="stable"
    ).drop_duplicates(["document_id", "code"])
    best = ordered[["document_id", "code", "segment_id"]].rename(
        columns={"segment_id": "best_segment_id"}
    )
    return best.assign(
        quote=best["best_segment_id"].astype(str).map(dict(texts)).fillna("")
    ).reset_index(drop=True)
