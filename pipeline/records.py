"""Typed records that flow between the stages, and the Arrow schemas of bulk tables.

Small things travel as frozen dataclasses (they reject unknown fields and cannot
be changed after creation). Bulk data (thousands of segments, embeddings)
travels as Arrow tables with the schemas defined here, so every stage agrees on
column names and types.

Offsets: every ``start``/``end`` in the project is a Python ``str`` index
(a Unicode code point, end exclusive) into ``Transcript.text``, the normalised
text of the document (decoded, line endings turned into ``\\n``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import pyarrow as pa

Role = Literal["interviewer", "participant"]
ROLES: tuple[str, ...] = ("interviewer", "participant")
Unit = Literal["turn", "sentence", "window"]
UNITS: tuple[str, ...] = ("turn", "sentence", "window")


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """One speaker turn: the speech of one speaker up to the next label.

    Attributes:
        speaker: The label as written (``"P07"``, ``"Interviewer"``), or ``None``
            when the text carries no label.
        role: ``"interviewer"`` or ``"participant"``.
        start: Offset of the first character of the speech (after the label).
        end: Offset one past the last non-space character of the speech.
        time_start: Seconds from the start of the recording, when the source
            gives cue timings or timestamps.
        time_end: End of the last cue of the turn, in seconds, when known.

    """

    speaker: str | None
    role: Role
    start: int
    end: int
    time_start: float | None = None
    time_end: float | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Turn.role must be one of {ROLES}, got {self.role!r}")
        if not 0 <= self.start <= self.end:
            raise ValueError(
                f"Turn offsets out of order: start={self.start}, end={self.end}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Transcript:
    """A document after ingest: normalised text, its turns and its metadata.

    Attributes:
        document_id: The file stem or the id column; unique within a corpus.
        source: Where it came from, relative to the corpus root
            (``"M01.txt"``, ``"answers.csv:row 12"``).
        format: ``txt``, ``docx``, ``vtt``, ``srt``, ``csv`` or ``xlsx``.
        text: The normalised text every offset refers to.
        turns: Speaker turns in document order, offsets into ``text``.
        metadata: Metadata columns (site, managerial group, role, ...) as strings.
        encoding: The encoding the source was decoded from.
        notes: Things worth telling the user about this document (for example
            a non-UTF-8 encoding that was converted). Never transcript text.

    """

    document_id: str
    source: str
    format: str
    text: str
    turns: tuple[Turn, ...]
    metadata: Mapping[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.document_id:
            raise ValueError(f"{self.source}: empty document_id")
        n_chars = len(self.text)
        for turn in self.turns:
            if turn.end > n_chars:
                raise ValueError(
                    f"{self.source}: turn ends at {turn.end}, past the end of the "
                    f"text ({n_chars} characters)"
                )
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @property
    def content_hash(self) -> str:
        """SHA-256 of the normalised text: the document's identity for caching."""
        return hash_text(self.text)


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """A unit of analysis: a turn, a sentence or a window of sentences.

    ``transcript.text[segment.start:segment.end] == segment.text`` always holds.
    """

    document_id: str
    segment_id: str
    unit: Unit
    speaker: str | None
    role: Role
    start: int
    end: int
    text: str
    question: str | None = None
    turn_index: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Quarantined:
    """A source (file, or row of a table) that could not be used, and why.

    The reason says what was wrong and never quotes transcript text.
    """

    source: str
    reason: str


def hash_text(text: str) -> str:
    """Return the hex SHA-256 of a string's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


SEGMENT_SCHEMA = pa.schema(
    [
        pa.field("document_id", pa.string(), nullable=False),
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("unit", pa.string(), nullable=False),
        pa.field("speaker", pa.string()),
        pa.field("role", pa.string(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),
        pa.field("end", pa.int64(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("question", pa.string()),
        pa.field("turn_index", pa.int32(), nullable=False),
    ]
)
"""Columns of ``segments.parquet`` and of every segment table between stages."""

TURN_TYPE = pa.struct(
    [
        pa.field("speaker", pa.string()),
        pa.field("role", pa.string()),
        pa.field("start", pa.int64()),
        pa.field("end", pa.int64()),
        pa.field("time_start", pa.float64()),
        pa.field("time_end", pa.float64()),
    ]
)

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("document_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("format", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("encoding", pa.string(), nullable=False),
        pa.field("turns", pa.list_(TURN_TYPE), nullable=False),
    ]
)
"""Fixed columns of ``documents.parquet``; metadata columns follow them as strings."""


def segments_to_table(segments: list[Segment]) -> pa.Table:
    """Build a segment table (``SEGMENT_SCHEMA``) from records."""
    columns = {
        name: [getattr(s, name) for s in segments] for name in SEGMENT_SCHEMA.names
    }
    return pa.Table.from_pydict(columns, schema=SEGMENT_SCHEMA)


def segments_from_table(table: pa.Table) -> list[Segment]:
    """Turn a segment table back into records (for small tables and tests)."""
    return [Segment(**row) for row in table.select(SEGMENT_SCHEMA.names).to_pylist()]


def transcripts_to_table(transcripts: list[Transcript]) -> pa.Table:
    """Build the documents table: fixed columns, then a column per metadata key."""
    metadata_keys: list[str] = []
    for transcript in transcripts:
        for key in transcript.metadata:
            if key not in metadata_keys and key not in DOCUMENT_SCHEMA.names:
                metadata_keys.append(key)
    columns: dict[str, list] = {
        "document_id": [t.document_id for t in transcripts],
        "source": [t.source for t in transcripts],
        "format": [t.format for t in transcripts],
        "text": [t.text for t in transcripts],
        "content_hash": [t.content_hash for t in transcripts],
        "encoding": [t.encoding for t in transcripts],
        "turns": [
            [
                {
                    "speaker": turn.speaker,
                    "role": turn.role,
                    "start": turn.start,
                    "end": turn.end,
                    "time_start": turn.time_start,
                    "time_end": turn.time_end,
                }
                for turn in t.turns
            ]
            for t in transcripts
        ],
    }
    fields = list(DOCUMENT_SCHEMA)
    for key in metadata_keys:
        columns[key] = [t.metadata.get(key) for t in transcripts]
        fields.append(pa.field(key, pa.string()))
    return pa.Table.from_pydict(columns, schema=pa.schema(fields))


def transcripts_from_table(table: pa.Table) -> list[Transcript]:
    """Rebuild transcripts from a documents table (``transcripts_to_table`` undone)."""
    metadata_keys = [
        name for name in table.column_names if name not in DOCUMENT_SCHEMA.names
    ]
    transcripts = []
    for row in table.to_pylist():
        transcripts.append(
            Transcript(
                document_id=row["document_id"],
                source=row["source"],
                format=row["format"],
                text=row["text"],
                encoding=row["encoding"],
                turns=tuple(Turn(**turn) for turn in row["turns"]),
                metadata={k: row[k] for k in metadata_keys if row[k] is not None},
            )
        )
    return transcripts


def segment_metadata(segments: pa.Table, documents: pa.Table):
    """Metadata columns of each segment's document, aligned with ``segments``.

    Returns:
        A pandas DataFrame with one row per segment and one column per
        metadata field (empty columns when documents have no metadata).
    """
    import pandas as pd

    columns = [c for c in documents.column_names if c not in DOCUMENT_SCHEMA.names]
    by_document = (
        documents.select(["document_id", *columns]).to_pandas().set_index("document_id")
    )
    ids = pd.Index(segments.column("document_id").to_pylist())
    return by_document.reindex(ids)[columns].reset_index(drop=True)
