"""A run's auto-codes read back from its folder, and checked against a codebook.

The code step writes ``auto_codes.parquet`` (one row per segment and code)
and ``classifier.json`` (the thresholds, in code order); comparisons,
suggestions, reports and exports read them back through these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.coding.codebook_records import Codebook
from pipeline.errors import ConfigError
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder


def read_assigned(folder: RunFolder) -> tuple[pd.DataFrame, list[str]]:
    """The assigned rows of a run's ``auto_codes.parquet``, and every code in order.

    Reports need only the codes given, not every score: reading just those
    rows keeps a 100,000-segment run from holding the whole segments x codes
    table in memory.

    Args:
        folder: The run folder.

    Returns:
        ``(assigned, codes)``: ``document_id, segment_id, start, end, code,
        score`` of the assigned rows, and the code ids as the table orders them.
    """
    # heavy: kept out of start-up
    import pyarrow.compute as pc

    codes = pc.unique(folder.auto_codes(columns=["code"]).column("code"))
    assigned = folder.auto_codes(
        columns=["document_id", "segment_id", "start", "end", "code", "score"],
        filters=[("assigned", "=", True)],
    ).to_pandas()
    return assigned, codes.to_pylist()


@dataclass(frozen=True)
class AutoCodeMatrices:
    """A run's auto-codes as matrices aligned with its segments.

    Attributes:
        codes: Code ids (matrix columns), in the order of ``classifier.json``.
        scores: ``(n_segments, n_codes)`` scores.
        decisions: ``(n_segments, n_codes)`` booleans.
        thresholds: Per code, the auto-coder's threshold.
    """

    codes: list[str]
    scores: np.ndarray
    decisions: np.ndarray
    thresholds: np.ndarray


def read_auto_code_matrices(
    folder: RunFolder, segment_ids: Sequence[str]
) -> AutoCodeMatrices:
    """A run's auto-code scores and decisions, one row per segment given.

    Args:
        folder: The run folder (``auto_codes.parquet`` and ``classifier.json``).
        segment_ids: The segments, in the order the rows should have.

    Returns:
        The matrices, columns in the order of the classifier's thresholds.

    Raises:
        RunNotFoundError: The run has no auto-codes.
        KeyError: A segment given lacks a code's row.
        ValueError: A segment has a code's row twice.
    """
    thresholds = folder.classifier()["thresholds"]
    codes = list(thresholds)
    ids = list(segment_ids)
    # each row's cell from the positions of its ids, one column read at a
    # time: pivoting the whole table in pandas, twice, took 0.5 GB at
    # 100,000 segments and 32 codes
    rows = _positions(folder, "segment_id", ids)
    columns = _positions(folder, "code", codes)
    cells = (rows >= 0) & (columns >= 0)
    rows, columns = rows[cells], columns[cells]
    found = np.bincount(
        rows * len(codes) + columns, minlength=len(ids) * len(codes)
    ).reshape(len(ids), len(codes))
    if (found > 1).any():
        raise ValueError(
            f"{folder.file(run_files.AUTO_CODES)}: a segment has a code twice"
        )
    if not found.all():
        row, column = np.argwhere(found == 0)[0]
        raise KeyError(
            f"{folder.file(run_files.AUTO_CODES)}: no auto-code {codes[column]!r} "
            f"for segment {ids[row]!r}"
        )
    scores = np.empty((len(ids), len(codes)))
    scores[rows, columns] = _values(folder, "score")[cells]
    decisions = np.empty((len(ids), len(codes)), dtype=bool)
    decisions[rows, columns] = _values(folder, "assigned")[cells]
    return AutoCodeMatrices(
        codes, scores, decisions, np.array([thresholds[c] for c in codes])
    )


def _positions(folder: RunFolder, column: str, values: Sequence[str]) -> np.ndarray:
    """Per row of ``auto_codes.parquet``, where its ``column`` is in ``values``.

    Returns:
        Positions in ``values``; -1 for a value not among them.
    """
    # heavy: kept out of start-up
    import pyarrow as pa
    import pyarrow.compute as pc

    read = folder.auto_codes(columns=[column]).column(column)
    where = pc.index_in(read, value_set=pa.array(list(values), type=read.type))
    return pc.fill_null(where, -1).to_numpy().astype(np.int64)


def _values(folder: RunFolder, column: str) -> np.ndarray:
    """One column of ``auto_codes.parquet`` as a NumPy array."""
    return folder.auto_codes(columns=[column]).column(column).to_numpy()


def check_auto_codes(codes: Sequence[str], codebook: Codebook, *, source) -> None:
    """Refuse auto-codes whose code ids the codebook does not have.

    Human codes are read with the codebook; auto-codes made with another
    codebook (or cached by a version that turned CSV codes into slugs) would
    share no code with them, and every comparison would be empty.

    Args:
        codes: The auto-coder's code ids (``classifier.json``).
        codebook: The codebook the human codes are read with.
        source: Where the auto-codes' ids come from, for the message.

    Raises:
        ConfigError: Some auto-code ids are not codes of the codebook.
    """
    strangers = [code for code in codes if code not in set(codebook.ids)]
    if strangers:
        listed = ", ".join(repr(code) for code in strangers[:5])
        more = " ..." if len(strangers) > 5 else ""
        raise ConfigError(
            f"{source}: the run's auto-codes use {len(strangers)} code id(s) the "
            f"codebook {codebook.source} does not have: {listed}{more}. The run was "
            "coded with another codebook, or its auto-codes were cached by an "
            "earlier version that turned CSV codes into slugs: code the corpus "
            "again (`themes run --refit-codes`, or `themes train` a model again), "
            "or use the codebook the run was coded with"
        )
