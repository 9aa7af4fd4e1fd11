"""From participant segments to the table of knowledge sources.

:func:`extract_knowledge_sources` finds mentions, keeps those scoring at
least ``min_score`` that are not dismissed, resolves them into sources and
applies the researchers' corrections. Its tables have the columns of
``knowledge_sources.csv`` (:data:`SOURCE_COLUMNS`) and of the dismissed
mentions (:data:`DISMISSED_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.network.corrections import Correction, apply_corrections
from pipeline.network.mentions import Mention
from pipeline.network.resolve import ResolvedMention, resolve_sources


class FindsMentions(Protocol):
    """What finds mentions: a ``MentionFinder``, or a cache in front of one."""

    def find(self, segments: pa.Table, *, batch_size: int = 256) -> list[Mention]:
        """Every candidate mention of the segments, in text order."""


KNOWLEDGE_SOURCES_SCHEMA = pa.schema(
    [
        pa.field("document_id", pa.string(), nullable=False),
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),
        pa.field("end", pa.int64(), nullable=False),
        pa.field("mention", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("scope", pa.string(), nullable=False),
        pa.field("purpose", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
    ]
)
"""Arrow schema of ``knowledge_sources.parquet``."""

SOURCE_COLUMNS: tuple[str, ...] = tuple(KNOWLEDGE_SOURCES_SCHEMA.names)
"""``knowledge_sources.csv``: one kept mention a row. ``purpose`` is the
purposes joined with ``;`` (empty when the speech gives none); ``role`` is a
person's role (empty for other kinds)."""

DISMISSED_COLUMNS: tuple[str, ...] = (
    "document_id",
    "segment_id",
    "start",
    "end",
    "mention",
    "source",
    "kind",
    "scope",
    "score",
    "reason",
)
"""``knowledge_sources_dismissed.csv``: mentions found and not kept, and why."""

_DTYPES = {"start": "int64", "end": "int64", "score": "float64"}


@dataclass(frozen=True)
class KnowledgeSources:
    """The network step's tables.

    Attributes:
        sources: Kept mentions (:data:`SOURCE_COLUMNS`), in document order.
        dismissed: Mentions not kept (:data:`DISMISSED_COLUMNS`).
        n_corrections: Corrections applied.
        unmatched_corrections: Lines of corrections that matched nothing.
    """

    sources: pd.DataFrame
    dismissed: pd.DataFrame
    n_corrections: int = 0
    unmatched_corrections: tuple[int, ...] = ()


def participant_segments(segments: pa.Table) -> pa.Table:
    """The participant rows of a segment table (interviewer speech is no source)."""
    if "role" not in segments.column_names:
        return segments
    return segments.filter(pc.equal(segments.column("role"), "participant"))


def extract_knowledge_sources(
    segments: pa.Table,
    *,
    finder: FindsMentions,
    min_score: float,
    batch_size: int = 256,
    corrections: Sequence[Correction] = (),
    texts: Mapping[str, str] | None = None,
) -> KnowledgeSources:
    """Find, keep, resolve and correct the knowledge sources of the speech.

    Args:
        segments: Segment table (``SEGMENT_SCHEMA``); participant rows are used.
        finder: The mention finder (parser and gazetteer).
        min_score: Mentions scoring lower are not kept.
        batch_size: Texts per ``nlp.pipe`` batch.
        corrections: Researchers' corrections, applied last.
        texts: Document id to text (needed to accept mentions never found).

    Returns:
        The kept and the dismissed mentions.
    """
    speech = participant_segments(segments)
    found = finder.find(speech, batch_size=batch_size)
    kept = [not m.reason and m.score >= min_score for m in found]
    resolved = resolve_sources(found, kept=kept)
    n_applied, unmatched = 0, ()
    if corrections:
        columns = speech.select(["document_id", "start", "end", "segment_id"])
        segment_of: dict[str, list[tuple[int, int, str]]] = {}
        for row in columns.to_pylist():
            segment_of.setdefault(row["document_id"], []).append(
                (row["start"], row["end"], row["segment_id"])
            )
        result = apply_corrections(
            resolved, corrections, texts=texts or {}, segment_of=segment_of
        )
        resolved, n_applied, unmatched = (
            result.mentions,
            result.n_applied,
            result.unmatched_lines,
        )
    return KnowledgeSources(
        sources=_table([r for r in resolved if r.kept], SOURCE_COLUMNS),
        dismissed=_table([r for r in resolved if not r.kept], DISMISSED_COLUMNS),
        n_corrections=n_applied,
        unmatched_corrections=tuple(unmatched),
    )


def _table(rows: Sequence[ResolvedMention], columns: tuple[str, ...]) -> pd.DataFrame:
    records = []
    for resolved in rows:
        mention = resolved.mention
        records.append(
            {
                "document_id": mention.document_id,
                "segment_id": mention.segment_id,
                "start": mention.start,
                "end": mention.end,
                "mention": mention.mention,
                "source": resolved.source,
                "kind": mention.kind,
                "scope": mention.scope,
                "purpose": ";".join(mention.purposes),
                "score": mention.score,
                "role": mention.role,
                "reason": resolved.reason,
            }
        )
    frame = pd.DataFrame.from_records(records, columns=list(columns))
    return frame.astype({k: v for k, v in _DTYPES.items() if k in frame.columns})
