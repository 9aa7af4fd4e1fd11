"""Plain-text transcripts with speaker labels (``Interviewer: ...``, ``P07: ...``)."""

from __future__ import annotations

from pipeline.io.readers.base import ParsedDocument, ReadContext, decode_transcript
from pipeline.io.readers.labels import confirm_speaker_labels
from pipeline.text.speakers import assemble_turns


def read_plain_text(data: bytes, context: ReadContext) -> ParsedDocument:
    """Read a ``.txt`` transcript.

    Each line that starts with a speaker label (``Interviewer:``, ``P07:``,
    ``nR1-04:``, ``p7 -``, ``[00:03:12] Speaker 2:``, ``Speaker 2  00:03:12``
    on a line of its own, or the configured pattern) starts a turn; other
    lines continue the previous turn, or are the participant's when only the
    interviewer is labelled (see :mod:`pipeline.text.speakers`).

    Args:
        data: The file's bytes.
        context: Source name and settings.

    Returns:
        The normalised text and its turns.

    Raises:
        InputFormatError: The file cannot be decoded as text.

    """
    decoded = decode_transcript(data, context)
    lines = confirm_speaker_labels(
        decoded.text, context.rules.label_text_lines(decoded.text), context.rules
    )
    turns = assemble_turns(decoded.text, lines, context.rules)
    return ParsedDocument(
        text=decoded.text, turns=turns, encoding=decoded.encoding, notes=decoded.notes
    )
