"""Word (``.docx``) transcripts: labels in the text, in bold, or in a table.

The normalised text is one line per paragraph (and per table row, written as
``Speaker: text``), joined with ``\\n``. A speaker label is found, in order:

1. as leading bold text that reads as a label (``**Interviewer**`` or
   ``**Interviewer:**`` followed by the speech);
2. by the label pattern, as in ``.txt`` files;
3. in a table, from a column headed *Speaker* (or the first column) and a
   column headed *Text*/*Transcript*/*Speech* (or the last column).
"""

from __future__ import annotations

import io
import zipfile

from pipeline.errors import InputFormatError
from pipeline.io.readers.base import LineBuilder, ParsedDocument, ReadContext
from pipeline.io.readers.labels import confirm_speaker_labels
from pipeline.io.readers.office import check_office_archive
from pipeline.text.speakers import SpeakerRules, assemble_turns

_TEXT_HEADERS = ("text", "transcript", "speech", "utterance", "content", "dialogue")
_MAX_BOLD_LABEL_CHARS = 60


def read_docx(data: bytes, context: ReadContext) -> ParsedDocument:
    """Read a ``.docx`` transcript.

    Args:
        data: The file's bytes.
        context: Source name and settings.

    Returns:
        The normalised text and its turns.

    Raises:
        InputFormatError: The file is not a Word document or its XML is broken.

    """
    # heavy: kept out of start-up
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InputFormatError(
            f"{context.source}: not a .docx file (a .docx is a ZIP archive; "
            "this is not one). "
            "Save it from Word as .docx, or rename it if it is plain text"
        )
    check_office_archive(data, source=context.source, limits=context.config.limits)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except (KeyError, ValueError, zipfile.BadZipFile) as error:
        raise InputFormatError(
            f"{context.source}: not a readable Word document "
            f"({type(error).__name__}: {error})"
        ) from error
    except Exception as error:  # lxml's XMLSyntaxError and friends
        if type(error).__module__.startswith("lxml"):
            raise InputFormatError(
                f"{context.source}: the document's XML is broken ({error}); "
                "open and re-save it in Word"
            ) from error
        raise
    builder = LineBuilder()
    for block in blocks:
        if isinstance(block, Paragraph):
            _add_paragraph(builder, block, context.rules)
        elif isinstance(block, Table):
            _add_table(builder, block)
    text = builder.text
    limit = context.config.limits.max_line_chars
    for line in builder.lines:
        if line.end - line.start > limit:
            raise InputFormatError(
                f"{context.source}: a paragraph has {line.end - line.start:,} "
                f"characters, over the limit of {limit:,} "
                "(ingest.limits.max_line_chars)"
            )
    lines = confirm_speaker_labels(text, builder.lines, context.rules)
    return ParsedDocument(text=text, turns=assemble_turns(text, lines, context.rules))


def _add_paragraph(builder: LineBuilder, paragraph, rules: SpeakerRules) -> None:
    text = paragraph.text
    bold = _leading_bold_text(paragraph)
    label = bold.strip().rstrip(":").strip()
    rest = text[len(bold) :] if text.startswith(bold) else ""
    if label and len(label) <= _MAX_BOLD_LABEL_CHARS and rest.strip():
        probe = rules.match_label(label + ": ", 0, len(label) + 2)
        if probe.speaker == label:
            offset = len(bold)
            while offset < len(text) and (
                text[offset].isspace() or text[offset] == ":"
            ):
                offset += 1
            builder.add(text, speaker=label, content_offset=offset)
            return
    line = rules.match_label(text, 0, len(text))
    if line.speaker is not None:
        builder.add(
            text,
            speaker=line.speaker,
            content_offset=line.content_start,
            time=line.time,
        )
    else:
        builder.add(text)


def _leading_bold_text(paragraph) -> str:
    """Return the text of the bold runs that open a paragraph ('' if none)."""
    from docx.text.run import Run  # heavy: kept out of start-up

    parts = []
    for item in paragraph.iter_inner_content():
        if not isinstance(item, Run):
            break
        run_text = item.text
        if not run_text:
            continue
        bold = item.bold
        if bold is None and item.style is not None and item.style.font is not None:
            bold = item.style.font.bold
        if bold:
            parts.append(run_text)
        elif run_text.strip():
            break
        elif parts:
            parts.append(run_text)
    return "".join(parts)


def _add_table(builder: LineBuilder, table) -> None:
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    if not rows:
        return
    speaker_column, text_column = 0, len(rows[0]) - 1
    header = [cell.strip().casefold() for cell in rows[0]]
    has_header = any(h in ("speaker", "name", "who") for h in header)
    if has_header:
        speaker_column = next(
            i for i, h in enumerate(header) if h in ("speaker", "name", "who")
        )
        text_column = next(
            (i for i, h in enumerate(header) if h in _TEXT_HEADERS), len(header) - 1
        )
        rows = rows[1:]
    for cells in rows:
        if len(cells) < 2 or speaker_column == text_column:
            builder.add(" ".join(c.strip() for c in cells))
            continue
        speaker = " ".join(cells[speaker_column].split())
        speech = cells[text_column].strip()
        if speaker and speech:
            builder.add_turn(speech, speaker=speaker, confirmed=True)
        elif speech:
            builder.add(speech)
