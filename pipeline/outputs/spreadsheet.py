"""The run's tables in one workbook: ``results.xlsx``, a sheet per table.

Sheets have a frozen, bold header row, an auto-filter and column widths that
fit their content (capped, with wrapped text for quotes). Numbers are stored
as numbers, never as text, and a missing value is an empty cell: coefficients
(kappa, alpha, F1, scores) show as ``0.00``, shares (prevalence, agreement)
as ``0.0%``. A table longer than Excel's row limit is cut, and the ``about``
sheet says so and names the CSV or Parquet file that holds all of it.

Written with XlsxWriter in its constant-memory mode: memory stays flat however
long the tables are (with openpyxl, a 20,000-comment run's workbook held over
6 GB; see ``benchmarks/README.md``). XlsxWriter writes each sheet's header and
last row; the rows between are built by :mod:`pipeline.outputs.sheet_rows`,
byte for byte as XlsxWriter writes them but without its call per cell, and
spliced into the sheet once the file is written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.outputs import sheet_rows

EXCEL_MAX_ROWS = 1_048_575
EXCEL_MAX_CELL = 32_767
INF = float("inf")
MAX_WIDTH = 60
WRAPPED = {
    "text",
    "quote",
    "definition",
    "include",
    "exclude",
    "examples",
    "counter_examples",
    "nearest_human_coded",
    "representative_ids",
    "top_words",
    "flag",
}
COEFFICIENT = "0.00"
SHARE = "0.0%"
NUMBER_FORMATS = {
    **dict.fromkeys(
        [
            "kappa", "kappa_low", "kappa_high", "alpha", "alpha_low", "alpha_high",
            "ac1", "ac1_low", "ac1_high",
            "bp_kappa", "precision", "recall", "f1",
            "score", "auto_score", "max_score", "threshold", "confidence",
            "probability",
        ],
        COEFFICIENT,
    ),
    **dict.fromkeys(
        [
            "prevalence", "prevalence_a", "prevalence_b", "percent_agreement",
            "share", "share_low", "share_high",
        ],
        SHARE,
    ),
}  # fmt: skip
"""Excel number format of a column, by its header."""


def write_workbook(
    path: str | Path,
    sheets: Mapping[str, pd.DataFrame],
    *,
    about: list[str] | None = None,
    cell_by_cell: bool = False,
) -> Path:
    """Write DataFrames as sheets of one ``.xlsx`` (atomically).

    Args:
        path: The workbook to write.
        sheets: Sheet name (at most 31 characters) to table.
        about: Lines for a first ``about`` sheet (what each sheet holds).
        cell_by_cell: Every cell through XlsxWriter's ``write_row`` (the
            same file, four to six times slower: what the spliced rows are
            tested against).

    Returns:
        The path written.
    """
    # heavy: kept out of start-up
    import xlsxwriter

    path = Path(path)
    notes = list(about or [])
    for name, table in sheets.items():
        if len(table) > EXCEL_MAX_ROWS:
            notes.append(
                f"{name}: first {EXCEL_MAX_ROWS:,} of {len(table):,} rows "
                "(the CSV/Parquet file has all)"
            )
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".xlsx")
    os.close(handle)
    rows = tempfile.TemporaryDirectory(dir=path.parent, prefix=".tmp-rows-")
    splices: list[_Splice] = []
    try:
        book = xlsxwriter.Workbook(
            tmp,
            {
                "constant_memory": True,
                "strings_to_urls": False,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
            },
        )
        formats = _Formats(book)
        _write_sheet(
            book,
            "about",
            pd.DataFrame({"about": notes or ["Tables of this run."]}),
            formats,
            wrapped={"about"},
        )
        for name, table in sheets.items():
            splice = _write_sheet(
                book,
                name[:31],
                table.head(EXCEL_MAX_ROWS),
                formats,
                wrapped=WRAPPED,
                rows_dir=None if cell_by_cell else Path(rows.name),
            )
            if splice is not None:
                splices.append(splice)
        book.close()
        if splices:
            _splice_rows(Path(tmp), splices)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        rows.cleanup()
    return path


@dataclass(frozen=True, slots=True)
class _Splice:
    """Rows built outside XlsxWriter, to go into a sheet of the written file.

    Attributes:
        member: The sheet's file in the workbook (``xl/worksheets/sheetN.xml``).
        before: The text the rows go before (the start of the last row,
            which XlsxWriter wrote).
        rows: The file holding the rows' XML (UTF-8).
    """

    member: str
    before: bytes
    rows: Path


def _splice_rows(path: Path, splices: list[_Splice]) -> None:
    """Put each splice's rows into its sheet, rewriting the workbook's zip."""
    import shutil
    import zipfile

    by_member = {splice.member: splice for splice in splices}
    spliced = path.with_name(path.name + ".rows")
    try:
        with (
            zipfile.ZipFile(path) as source,
            zipfile.ZipFile(spliced, "w", zipfile.ZIP_DEFLATED) as target,
        ):
            for info in source.infolist():
                data = source.read(info)
                splice = by_member.pop(info.filename, None)
                if splice is None:
                    target.writestr(info, data)
                    continue
                head, found, tail = data.partition(splice.before)
                if not found:
                    raise ValueError(
                        f"{info.filename}: the sheet's last row is missing"
                    )
                with (
                    target.open(info, "w", force_zip64=True) as out,
                    splice.rows.open("rb") as rows,
                ):
                    out.write(head)
                    shutil.copyfileobj(rows, out, 1 << 20)
                    out.write(found + tail)
        if by_member:
            raise ValueError(f"sheets not in the workbook: {sorted(by_member)}")
        os.replace(spliced, path)
    finally:
        spliced.unlink(missing_ok=True)


class _Formats:
    """The workbook's cell formats, made once (XlsxWriter keeps each it is given).

    Each is given its index in the workbook's styles at once, in a fixed
    order (XlsxWriter would number them as cells first use them), so the
    rows built outside XlsxWriter can name them.
    """

    def __init__(self, book) -> None:
        self.bold = book.add_format({"bold": True})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.numbers = {
            pattern: book.add_format({"num_format": pattern})
            for pattern in sorted(set(NUMBER_FORMATS.values()))
        }
        for made in (self.bold, self.wrap, *self.numbers.values()):
            made._get_xf_index()

    def of_column(self, header: str, column: pd.Series, *, wrapped: set[str]):
        """The format of a column: wrapped text, a number format, or none."""
        if header in wrapped:
            return self.wrap
        pattern = NUMBER_FORMATS.get(header)
        if pattern is not None and pd.api.types.is_numeric_dtype(column):
            return self.numbers[pattern]
        return None


def _write_sheet(
    book,
    name: str,
    table: pd.DataFrame,
    formats: _Formats,
    *,
    wrapped: set[str],
    rows_dir: Path | None = None,
) -> _Splice | None:
    """One sheet: bold frozen header, auto-filter, fitted widths.

    With ``rows_dir``, XlsxWriter writes the header and the last row with a
    cell; the rows between are built by :func:`sheet_rows.sheet_rows` into
    a file there, and the splice returned says where they go. Without it,
    every row goes through XlsxWriter (``None`` is returned).
    """
    sheet = book.add_worksheet(name)
    headers = [str(column) for column in table.columns]
    columns = [_cells(table.iloc[:, j]) for j in range(table.shape[1])]
    column_formats = []
    for j, header in enumerate(headers):
        sample = [len(str(v)) for v in columns[j][:200] if v is not None]
        width = min(MAX_WIDTH, max([len(header), *sample, 6]) + 2)
        column_formats.append(
            formats.of_column(header, table.iloc[:, j], wrapped=wrapped)
        )
        sheet.set_column(j, j, width, column_formats[-1])
    sheet.freeze_panes(1, 0)
    sheet.write_row(0, 0, headers, formats.bold)
    if headers:
        sheet.autofilter(0, 0, max(len(table), 1), len(headers) - 1)
    if rows_dir is None:
        for i, row in enumerate(zip(*columns, strict=True), start=1):
            sheet.write_row(i, 0, row)
        return None
    last = _last_row_with_a_cell(columns)
    if last is None:
        return None
    splice = None
    if last > 0:
        splice = _Splice(
            member=f"xl/worksheets/sheet{sheet.index + 1}.xml",
            before=f'<row r="{last + 2}"'.encode(),
            rows=rows_dir / f"sheet{sheet.index + 1}.xml",
        )
        with splice.rows.open("wb") as out:
            for piece in sheet_rows.sheet_rows(
                [column[:last] for column in columns],
                [None if f is None else f.xf_index for f in column_formats],
                first_row=1,
            ):
                out.write(piece)
    sheet.write_row(last + 1, 0, [column[last] for column in columns])
    return splice


def _last_row_with_a_cell(columns: list[list]) -> int | None:
    """The index of the table's last row with a value that makes a cell."""
    n = len(columns[0]) if columns else 0
    for i in range(n - 1, -1, -1):
        if any(column[i] is not None for column in columns):
            return i
    return None


