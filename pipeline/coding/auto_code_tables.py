"""Auto-codes as tables: one row per segment and code, and rolled up per document.

``auto_codes`` has one row per (segment, code) with the score and the
decision, so researchers can see how close a segment came to a code, not only
whether it got it. ``auto_codes_by_document`` says, per document and code,
whether any segment has the code (presence in a document, MAXQDA's first
level of comparison), in how many segments, and the best score.

The CSV copies carry the words as well (:func:`with_quotes`,
:class:`pipeline.outputs.best_segments.BestSegments`), so a researcher reading them in a
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


STRING = pd.Series([""]).dtype
"""The dtype pandas gives text columns (Arrow-backed ``str`` in pandas 3)."""

BLOCK_ROWS = 32_768
"""Rows of one block of a repeated text column (shared by all its chunks)."""


def segment_code_columns(
    segments: pa.Table, codes: Sequence[str]
) -> dict[str, pd.api.extensions.ExtensionArray | np.ndarray]:
    """The key columns of a table with one row per segment and code.

    Rows go in segment order, then code order: the order of a
    ``(n_segments, n_codes)`` matrix flattened with ``reshape(-1)``. The text
    columns are built in Arrow, not as Python strings, and ``code`` repeats
    one block of codes (every chunk shares its memory): at 100,000 segments
    and 32 codes the columns as NumPy object arrays, then converted to text
    columns, took several hundred MB.

    Args:
        segments: The segment table.
        codes: Code ids, in matrix column order.

    Returns:
        ``document_id``, ``segment_id``, ``start``, ``end`` and ``code``.
    """
    k = len(codes)
    return {
        "document_id": text_column(
            each_row_repeated(segments.column("document_id"), k)
        ),
        "segment_id": text_column(each_row_repeated(segments.column("segment_id"), k)),
        "start": np.repeat(segments.column("start").to_numpy(), k),
        "end": np.repeat(segments.column("end").to_numpy(), k),
        "code": text_column(tiled(codes, segments.num_rows)),
    }


def text_column(values: pa.ChunkedArray) -> pd.api.extensions.ExtensionArray:
    """Arrow text as a pandas text column, without a copy where pandas allows."""
    return pd.array(values, dtype=STRING)


def each_row_repeated(column: pa.ChunkedArray, times: int) -> pa.ChunkedArray:
    """Each value of an Arrow text column ``times`` times in a row."""
    index = np.repeat(np.arange(len(column)), times)
    return pa.chunked_array(
        column.cast(pa.large_string()).take(index).chunks, type=pa.large_string()
    )


def tiled(values: Sequence[str], times: int) -> pa.ChunkedArray:
    """``values`` repeated ``times`` times, every chunk one shared block."""
    values = list(values)
    if not values or not times:
        return pa.chunked_array([], type=pa.large_string())
    per_block = max(1, BLOCK_ROWS // len(values))
    block = pa.array(values * min(per_block, times), type=pa.large_string())
    full, rest = divmod(times, per_block)
    chunks = [block] * full
    if rest:
        chunks.append(block.slice(0, rest * len(values)))
    return pa.chunked_array(chunks, type=pa.large_string())


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
    n, k = scores.shape
    methods = [method] if isinstance(method, str) else list(dict.fromkeys(method))
    # one method for all (zero-shot): one shared block, not n x k copies of
    # the string; so is the model's name (about 100 characters: 300 MB as
    # 3,200,000 separate strings)
    method_column = (
        tiled(methods, n * k)
        if len(methods) <= 1
        else each_row_repeated(pa.chunked_array([pa.array(list(method))]), k)
    )
    return pd.DataFrame(
        {
            **segment_code_columns(segments, codes),
            "score": np.round(scores.reshape(-1), 4),
            "assigned": decisions.reshape(-1).astype(bool),
            "method": text_column(method_column),
            "model": text_column(tiled([model], n * k)),
        },
        columns=AUTO_CODE_COLUMNS,
    )


def auto_codes_for_csv(
    table: pd.DataFrame, *, n_codes: int, top: int = 3
) -> pd.DataFrame:
    """The rows worth reading in a spreadsheet.

    Args:
        table: The auto-codes table (:func:`auto_codes_table`: segment order,
            then code order).
        n_codes: The codes per segment.
        top: Each segment's best-scoring codes to keep besides the assigned ones.

    Returns:
        Every assigned code, and each segment's ``top`` best (ties: the first
        code in the table's order).
    """
    scores = table["score"].to_numpy(dtype=float).reshape(-1, n_codes)
    # a stable sort of the scores as written, best first: a segment's rank of
    # each code, as pandas' rank(method="first") gave it, without grouping
    # 3,200,000 rows by segment id
    order = np.argsort(-scores, axis=1, kind="stable")[:, :top]
    best = np.zeros(scores.shape, dtype=bool)
    np.put_along_axis(best, order, True, axis=1)
    best &= ~np.isnan(scores)  # an unscored code is never among the best
    keep = table["assigned"].to_numpy(dtype=bool) | best.reshape(-1)
    # column by column: a Series masked by booleans filters its Arrow chunks,
    # where a DataFrame takes rows by position, and Arrow's take joined the
    # chunks of every text column first (300 MB for the model's name)
    return pd.DataFrame(
        {column: table[column][keep].reset_index(drop=True) for column in table}
    )


def roll_up_by_document(table: pd.DataFrame, *, n_codes: int) -> pd.DataFrame:
    """Per document and code: present (any segment assigned), segments, best score.

    Args:
        table: The auto-codes table (:func:`auto_codes_table`: segment order,
            then code order).
        n_codes: The codes per segment.

    Returns:
        ``document_id, code, present, n_segments, max_score``: documents in
        the order they first occur, codes in the table's order.
    """
    n = len(table) // n_codes if n_codes else 0
    if not n:
        return pd.DataFrame(
            {
                "document_id": text_column(tiled([], 0)),
                "code": text_column(tiled([], 0)),
                "present": np.zeros(0, dtype=bool),
                "n_segments": np.zeros(0, dtype=np.int64),
                "max_score": np.zeros(0),
            }
        )
    rows = np.arange(n) * n_codes
    document, documents = pd.factorize(table["document_id"].take(rows))
    # a document's segments, together: reduced with NumPy per document
    # instead of grouping 3,200,000 rows by two text columns
    order = np.argsort(document, kind="stable")
    starts = np.flatnonzero(np.diff(document[order], prepend=-1))
    assigned = table["assigned"].to_numpy(dtype=bool).reshape(n, n_codes)[order]
    scores = table["score"].to_numpy(dtype=float).reshape(n, n_codes)[order]
    codes = table["code"].iloc[:n_codes].tolist()
    counts = np.add.reduceat(assigned.astype(np.int64), starts, axis=0)
    return pd.DataFrame(
        {
            "document_id": text_column(
                each_row_repeated(
                    pa.chunked_array([pa.array(np.asarray(documents, dtype=object))]),
                    n_codes,
                )
            ),
            "code": text_column(tiled(codes, len(documents))),
            "present": (counts > 0).reshape(-1),
            "n_segments": counts.reshape(-1),
            # fmax: a NaN score is passed over, as pandas' max does
            "max_score": np.fmax.reduceat(scores, starts, axis=0).reshape(-1),
        }
    )


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
