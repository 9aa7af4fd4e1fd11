"""The units agreement is counted on, built from a run's segments and human codes.

Each builder returns a :class:`~pipeline.agreement.metrics.UnitData`: every
human coder's codes and the auto-coder's (named :data:`AUTO`) on the same
units, and which units each coder coded. Segments come from the human codes
aligned on them; turns collapse segments; documents and characters are
rebuilt from the human codes as read (see :mod:`pipeline.agreement.metrics`
for what each unit means).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.agreement.metrics import UnitData
from pipeline.io.codes.align import AlignedCodes
from pipeline.io.codes.records import CodesImport

AUTO = "auto"
"""The auto-coder's name in unit data (and, by default, in the tables)."""


def segment_units(
    aligned: AlignedCodes, segments: pa.Table, auto: np.ndarray
) -> UnitData:
    """Segments as units: aligned human codes and auto decisions."""
    documents = np.asarray(segments.column("document_id").to_pylist(), dtype=object)
    labels = {coder: aligned.labels[coder] for coder in aligned.coders}
    labels[AUTO] = auto
    # set membership, not np.isin: on object arrays np.isin took 150 s for
    # 100,000 segments and as many documents
    coded = {}
    for coder in aligned.coders:
        theirs = set(aligned.documents[coder])
        coded[coder] = np.fromiter(
            (d in theirs for d in documents), dtype=bool, count=len(documents)
        )
    coded[AUTO] = np.ones(len(documents), dtype=bool)
    return UnitData("segments", aligned.codes, documents, labels, coded)


def turn_units(data: UnitData, segments: pa.Table) -> UnitData:
    """Turns as units: a turn has a code when any of its segments has it."""
    keys = pd.Series(
        [
            f"{d}\x00{t}"
            for d, t in zip(
                data.documents, segments.column("turn_index").to_pylist(), strict=True
            )
        ]
    )
    codes_index, turns = pd.factorize(keys)
    documents = np.array([key.split("\x00")[0] for key in turns], dtype=object)

    def collapse(matrix):
        out = np.zeros((len(turns), matrix.shape[1]), dtype=bool)
        np.logical_or.at(out, codes_index, matrix)
        return out

    def collapse_mask(mask):
        out = np.zeros(len(turns), dtype=bool)
        np.logical_or.at(out, codes_index, mask)
        return out

    return UnitData(
        "turns",
        data.codes,
        documents,
        {c: collapse(m) for c, m in data.labels.items()},
        {c: collapse_mask(m) for c, m in data.coded.items()},
    )


def document_units(
    imported: CodesImport,
    codes: Sequence[str],
    segments: pa.Table,
    auto: np.ndarray,
    coders: Sequence[str],
) -> UnitData:
    """Documents as units: a code is present when a coder used it in the document."""
    documents = sorted(set(segments.column("document_id").to_pylist()))
    row = {d: i for i, d in enumerate(documents)}
    column = {c: j for j, c in enumerate(codes)}
    labels = {c: np.zeros((len(documents), len(codes)), dtype=bool) for c in coders}
    coded = {c: np.zeros(len(documents), dtype=bool) for c in coders}
    for assignment in imported.assignments:
        if assignment.document_id in row and assignment.coder in labels:
            coded[assignment.coder][row[assignment.document_id]] = True
            if assignment.code in column:
                labels[assignment.coder][
                    row[assignment.document_id], column[assignment.code]
                ] = True
    auto_labels = np.zeros((len(documents), len(codes)), dtype=bool)
    np.logical_or.at(
        auto_labels, [row[d] for d in segments.column("document_id").to_pylist()], auto
    )
    labels[AUTO] = auto_labels
    coded[AUTO] = np.ones(len(documents), dtype=bool)
    return UnitData(
        "documents", list(codes), np.array(documents, dtype=object), labels, coded
    )


def character_units(
    imported: CodesImport,
    codes: Sequence[str],
    segments: pa.Table,
    auto: np.ndarray,
    texts: dict[str, str],
    coders: Sequence[str],
    coded_documents: dict[str, set[str]],
) -> UnitData:
    """Characters as units (as NVivo counts), stored as runs of identical characters.

    Every character of every document is a unit. Human spans (a whole-document
    code covers every character) and the spans of auto-coded segments cut each
    document into runs within which no coder changes its mind; each run is one
    weighted unit, which gives the same counts as one unit per character.
    """
    column = {c: j for j, c in enumerate(codes)}
    spans: dict[str, list[tuple[str, int, int, int]]] = {d: [] for d in texts}
    for a in imported.assignments:
        if a.document_id in texts and a.code in column and a.coder in coders:
            start, end = (
                (0, len(texts[a.document_id])) if a.start is None else (a.start, a.end)
            )
            spans[a.document_id].append((a.coder, column[a.code], start, end))
    rows, cols = np.nonzero(auto)
    seg_documents = segments.column("document_id").to_pylist()
    seg_starts = segments.column("start").to_pylist()
    seg_ends = segments.column("end").to_pylist()
    for r, j in zip(rows.tolist(), cols.tolist(), strict=True):
        spans[seg_documents[r]].append((AUTO, j, seg_starts[r], seg_ends[r]))
    all_coders = [*coders, AUTO]
    unit_documents, weights = [], []
    labels = {c: [] for c in all_coders}
    coded = {c: [] for c in all_coders}
    for document, text in texts.items():
        cuts = sorted(
            {
                0,
                len(text),
                *(s for _, _, s, _ in spans[document]),
                *(e for _, _, _, e in spans[document]),
            }
        )
        starts = np.array(cuts[:-1])
        ends = np.array(cuts[1:])
        if not len(starts):
            continue
        matrices = {
            c: np.zeros((len(starts), len(codes)), dtype=bool) for c in all_coders
        }
        for coder, j, start, end in spans[document]:
            matrices[coder][(starts >= start) & (ends <= end), j] = True
        for coder in all_coders:
            labels[coder].append(matrices[coder])
            is_coded = coder == AUTO or document in coded_documents.get(coder, set())
            coded[coder].append(np.full(len(starts), is_coded))
        unit_documents.append(np.full(len(starts), document, dtype=object))
        weights.append(ends - starts)
    return UnitData(
        "characters",
        list(codes),
        np.concatenate(unit_documents),
        {c: np.vstack(m) for c, m in labels.items()},
        {c: np.concatenate(m) for c, m in coded.items()},
        np.concatenate(weights).astype(float),
    )