def _cells(column: pd.Series) -> list:
    """A column as plain Python values for XlsxWriter.

    Numbers stay numbers (NumPy scalars become Python ones: XlsxWriter would
    write an ``int64`` as text), missing values and empty strings become
    empty cells, NaN and infinities too (Excel has no such numbers), and text
    is cut to Excel's cap.
    """
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        values = column.astype(object).where(column.notna(), None).tolist()
        return [_number(v) for v in values]
    if isinstance(column.dtype, pd.StringDtype):
        # only text and missing values: the loop below, without its type tests
        return [
            _excel_text(value) if isinstance(value, str) and value else None
            for value in column.tolist()
        ]
    out = []
    for value in column.tolist():
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or value == "":
            out.append(None)
        elif isinstance(value, str):
            out.append(_excel_text(value))
        elif isinstance(value, (bool, int, float)):
            out.append(_number(value))
        else:
            text = str(value)
            out.append(None if text in ("nan", "NaT", "<NA>") else _excel_text(text))
    return out


def _excel_text(text: str) -> str:
    """Text cut to Excel's cap of 32,767 UTF-16 units (as XlsxWriter cuts it).

    A character beyond the Basic Multilingual Plane (an emoji) is two units,
    and is never split.
    """
    if len(text) <= EXCEL_MAX_CELL // 2:
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > EXCEL_MAX_CELL:
            return text[:index]
    return text


def _number(value):
    """A number as Excel stores it: None for missing, NaN or infinite."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (value != value or value in (INF, -INF)):
        return None
    return value
