"""The readers by file extension: one transcript per file, or a table of answers."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.io.readers.base import ParsedDocument, ReadContext
from pipeline.io.readers.plain import read_plain_text
from pipeline.io.readers.subtitles import read_srt, read_vtt
from pipeline.io.readers.word import read_docx

DocumentReader = Callable[[bytes, ReadContext], ParsedDocument]

DOCUMENT_READERS: dict[str, DocumentReader] = {
    ".txt": read_plain_text,
    ".docx": read_docx,
    ".vtt": read_vtt,
    ".srt": read_srt,
}
"""Extension to reader of one transcript per file."""

TABLE_EXTENSIONS: tuple[str, ...] = (".csv", ".xlsx")
"""Extensions read as tables of free-text answers, one document per row."""

SUPPORTED_EXTENSIONS: tuple[str, ...] = (*DOCUMENT_READERS, *TABLE_EXTENSIONS)
