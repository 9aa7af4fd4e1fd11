"""The unit the human codes were made at, and the coder's view of it.

Human codes come in two shapes. Spans at character offsets (a ``.qdpx``
project, a long CSV with ``start``/``end``) mark passages: the coder learns
per segment and is compared at every unit. Whole-document codes (a CSV of
survey comments with a code per comment, an answer coded as a whole) say
nothing about which sentence carries the code: learning them per sentence
teaches the coder that every sentence of a coded answer has the code. Those
are learnt and predicted per document, as they were made.

A document's embedding is the mean of its chunks' embeddings: its segments
are joined, in order, into chunks of at most :data:`CHUNK_WORDS` words (a
short comment is one chunk, embedded whole; a long answer is not cut off at
the encoder's length limit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipeline.errors import ConfigError
from pipeline.io.codes.records import CodesImport

CODING_UNITS = ("auto", "segment", "document")
"""Values of ``classify.unit``."""

CHUNK_WORDS = 120
"""Words per chunk of a document embedding (MiniLM reads about 200 words)."""


@dataclass(frozen=True, slots=True)
class CodingUnit:
    """The unit a coder learns and predicts at, and why.

    Attributes:
        name: ``segment`` or ``document``.
        reason: One sentence for the model card.
    """

    name: str
    reason: str


def choose_unit(imported: CodesImport, setting: str = "auto") -> CodingUnit:
    """The coding unit for human codes: the one they were made at, unless set.

    Args:
        imported: The human codes.
        setting: ``classify.unit``: ``auto``, ``segment`` or ``document``.

    Returns:
        ``document`` when no code has offsets (under ``auto``), else ``segment``.

    Raises:
        ConfigError: ``setting`` is not a coding unit.
    """
    if setting not in CODING_UNITS:
        raise ConfigError(
            f"classify.unit: {setting!r} is not one of {', '.join(CODING_UNITS)}"
        )
    if setting != "auto":
        return CodingUnit(setting, f"set by classify.unit: {setting}")
    spans = sum(a.start is not None for a in imported.assignments)
    if imported.assignments and not spans:
        return CodingUnit(
            "document",
            "the human codes are whole-document codes (no offsets), so the "
            "coder learns and predicts one decision per document",
        )
    return CodingUnit(
        "segment",
        f"{spans} of the {len(imported.assignments)} human codes are spans at "
        "character offsets, so the coder learns per segment and is compared "
        "at every unit",
    )


@dataclass(frozen=True)
class SegmentGroups:
    """Segments grouped into coding units (documents, or turns), in order.

    Attributes:
        document_ids: Each unit's document, in order of first segment.
        rows: Per unit, the row numbers of its segments in the segment table.
        texts: Per unit, its segments' texts joined by spaces.
    """

    document_ids: list[str]
    rows: list[np.ndarray]
    texts: list[str]

    def __len__(self) -> int:
        return len(self.document_ids)

    def unit_of(self, n_segments: int) -> np.ndarray:
        """Each segment's unit number (``-1`` for none)."""
        unit = np.full(n_segments, -1, dtype=np.int64)
        for number, rows in enumerate(self.rows):
            unit[rows] = number
        return unit

    def any_of(self, matrix: np.ndarray) -> np.ndarray:
        """Per unit, whether any of its segments' rows is true (human codes)."""
        matrix = np.asarray(matrix, dtype=bool)
        return np.array([matrix[rows].any(axis=0) for rows in self.rows]).reshape(
            len(self.rows), matrix.shape[1]
        )

    def spread(self, values: np.ndarray, n_segments: int) -> np.ndarray:
        """Per-unit rows given to each of the unit's segments."""
        values = np.asarray(values)
        out = np.zeros((n_segments, *values.shape[1:]), dtype=values.dtype)
        for number, rows in enumerate(self.rows):
            out[rows] = values[number]
        return out

    def keys(self, documents: pa.Table, settings_hash: str) -> list[str]:
        """Stable keys: ``<content hash>:<segment settings hash>:<document id>``."""
        hashes = dict(
            zip(
                documents.column("document_id").to_pylist(),
                documents.column("content_hash").to_pylist(),
                strict=True,
            )
        )
        return [f"{hashes[d]}:{settings_hash}:{d}" for d in self.document_ids]


def document_units(segments: pa.Table) -> SegmentGroups:
    """Group a segment table's rows by document, keeping the segment order."""
    return _group(segments, segments.column("document_id").to_pylist())


def turn_units(segments: pa.Table) -> SegmentGroups:
    """Group a segment table's rows by speaker turn (document and turn index)."""
    return _group(
        segments,
        list(
            zip(
                segments.column("document_id").to_pylist(),
                segments.column("turn_index").to_pylist(),
                strict=True,
            )
        ),
    )


def _group(segments: pa.Table, keys: list) -> SegmentGroups:
    document_ids = segments.column("document_id").to_pylist()
    texts = segments.column("text").to_pylist()
    rows: dict[object, list[int]] = {}
    for row, key in enumerate(keys):
        rows.setdefault(key, []).append(row)
    return SegmentGroups(
        [document_ids[r[0]] for r in rows.values()],
        [np.asarray(r, dtype=np.int64) for r in rows.values()],
        [" ".join(texts[i] for i in r) for r in rows.values()],
    )


def chunks(texts: Sequence[str], max_words: int = CHUNK_WORDS) -> list[str]:
    """Consecutive texts joined into chunks of at most ``max_words`` words.

    A text longer than ``max_words`` is a chunk of its own (the encoder
    truncates it; segments that long are rare).
    """
    out: list[str] = []
    current: list[str] = []
    words = 0
    for text in texts:
        n = len(text.split())
        if current and words + n > max_words:
            out.append(" ".join(current))
            current, words = [], 0
        current.append(text)
        words += n
    if current:
        out.append(" ".join(current))
    return out


def unit_embeddings(
    units: SegmentGroups,
    segment_texts: Sequence[str],
    embed_texts: Callable[[list[str]], np.ndarray],
    *,
    max_words: int = CHUNK_WORDS,
) -> np.ndarray:
    """One unit-length embedding per document: the mean of its chunks'.

    Args:
        units: The documents' segments.
        segment_texts: The segment table's texts.
        embed_texts: Embeds texts with the segments' model (cached by content
            in a run).
        max_words: Words per chunk.

    Returns:
        ``(len(units), dimension)`` float32.
    """
    per_unit = [
        chunks([segment_texts[i] for i in rows], max_words) for rows in units.rows
    ]
    distinct = sorted({chunk for unit in per_unit for chunk in unit})
    if not distinct:
        raise ValueError("unit embeddings: no text to embed")
    vectors = dict(zip(distinct, np.asarray(embed_texts(distinct)), strict=True))
    means = np.stack([np.mean([vectors[c] for c in unit], axis=0) for unit in per_unit])
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    return (means / np.clip(norms, 1e-12, None)).astype(np.float32)
