"""The run's tables in one workbook: ``results.xlsx``, a sheet per table.

Sheets have a frozen, bold header row, an auto-filter and column widths that
fit their content (capped, with wrapped text for quotes). A table longer than
Excel's row limit is cut, and the ``about`` sheet says so and names the CSV
or Parquet file that holds all of it.

Written with XlsxWriter in its constant-memory mode, row by row: memory stays
flat however long the tables are (with openpyxl, a 20,000-comment run's
workbook held over 6 GB; see ``benchmarks/README.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

EXCEL_MAX_ROWS = 1_048_575
EXCEL_MAX_CELL = 32_767
INF = float("inf")
MAX_WIDTH = 60
WRAPPED = {
    "text",
    "quote",
    "definition",
    "nearest_human_coded",
    "representative_ids",
    "top_words",
    "flag",
}


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
    import os
    import tempfile

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
        bold = book.add_format({"bold": True})
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        _write_sheet(
            book,
            "about",
            pd.DataFrame({"about": notes or ["Tables of this run."]}),
            bold,
            wrap,
            wrapped={"about"},
        )
        for name, table in sheets.items():
            _write_sheet(
                book, name[:31], table.head(EXCEL_MAX_ROWS), bold, wrap, wrapped=WRAPPED
            )
        book.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_sheet(book, name: str, table: pd.DataFrame, bold, wrap, *, wrapped) -> None:
    """One sheet, row by row: bold frozen header, auto-filter, fitted widths."""
    sheet = book.add_worksheet(name)
    headers = [str(column) for column in table.columns]
    columns = [_cells(table.iloc[:, j]) for j in range(table.shape[1])]
    for j, header in enumerate(headers):
        sample = [len(str(v)) for v in columns[j][:200] if v is not None]
        width = min(MAX_WIDTH, max([len(header), *sample, 6]) + 2)
        sheet.set_column(j, j, width, wrap if header in wrapped else None)
    sheet.freeze_panes(1, 0)
    sheet.write_row(0, 0, headers, bold)
    for i, row in enumerate(zip(*columns, strict=True), start=1):
        sheet.write_row(i, 0, row)
    if headers:
        sheet.autofilter(0, 0, max(len(table), 1), len(headers) - 1)


def _cells(column: pd.Series) -> list:
    """A column as plain Python values: blanks for missing, text cut to Excel's cap."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        values = column.astype(object).where(column.notna(), None).tolist()
        return [
            None if isinstance(v, float) and (v != v or v in (INF, -INF)) else v
            for v in values
        ]
    out = []
    for value in column.tolist():
        if value is None or (isinstance(value, float) and value != value):
            out.append(None)
        elif isinstance(value, str):
            out.append(value[:EXCEL_MAX_CELL])
        elif isinstance(value, (int, float, bool)):
            out.append(value)
        else:
            text = str(value)
            out.append(
                None if text in ("nan", "NaT", "<NA>") else text[:EXCEL_MAX_CELL]
            )
    return out
