"""Human codes put on segments: one boolean matrix per coder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from pipeline.errors import CodesError
from pipeline.io.codes.records import DEFAULT_CODER, CodesImport, UnusedCode


@dataclass(frozen=True)
class AlignedCodes:
    """Human codes on segments: one boolean matrix per coder.

    Attributes:
        codes: Code ids (matrix columns), in codebook order.
        coders: Coders.
        labels: Coder to a ``(n_segments, n_codes)`` boolean matrix.
        coverage: Share of span codes that landed on at least one segment.
        n_spans: Span codes considered (whole-document codes not counted).
        missed: Span codes that landed on no segment (origin and reason).
        documents: Documents each coder coded (a coder's silence elsewhere is
            not a "no").
    """

    codes: list[str]
    coders: list[str]
    labels: dict[str, np.ndarray]
    coverage: float
    n_spans: int
    missed: list[UnusedCode] = field(default_factory=list)
    documents: dict[str, set[str]] = field(default_factory=dict)

    def combined(self, how: str = "union") -> np.ndarray:
        """One matrix of all coders: ``union`` (anyone), ``majority`` or a coder's."""
        if how in self.labels:
            return self.labels[how]
        stack = np.stack([self.labels[c] for c in self.coders])
        if how == "union":
            return stack.any(axis=0)
        if how == "majority":
            return stack.sum(axis=0) * 2 > len(self.coders)
        raise CodesError(
            f"unknown way to combine coders {how!r}: use union, majority or one of "
            f"{', '.join(self.coders)}"
        )


def align_codes(
    segments: pa.Table,
    imported: CodesImport,
    codes: Sequence[str],
    *,
    min_segment_share: float = 0.5,
    min_span_share: float = 0.5,
) -> AlignedCodes:
    """Put human code spans on segments.

    A segment carries a coder's code when the coded span covers at least
    ``min_segment_share`` of the segment or at least ``min_span_share`` of
    the span. A whole-document code goes on every segment of the document.

    Args:
        segments: The segment table (``document_id``, ``start``, ``end``).
        imported: The human codes.
        codes: Code ids in matrix column order.
        min_segment_share: Share of the segment the span must cover.
        min_span_share: Share of the span the segment must cover.

    Returns:
        One boolean matrix per coder and the coverage of span codes.
    """
    column = {code: i for i, code in enumerate(codes)}
    document_ids = segments.column("document_id").to_pylist()
    starts = np.asarray(segments.column("start").to_pylist(), dtype=np.int64)
    ends = np.asarray(segments.column("end").to_pylist(), dtype=np.int64)
    rows_of: dict[str, np.ndarray] = {}
    for index, document_id in enumerate(document_ids):
        rows_of.setdefault(document_id, []).append(index)
    rows_of = {d: np.asarray(r) for d, r in rows_of.items()}
    coders = list(imported.coders) or [DEFAULT_CODER]
    labels = {
        coder: np.zeros((len(document_ids), len(codes)), dtype=bool) for coder in coders
    }
    documents: dict[str, set[str]] = {coder: set() for coder in coders}
    n_spans = landed = 0
    missed = []
    for assignment in imported.assignments:
        if assignment.code not in column:
            continue
        documents[assignment.coder].add(assignment.document_id)
        rows = rows_of.get(assignment.document_id)
        if rows is None:
            continue
        matrix = labels[assignment.coder]
        if assignment.start is None:
            matrix[rows, column[assignment.code]] = True
            continue
        n_spans += 1
        overlap = np.minimum(ends[rows], assignment.end) - np.maximum(
            starts[rows], assignment.start
        )
        overlap = np.clip(overlap, 0, None)
        segment_length = np.maximum(ends[rows] - starts[rows], 1)
        span_length = max(assignment.end - assignment.start, 1)
        hit = (overlap >= min_segment_share * segment_length) | (
            overlap >= min_span_share * span_length
        )
        hit &= overlap > 0
        if hit.any():
            landed += 1
            matrix[rows[hit], column[assignment.code]] = True
        else:
            missed.append(
                UnusedCode(
                    assignment.origin,
                    "landed on no segment (outside participant speech?)",
                )
            )
    coverage = landed / n_spans if n_spans else 1.0
    return AlignedCodes(
        list(codes), coders, labels, coverage, n_spans, missed, documents
    )
