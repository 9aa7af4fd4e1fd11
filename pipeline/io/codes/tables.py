"""Human codes from tables: long CSV, and wide CSV or XLSX.

- **long CSV**: ``document_id,code`` plus optional ``start,end`` (offsets into
  the normalised text), ``coder`` and ``text`` (the coded quote). With a quote
  but no offsets, the quote is located in the document (exactly, else with
  white space made flexible); a quote found twice or not at all is reported.
  With neither, the code applies to the whole document.
- **wide CSV/XLSX**: a document id column and one column per code holding 1 (or
  ``x``, ``yes``, ``true``) or blank, as in the NHS feedback file; columns are
  matched to codes through the codebook's ``columns`` lists, ids or names.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

from pipeline.coding.codebook_records import MATCH_RULES, Codebook, CodeMatch
from pipeline.errors import CodesError, InputFormatError
from pipeline.io.codes.matching import CodeMatcher, make_import
from pipeline.io.codes.records import (
    DEFAULT_CODER,
    CodeAssignment,
    CodesImport,
    MatchedCode,
    UnusedCode,
)
from pipeline.io.decode import decode_bytes

_TRUE = {"1", "1.0", "x", "yes", "y", "true", "t"}


def read_frame(path: Path):
    """Read a CSV (any common encoding) or XLSX codes file as text columns.

    Raises:
        CodesError: The file is not a readable table.
    """
    # heavy: kept out of start-up
    import pandas as pd

    try:
        if path.suffix.lower() == ".xlsx":
            frame = pd.read_excel(path, dtype=str, engine="openpyxl").fillna("")
        else:
            text = decode_bytes(path.read_bytes(), source=str(path)).text
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except InputFormatError as error:
        raise CodesError(str(error)) from error
    except Exception as error:  # pandas/openpyxl raise many types for bad files
        raise CodesError(
            f"{path}: not a readable table ({type(error).__name__}: {error})"
        ) from error
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def read_long(path, frame, columns, codebook, documents, offset_maps) -> CodesImport:
    """Read a long table: one code per row (see the module docstring).

    Args:
        path: The file read.
        frame: Its table (:func:`read_frame`).
        columns: Lower-cased column name to the column.
        codebook: The codebook.
        documents: Document id to normalised text.
        offset_maps: Document id to the ``OffsetMap`` of its redaction.

    Returns:
        The usable codes and the unused rows with reasons.
    """
    document_column = columns.get("document_id") or columns.get("document")
    if document_column is None:
        raise CodesError(
            f"{path}: a long codes file needs a document_id column beside 'code'; "
            f"columns are: {', '.join(frame.columns)}"
        )
    code_column = columns["code"]
    start_column, end_column = columns.get("start"), columns.get("end")
    text_column = columns.get("text") or columns.get("quote")
    coder_column = columns.get("coder")
    matcher = CodeMatcher(codebook)
    assignments, unused = [], []
    for number, row in enumerate(frame.to_dict(orient="records"), start=1):
        origin = f"{path.name}:row {number}"
        document_id = str(row[document_column]).strip()
        code_ref = str(row[code_column]).strip()
        coder = str(row[coder_column]).strip() if coder_column else ""
        coder = coder or DEFAULT_CODER
        found = matcher.match(code_ref)
        if found is None:
            unused.append(UnusedCode(origin, matcher.unknown(code_ref)))
            continue
        code = found.code
        if document_id not in documents:
            unused.append(UnusedCode(origin, f"unknown document: {document_id!r}"))
            continue
        text = documents[document_id]
        start_value = str(row[start_column]).strip() if start_column else ""
        end_value = str(row[end_column]).strip() if end_column else ""
        if start_value or end_value:
            try:
                start, end = int(float(start_value)), int(float(end_value))
                if document_id in offset_maps and 0 <= start < end:
                    start, end = offset_maps[document_id].map_span(start, end)
            except ValueError:
                unused.append(
                    UnusedCode(
                        origin, f"bad offsets: start={start_value!r}, end={end_value!r}"
                    )
                )
                continue
            if not 0 <= start < end <= len(text):
                unused.append(
                    UnusedCode(
                        origin,
                        f"offsets out of range: {start}-{end} in a document of "
                        f"{len(text)} characters",
                    )
                )
                continue
            assignments.append(
                CodeAssignment(document_id, code, coder, start, end, origin)
            )
            continue
        quote = str(row[text_column]).strip() if text_column else ""
        if quote:
            span, problem = locate_quote(text, quote)
            if span is None:
                unused.append(UnusedCode(origin, problem))
                continue
            assignments.append(
                CodeAssignment(document_id, code, coder, span[0], span[1], origin)
            )
            continue
        assignments.append(CodeAssignment(document_id, code, coder, None, None, origin))
    return make_import(assignments, unused, str(path), "long", matcher=matcher)


def locate_quote(text: str, quote: str) -> tuple[tuple[int, int] | None, str]:
    """Find a coded quote in a document.

    Exact matches first; then a match where any run of white space in the quote
    matches any run of white space in the text (quotes copied from a report
    often differ in line breaks).

    Returns:
        ``((start, end), "")`` when the quote occurs once, else ``(None, reason)``.
    """
    count = text.count(quote)
    if count == 1:
        start = text.index(quote)
        return (start, start + len(quote)), ""
    if count > 1:
        return None, f"ambiguous quote: it occurs {count} times in the document"
    words = quote.split()
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    matches = list(pattern.finditer(text))
    if len(matches) == 1:
        return (matches[0].start(), matches[0].end()), ""
    if len(matches) > 1:
        return None, f"ambiguous quote: it occurs {len(matches)} times in the document"
    return None, "quote not found in the document"


def read_wide(path, frame, codebook, documents, id_column) -> CodesImport:
    """Read a wide table: one column per code (see the module docstring).

    Args:
        path: The file read.
        frame: Its table (:func:`read_frame`).
        codebook: The codebook.
        documents: Document id to normalised text.
        id_column: The document id column, or None for ``document_id`` or
            ``id``, else the first column.

    Returns:
        The usable codes and the unused rows with reasons.

    Raises:
        CodesError: No id column, or no column matches a code.
    """
    columns = list(frame.columns)
    if id_column is None:
        id_column = next(
            (c for c in columns if c.lower() in ("document_id", "id")), columns[0]
        )
    if id_column not in columns:
        raise CodesError(
            f"{path}: id column {id_column!r} not found; columns are: "
            + ", ".join(columns)
        )
    matches = _column_matches(columns, codebook)
    mapping = {column: found.code for column, found in matches.items()}
    if not mapping:
        raise CodesError(
            f"{path}: no column matches a code of the codebook (by its 'columns' "
            "list, id or name), and there is no 'code' column for the long layout"
        )
    # heavy: kept out of start-up
    import numpy as np

    applies = {column: _applies(frame[column]) for column in mapping}
    codes = list(mapping.values())
    marked = np.column_stack(list(applies.values()))
    ids = frame[id_column].tolist()
    assignments, unused = [], []
    # only the rows that mark a code: a row per document of a large survey
    for index in np.flatnonzero(marked.any(axis=1)).tolist():
        origin = f"{path.name}:row {index + 1}"
        document_id = str(ids[index]).strip()
        positives = sorted({codes[k] for k in np.flatnonzero(marked[index]).tolist()})
        if document_id not in documents:
            unused.append(UnusedCode(origin, f"unknown document: {document_id!r}"))
            continue
        for code in positives:
            assignments.append(
                CodeAssignment(document_id, code, DEFAULT_CODER, None, None, origin)
            )
    notes = [
        f"{len(mapping)} code columns read: {', '.join(sorted(set(mapping.values())))}"
    ]
    loose = [
        f"{column!r} -> {codebook.label(found.code)} ({MATCH_RULES[found.rule]})"
        for column, found in matches.items()
        if found.rule != "exact"
    ]
    if loose:
        notes.append(
            f"{len(loose)} code column(s) matched not as the codebook writes the "
            f"code: {'; '.join(loose)}"
        )
    matched = tuple(
        MatchedCode(
            column,
            found.code,
            found.rule,
            int(applies[column].sum()),
        )
        for column, found in matches.items()
    )
    return make_import(assignments, unused, str(path), "wide", notes, matched=matched)


def _applies(column):
    """Which rows of a wide table's code column give the code (a value in ``_TRUE``).

    Each distinct value is tested once (a survey of 100,000 rows and 32 codes
    has a handful), then the column is matched against those that give it.

    Returns:
        A NumPy array of booleans, a row each.
    """
    distinct = column.dropna().unique()
    yes = [value for value in distinct if str(value).strip().lower() in _TRUE]
    return column.isin(yes).to_numpy(dtype=bool)


def wide_column_mapping(columns: Sequence[str], codebook: Codebook) -> dict[str, str]:
    """Match table columns to code ids: the codebook's ``columns`` lists, then codes.

    A column named in a code's ``columns`` list is that code; any other
    column is matched as a code is (as written, by name, normalised).
    """
    return {
        column: found.code
        for column, found in _column_matches(columns, codebook).items()
    }


def _column_matches(columns: Sequence[str], codebook: Codebook) -> dict[str, CodeMatch]:
    """Each column that is a code, and how it matched (a ``columns`` list: exact)."""
    matches: dict[str, CodeMatch] = {}
    listed = {column for code in codebook.codes for column in code.columns}
    for code in codebook.codes:
        for column in code.columns:
            if column in columns:
                matches[column] = CodeMatch(code.id, "exact")
    for column in columns:
        if column in matches or column in listed:
            continue
        found = codebook.match(column)
        if found is not None and not codebook[found.code].columns:
            matches[column] = found
    return matches


def unknown_table_codes(path: Path, matcher: CodeMatcher) -> dict[str, list[str]]:
    """Codes of a long table's ``code`` column that match no code, with their rows.

    A wide table is not checked: its unmatched columns are simply not codes.
    """
    missing: dict[str, list[str]] = {}
    frame = read_frame(path)
    columns = {c.lower(): c for c in frame.columns}
    if "code" not in columns:
        return missing
    for number, value in enumerate(frame[columns["code"]].tolist(), start=1):
        value = str(value).strip()
        if matcher.match(value) is None:
            missing.setdefault(value, []).append(f"row {number}")
    return missing
