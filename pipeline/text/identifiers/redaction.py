"""Redact identifiers and carry offsets over to the redacted text.

``redact`` replaces identifiers with ``[KIND]`` placeholders and returns an
``OffsetMap`` that carries offsets over to the redacted text;
``redact_transcript`` does the same for a transcript and its turns.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

import numpy as np

from pipeline.records import Transcript
from pipeline.text.identifiers.findings import Finding, describe_counts


class Span(NamedTuple):
    """A ``start``/``end`` pair of offsets (end exclusive)."""

    start: int
    end: int


class OffsetMap:
    """Carries offsets of a text over to its redacted version.

    Offsets outside the redacted parts keep their place relative to the text
    around them. An offset strictly inside a redacted part maps to the start
    of its placeholder (``side="left"``) or to its end (``side="right"``).

    Args:
        old_starts: Starts of the redacted parts in the old text, sorted.
        old_ends: Their ends.
        new_starts: Starts of the placeholders in the new text.
        new_ends: Their ends.
        old_length: Length of the old text.

    """

    __slots__ = ("_old_starts", "_old_ends", "_new_starts", "_new_ends", "old_length")

    def __init__(
        self,
        old_starts: Sequence[int],
        old_ends: Sequence[int],
        new_starts: Sequence[int],
        new_ends: Sequence[int],
        *,
        old_length: int,
    ) -> None:
        self._old_starts = np.asarray(old_starts, dtype=np.int64)
        self._old_ends = np.asarray(old_ends, dtype=np.int64)
        self._new_starts = np.asarray(new_starts, dtype=np.int64)
        self._new_ends = np.asarray(new_ends, dtype=np.int64)
        self.old_length = old_length
        sizes = {
            len(self._old_starts),
            len(self._old_ends),
            len(self._new_starts),
            len(self._new_ends),
        }
        if len(sizes) != 1:
            raise ValueError("OffsetMap needs as many starts as ends, old and new")

    @classmethod
    def identity(cls, length: int) -> OffsetMap:
        """The map of a text with nothing redacted."""
        return cls([], [], [], [], old_length=length)

    @property
    def new_length(self) -> int:
        """Length of the redacted text."""
        if not len(self._old_ends):
            return self.old_length
        return int(self.old_length - self._old_ends[-1] + self._new_ends[-1])

    def map(self, offset: int, *, side: Literal["left", "right"] = "left") -> int:
        """Map one offset of the old text to the new text.

        Args:
            offset: ``0 <= offset <= old_length``.
            side: Where an offset strictly inside a redacted part goes: the
                start (``left``) or the end (``right``) of its placeholder.

        Returns:
            The offset in the redacted text.

        Raises:
            ValueError: The offset is outside the old text.
        """
        if not 0 <= offset <= self.old_length:
            raise ValueError(
                f"offset {offset} is outside the text (0 to {self.old_length})"
            )
        # k: how many redacted parts end at or before the offset
        k = bisect.bisect_right(self._old_ends, offset)
        if k < len(self._old_starts) and self._old_starts[k] < offset:
            return int(self._new_starts[k] if side == "left" else self._new_ends[k])
        if k == 0:
            return offset
        return int(offset - self._old_ends[k - 1] + self._new_ends[k - 1])

    def map_many(
        self,
        offsets: Sequence[int] | np.ndarray,
        *,
        side: Literal["left", "right"] = "left",
    ) -> np.ndarray:
        """Map many offsets at once (vectorised ``map``).

        Args:
            offsets: Offsets of the old text, any shape.
            side: As for ``map``.

        Returns:
            An int64 array of the same shape.

        Raises:
            ValueError: An offset is outside the old text.
        """
        values = np.asarray(offsets, dtype=np.int64)
        if values.size and (values.min() < 0 or values.max() > self.old_length):
            raise ValueError(
                f"offsets must lie between 0 and {self.old_length}; got "
                f"{values.min()} to {values.max()}"
            )
        if not len(self._old_starts):
            return values.copy()
        k = np.searchsorted(self._old_ends, values, side="right")
        shift = np.where(
            k > 0, self._new_ends[k - 1] - self._old_ends[k - 1], 0
        ).astype(np.int64)
        mapped = values + shift
        inside_k = np.minimum(k, len(self._old_starts) - 1)
        inside = (k < len(self._old_starts)) & (self._old_starts[inside_k] < values)
        target = self._new_starts if side == "left" else self._new_ends
        return np.where(inside, target[inside_k], mapped)

    def map_span(self, start: int, end: int) -> Span:
        """Map a span; one that overlaps a redacted part covers its placeholder.

        A span that only touches a redacted part (ends where it starts, or
        starts where it ends) does not take in the placeholder.

        Args:
            start: Start of the span in the old text.
            end: Its end (``start <= end``).

        Returns:
            The span in the redacted text.
        """
        if start > end:
            raise ValueError(f"span out of order: start={start}, end={end}")
        return Span(self.map(start, side="left"), self.map(end, side="right"))

    def map_spans(self, spans: Sequence[tuple[int, int]] | np.ndarray) -> np.ndarray:
        """Map many spans at once: an ``(n, 2)`` array of starts and ends."""
        pairs = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        return np.stack(
            [
                self.map_many(pairs[:, 0], side="left"),
                self.map_many(pairs[:, 1], side="right"),
            ],
            axis=1,
        )


@dataclass(frozen=True, slots=True)
class Redacted:
    """A redacted text and the map from the old text's offsets to it."""

    text: str
    offsets: OffsetMap


