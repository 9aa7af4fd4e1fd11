"""Plain-text transcripts with speaker labels (``Interviewer: ...``, ``P07: ...``)."""

from __future__ import annotations

from pipeline.decode import decode_bytes
from pipeline.readers.base import ParsedDocument, ReadContext
from pipeline.speakers import assemble_turns, drop_one_off_labels


def read_plain_text(data: bytes, context: ReadContext) -> ParsedDocument:
    """Read a ``.txt`` transcript.

    Each line that starts with a label (``Interviewer:``, ``INT:``, ``P07:``,
    ``[00:03:12] Speaker 2:``, or the configured pattern) starts a turn; other
    lines continue the previous turn.

    Args:
        data: The file's bytes.
        context: Source name and settings.

    Returns:
        The normalised text and its turns.

    Raises:
        InputFormatError: The file cannot be decoded as text.

    """
    decoded = decode_bytes(
        data, source=context.source, max_line_chars=context.config.limits.max_line_chars
    )
    lines = drop_one_off_labels(
        context.rules.label_text_lines(decoded.text), context.rules
    )
    turns = assemble_turns(decoded.text, lines, context.rules)
    notes = (decoded.note,) if decoded.note else ()
    return ParsedDocument(
        text=decoded.text, turns=turns, encoding=decoded.encoding, notes=notes
    )
