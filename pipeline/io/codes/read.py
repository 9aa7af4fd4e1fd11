"""Human codes in: long CSV, wide CSV/XLSX, REFI-QDA projects; checked up front.

The format is chosen from the file's extension and columns (see
:mod:`pipeline.io.codes.tables` and :mod:`pipeline.io.codes.qdpx`). A code is
matched to the codebook as written, by name, or ignoring case, spacing and
punctuation (see :mod:`pipeline.io.codes.matching`). Every row is accounted
for: it becomes a :class:`~pipeline.io.codes.records.CodeAssignment`, or an
:class:`~pipeline.io.codes.records.UnusedCode` with the reason (unknown
document, unknown or ambiguous code, offsets out of range, quote not found or
ambiguous).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.coding.codebook_records import Codebook
from pipeline.errors import CodesError
from pipeline.io.codes.matching import CodeMatcher
from pipeline.io.codes.qdpx import read_qdpx, unknown_project_codes
from pipeline.io.codes.records import CodesImport
from pipeline.io.codes.tables import (
    read_frame,
    read_long,
    read_wide,
    unknown_table_codes,
)


def read_codes(
    path: str | Path,
    *,
    codebook: Codebook,
    documents: Mapping[str, str],
    id_column: str | None = None,
    offset_maps: Mapping | None = None,
    include_auto_coders: bool = False,
) -> CodesImport:
    """Read human codes and check them against the codebook and the documents.

    Args:
        path: A ``.csv``, ``.xlsx`` or ``.qdpx`` file.
        codebook: The codebook (codes match as written, by name, or ignoring
            case, spacing and punctuation).
        documents: Document id to normalised text.
        id_column: For a wide table: its document id column (default
            ``document_id``, else the first column).
        offset_maps: Document id to an ``OffsetMap`` of its redaction (see
            :mod:`pipeline.text.identifiers.redaction`): offsets in the codes
            file refer to the original text and are carried over to the
            redacted one.
        include_auto_coders: Read the codings of auto-coder users of a
            ``.qdpx`` this tool exported as well (by default they are skipped,
            with a note: they are not human codes).

    Returns:
        The usable codes and the unused rows with reasons.

    Raises:
        CodesError: The file is missing or has none of the expected layouts.
    """
    path = Path(path)
    if not path.is_file():
        raise CodesError(f"{path}: codes file not found")
    suffix = path.suffix.lower()
    if suffix == ".qdpx":
        return read_qdpx(
            path, codebook, documents, offset_maps or {}, include_auto_coders
        )
    frame = read_frame(path)
    columns = {c.lower(): c for c in frame.columns}
    if "code" in columns:
        return read_long(path, frame, columns, codebook, documents, offset_maps or {})
    return read_wide(path, frame, codebook, documents, id_column)


def unknown_codes(path: str | Path, codebook: Codebook) -> dict[str, list[str]]:
    """Codes a codes file uses that the codebook does not have, with where they are.

    A check to run before a run or a training: a code missing from the
    codebook is usually a typo or the wrong codebook. A code matches as
    written, by name or ignoring case, spacing and punctuation (see
    :meth:`~pipeline.coding.codebook_records.Codebook.match`); one that could be
    two codes counts as missing. Wide tables are not checked (their unmatched columns
    are simply not codes), nor the codings of an auto-coder in a ``.qdpx``
    this tool exported.

    Returns:
        Code as written to the places (``row 3``, ``coding 12``) using it.

    Raises:
        CodesError: The file cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise CodesError(f"{path}: codes file not found")
    matcher = CodeMatcher(codebook)
    if path.suffix.lower() == ".qdpx":
        return unknown_project_codes(path, matcher)
    return unknown_table_codes(path, matcher)