def placeholder_for(kind: str) -> str:
    """The placeholder that replaces an identifier: ``[PERSON]``, ``[EMAIL]``..."""
    return f"[{kind}]"


def redact(text: str, findings: Iterable[Finding]) -> Redacted:
    """Replace each finding with its kind in square brackets.

    Overlapping findings are redacted as one, with the kind of the first.

    Args:
        text: The text the findings' offsets refer to.
        findings: Where the identifiers are.

    Returns:
        The redacted text and an ``OffsetMap`` from old offsets to new ones.

    Raises:
        ValueError: A finding lies outside the text.
    """
    parts: list[tuple[int, int, str]] = []
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if finding.end > len(text):
            raise ValueError(
                f"finding {finding.kind} at {finding.start}-{finding.end} lies "
                f"outside the text ({len(text)} characters); redact the text the "
                "findings were made on"
            )
        if parts and finding.start < parts[-1][1]:
            last = parts[-1]
            parts[-1] = (last[0], max(last[1], finding.end), last[2])
        else:
            parts.append((finding.start, finding.end, finding.kind))
    pieces: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    position = 0
    length = 0
    for start, end, kind in parts:
        pieces.append(text[position:start])
        length += start - position
        placeholder = placeholder_for(kind)
        new_starts.append(length)
        pieces.append(placeholder)
        length += len(placeholder)
        new_ends.append(length)
        position = end
    pieces.append(text[position:])
    offsets = OffsetMap(
        [p[0] for p in parts],
        [p[1] for p in parts],
        new_starts,
        new_ends,
        old_length=len(text),
    )
    return Redacted(text="".join(pieces), offsets=offsets)


def redact_transcript(
    transcript: Transcript, findings: Iterable[Finding]
) -> Transcript:
    """Return a copy of a transcript with its identifiers replaced by placeholders.

    Turn offsets are carried over, so ``text[turn.start:turn.end]`` is the
    redacted speech; the copy gets a note with the counts per kind.

    Args:
        transcript: The document (left unchanged).
        findings: Its findings; findings of other documents are an error.

    Returns:
        The redacted transcript (the same object when there is nothing to redact).

    Raises:
        ValueError: A finding belongs to another document or lies outside it.
    """
    own = []
    for finding in findings:
        if finding.document_id not in ("", transcript.document_id):
            raise ValueError(
                f"a finding of document {finding.document_id!r} was given to "
                f"redact_transcript for {transcript.document_id!r}; pass only "
                "that document's findings"
            )
        own.append(finding)
    if not own:
        return transcript
    redacted = redact(transcript.text, own)
    turns = []
    for turn in transcript.turns:
        start, end = redacted.offsets.map_span(turn.start, turn.end)
        turns.append(replace(turn, start=start, end=end))
    note = f"anonymise: redacted {len(own)} identifiers ({describe_counts(own)})"
    return replace(
        transcript,
        text=redacted.text,
        turns=tuple(turns),
        notes=(*transcript.notes, note),
    )


def offset_map_to_numbers(offsets: OffsetMap) -> dict:
    """An ``OffsetMap`` as numbers, for ``anonymisation.json``.

    Returns:
        ``old_starts, old_ends, new_starts, new_ends, old_length``; only
        numbers, never text.
    """
    return {
        "old_starts": offsets._old_starts.tolist(),
        "old_ends": offsets._old_ends.tolist(),
        "new_starts": offsets._new_starts.tolist(),
        "new_ends": offsets._new_ends.tolist(),
        "old_length": offsets.old_length,
    }


def offset_map_from(data: Mapping) -> OffsetMap:
    """Rebuild an ``OffsetMap`` from :func:`offset_map_to_numbers`' numbers."""
    return OffsetMap(
        data["old_starts"],
        data["old_ends"],
        data["new_starts"],
        data["new_ends"],
        old_length=int(data["old_length"]),
    )
