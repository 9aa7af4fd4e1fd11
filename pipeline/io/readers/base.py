"""What every reader takes and returns."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config.inputs import IngestConfig
from pipeline.io.decode import DecodedText, decode_bytes
from pipeline.records import Turn
from pipeline.text.speakers import Line, SpeakerRules


@dataclass(frozen=True, slots=True)
class ReadContext:
    """Settings a reader needs.

    Attributes:
        source: The file's name relative to the corpus root, for messages.
        config: The ``ingest`` section.
        rules: Compiled speaker rules.

    """

    source: str
    config: IngestConfig
    rules: SpeakerRules


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """A transcript as a reader sees it, before it gets an id and metadata.

    Attributes:
        text: Normalised text (``\\n`` line endings).
        turns: Speaker turns, offsets into ``text``.
        encoding: The encoding of the source.
        notes: Sentences for the user (never transcript text).

    """

    text: str
    turns: tuple[Turn, ...]
    encoding: str = "utf-8"
    notes: tuple[str, ...] = ()


class LineBuilder:
    """Builds normalised text line by line, remembering each line's label.

    Readers of structured formats (Word, subtitles) know the speaker of a
    paragraph or cue from the structure, not from a pattern; they add lines
    here and hand the result to :func:`~pipeline.text.speakers.assemble_turns`.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._position = 0
        self.lines: list[Line] = []

    def add(
        self,
        line_text: str,
        *,
        speaker: str | None = None,
        content_offset: int = 0,
        time: float | None = None,
        time_end: float | None = None,
        confirmed: bool = False,
    ) -> None:
        """Append a line; ``content_offset`` is where the speech starts in it.

        ``confirmed`` marks a speaker known from the document's structure (a
        table column), kept even where a pattern's label would not be.
        """
        if self._parts:
            self._parts.append("\n")
            self._position += 1
        start = self._position
        self._parts.append(line_text)
        self._position += len(line_text)
        self.lines.append(
            Line(
                start=start,
                end=self._position,
                speaker=speaker,
                content_start=start + content_offset if speaker is not None else None,
                time=time,
                time_end=time_end,
                confirmed=confirmed and speaker is not None,
            )
        )

    def add_turn(
        self,
        speech: str,
        *,
        speaker: str | None,
        time: float | None = None,
        time_end: float | None = None,
        confirmed: bool = False,
    ) -> None:
        """Append a line ``Speaker: speech`` (just ``speech`` without a speaker).

        For a speaker known from the document's structure (a table row, a
        subtitle cue); the other arguments are those of :meth:`add`.
        """
        prefix = f"{speaker}: " if speaker is not None else ""
        self.add(
            prefix + speech,
            speaker=speaker,
            content_offset=len(prefix),
            time=time,
            time_end=time_end,
            confirmed=confirmed,
        )

    @property
    def text(self) -> str:
        """The text built so far."""
        return "".join(self._parts)


def decode_transcript(data: bytes, context: ReadContext) -> DecodedText:
    """Decode a transcript file's bytes, refusing lines over the configured limit.

    Raises:
        InputFormatError: The file cannot be decoded as text, or has a line
            longer than ``ingest.limits.max_line_chars``.
    """
    return decode_bytes(
        data, source=context.source, max_line_chars=context.config.limits.max_line_chars
    )
