"""A sheet's rows as XlsxWriter writes them, built without a call per cell.

XlsxWriter is pure Python: each cell of a 100,000-segment run's workbook
(6.9 million of them) goes through its type dispatch, dimension checks, cell
tuple, escaping and XML writer, about 7 microseconds a cell on one core, most
of a minute. A table's cells, though, are of few kinds (text, number, true or
false, empty), each column has one format, and a text repeated down a column
(a code's name, a document's id) needs escaping once. This module builds the
``<row>`` elements of a sheet in its constant-memory mode byte for byte as
XlsxWriter would write them (tested against it on generated tables), a column
at a time: :mod:`pipeline.outputs.spreadsheet` lets XlsxWriter write a sheet's
header and its last row (so it keeps the sheet's dimensions, formats and
every other part of the file) and splices these rows between them.

The cells come from ``spreadsheet._cells``: ``None`` (an empty cell: not
written), ``bool``, ``int`` or ``float`` (finite), or ``str`` (not empty, at
most Excel's 32,767 UTF-16 units).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

ROWS_PER_CHUNK = 20_000
"""Rows joined into one piece of text before it is written out."""

# XlsxWriter's escapes of text in an inline string (its ``xmlwriter`` and
# ``utility`` modules): a literal _xHHHH_ gets its underscore escaped, then
# control characters become _xHHHH_, and the two non-characters too
_ESCAPED_LITERAL = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_LEADING_SPACE = re.compile(r"^\s")
_TRAILING_SPACE = re.compile(r"\s$")


def text_cell(text: str, style: str) -> str:
    """The rest of an inline-string cell after ``<c r="A2"``."""
    text = _ESCAPED_LITERAL.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda match: f"_x{ord(match.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    if text.startswith("<r>") and text.endswith("</r>"):
        # XlsxWriter takes such a string for its own rich-string markup
        return f'{style} t="inlineStr"><is>{text}</is></c>'
    space = (
        ' xml:space="preserve"'
        if _LEADING_SPACE.search(text) or _TRAILING_SPACE.search(text)
        else ""
    )
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def column_cells(values: Sequence, xf_index: int | None) -> list[str | None]:
    """Each value's cell, without its ``<c r="A2"`` (``None``: no cell).

    Args:
        values: The column's cells (see the module's docstring).
        xf_index: The column format's index in the workbook's styles, if any.
    """
    style = f' s="{xf_index}"' if xf_index else ""
    texts: dict[str, str] = {}
    out: list[str | None] = []
    for value in values:
        kind = value.__class__
        if value is None:
            out.append(None)
        elif kind is str:
            cell = texts.get(value)
            if cell is None:
                cell = texts[value] = text_cell(value, style)
            out.append(cell)
        elif kind is bool:
            out.append(f'{style} t="b"><v>{1 if value else 0}</v></c>')
        else:
            out.append(f"{style}><v>{value:.16G}</v></c>")
    return out


def sheet_rows(
    columns: Sequence[Sequence],
    xf_indices: Sequence[int | None],
    *,
    first_row: int,
) -> Iterator[bytes]:
    """The ``<row>`` elements of a block of rows, in UTF-8 pieces.

    Args:
        columns: The block's cells, a list per column (all of one length).
        xf_indices: Each column's format index (``None``: no format).
        first_row: The sheet row (0-based, as XlsxWriter counts) of the
            block's first row.

    A row with no cell is not written, as XlsxWriter does not write it.
    """
    from xlsxwriter.utility import xl_col_to_name  # heavy: kept out of start-up

    letters = [xl_col_to_name(j) for j in range(len(columns))]
    cells = [
        column_cells(column, xf) for column, xf in zip(columns, xf_indices, strict=True)
    ]
    n = len(cells[0]) if cells else 0
    for start in range(0, n, ROWS_PER_CHUNK):
        pieces = []
        for i in range(start, min(n, start + ROWS_PER_CHUNK)):
            number = str(first_row + i + 1)
            row = [
                f'<c r="{letter}{number}"{cell}'
                for letter, column in zip(letters, cells)
                if (cell := column[i]) is not None
            ]
            if row:
                pieces.append(f'<row r="{number}">{"".join(row)}</row>')
        yield "".join(pieces).encode("utf-8")
