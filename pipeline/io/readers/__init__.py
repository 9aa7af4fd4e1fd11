"""Readers of input formats, chosen by file extension from one registry.

A document reader takes the file's bytes and returns a :class:`ParsedDocument`
(normalised text plus speaker turns); a table reader returns one row per
document. Readers raise :class:`~pipeline.errors.InputFormatError` for bad
input; the corpus reader in :mod:`pipeline.io.ingest` quarantines the file and
goes on.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.io.readers.base import ParsedDocument, ReadContext
from pipeline.io.readers.plain import read_plain_text
from pipeline.io.readers.subtitles import read_srt, read_vtt
from pipeline.io.readers.tables import TableRow, read_table
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

__all__ = [
    "DOCUMENT_READERS",
    "SUPPORTED_EXTENSIONS",
    "TABLE_EXTENSIONS",
    "DocumentReader",
    "ParsedDocument",
    "ReadContext",
    "TableRow",
    "read_table",
]
