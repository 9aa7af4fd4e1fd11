"""The run's tables in one workbook: ``results.xlsx``, a sheet per table.

Sheets have a frozen, bold header row, an auto-filter and column widths that
fit their content (capped, with wrapped text for quotes). Numbers are stored
as numbers, never as text, and a missing value is an empty cell: coefficients
(kappa, alpha, F1, scores) show as ``0.00``, shares (prevalence, agreement)
as ``0.0%``. A table longer than Excel's row limit is cut, and the ``about``
sheet says so and names the CSV or Parquet file that holds all of it.

Written with XlsxWriter in its constant-memory mode, row by row: memory stays
flat however long the tables are (with openpyxl, a 20,000-comment run's
workbook held over 6 GB; see ``benchmarks/README.md``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

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
) -> Path:
    """Write DataFrames as sheets of one ``.xlsx`` (atomically).

    Args:
        path: The workbook to write.
        sheets: Sheet name (at most 31 characters) to table.
        about: Lines for a first ``about`` sheet (what each sheet holds).

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
            _write_sheet(
                book, name[:31], table.head(EXCEL_MAX_ROWS), formats, wrapped=WRAPPED
            )
        book.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


PROCESS_FROM_CELLS = 200_000
"""A workbook of this many cells or more is written in a second process.

XlsxWriter is pure Python (about 7 microseconds a cell on one core): 200,000
cells are 1-2 s, about what a new process takes to start and receive the
tables; a 100,000-segment run's 6.9 million cells are most of a minute.
"""


def start_workbook(
    path: str | Path,
    sheets: Mapping[str, pd.DataFrame],
    *,
    about: list[str] | None = None,
) -> Callable[[], Path]:
    """Start writing the workbook; the function returned waits for it.

    A workbook of :data:`PROCESS_FROM_CELLS` cells or more, on a machine
    with two or more CPUs, is written by :func:`write_workbook` in a second
    process, so the rest of the report is written meanwhile; a smaller one
    is written before this returns. Either way the file is the same.

    Returns:
        A function that waits for the workbook and returns its path (and
        raises what writing it raised).
    """
    cells = sum(table.size for table in sheets.values())
    if cells < PROCESS_FROM_CELLS or (os.cpu_count() or 1) < 2:
        written = write_workbook(path, sheets, about=about)
        return lambda: written
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    future = pool.submit(write_workbook, Path(path), dict(sheets), about=about)
    pool.shutdown(wait=False)  # the process ends once the workbook is written
    return future.result


class _Formats:
    """The workbook's cell formats, made once (XlsxWriter keeps each it is given)."""

    def __init__(self, book) -> None:
        self.bold = book.add_format({"bold": True})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.numbers = {
            pattern: book.add_format({"num_format": pattern})
            for pattern in set(NUMBER_FORMATS.values())
        }

    def of_column(self, header: str, column: pd.Series, *, wrapped: set[str]):
        """The format of a column: wrapped text, a number format, or none."""
        if header in wrapped:
            return self.wrap
        pattern = NUMBER_FORMATS.get(header)
        if pattern is not None and pd.api.types.is_numeric_dtype(column):
            return self.numbers[pattern]
        return None


def _write_sheet(
    book, name: str, table: pd.DataFrame, formats: _Formats, *, wrapped: set[str]
) -> None:
    """One sheet, row by row: bold frozen header, auto-filter, fitted widths."""
    sheet = book.add_worksheet(name)
    headers = [str(column) for column in table.columns]
    columns = [_cells(table.iloc[:, j]) for j in range(table.shape[1])]
    for j, header in enumerate(headers):
        sample = [len(str(v)) for v in columns[j][:200] if v is not None]
        width = min(MAX_WIDTH, max([len(header), *sample, 6]) + 2)
        sheet.set_column(
            j, j, width, formats.of_column(header, table.iloc[:, j], wrapped=wrapped)
        )
    sheet.freeze_panes(1, 0)
    sheet.write_row(0, 0, headers, formats.bold)
    for i, row in enumerate(zip(*columns, strict=True), start=1):
        sheet.write_row(i, 0, row)
    if headers:
        sheet.autofilter(0, 0, max(len(table), 1), len(headers) - 1)


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
        # (a second of the 100,000-segment workbook's minute)
        return [
            value[:EXCEL_MAX_CELL] if isinstance(value, str) and value else None
            for value in column.tolist()
        ]
    out = []
    for value in column.tolist():
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or value == "":
            out.append(None)
        elif isinstance(value, str):
            out.append(value[:EXCEL_MAX_CELL])
        elif isinstance(value, (bool, int, float)):
            out.append(_number(value))
        else:
            text = str(value)
            out.append(
                None if text in ("nan", "NaT", "<NA>") else text[:EXCEL_MAX_CELL]
            )
    return out


def _number(value):
    """A number as Excel stores it: None for missing, NaN or infinite."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (value != value or value in (INF, -INF)):
        return None
    return value
