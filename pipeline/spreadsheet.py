"""The run's tables in one workbook: ``results.xlsx``, a sheet per table.

Sheets have a frozen, bold header row, an auto-filter and column widths that
fit their content (capped, with wrapped text for quotes). A table longer than
Excel's row limit is cut, and the ``about`` sheet says so and names the CSV
or Parquet file that holds all of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

EXCEL_MAX_ROWS = 1_048_575
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

    from openpyxl.styles import Alignment, Font

    path = Path(path)
    notes = list(about or [])
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".xlsx")
    os.close(handle)
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            pd.DataFrame({"about": notes or ["Tables of this run."]}).to_excel(
                writer, sheet_name="about", index=False
            )
            for name, table in sheets.items():
                if len(table) > EXCEL_MAX_ROWS:
                    notes.append(
                        f"{name}: first {EXCEL_MAX_ROWS:,} of {len(table):,} rows (the CSV/Parquet file has all)"
                    )
                    table = table.head(EXCEL_MAX_ROWS)
                table.to_excel(writer, sheet_name=name[:31], index=False)
            if notes:
                pd.DataFrame({"about": notes}).to_excel(
                    writer, sheet_name="about", index=False
                )
            for sheet in writer.book.worksheets:
                sheet.freeze_panes = "A2"
                if sheet.max_row > 1:
                    sheet.auto_filter.ref = sheet.dimensions
                for cell in sheet[1]:
                    cell.font = Font(bold=True)
                for column in sheet.columns:
                    header = str(column[0].value or "")
                    sample = [
                        len(str(c.value)) for c in column[:200] if c.value is not None
                    ]
                    width = min(MAX_WIDTH, max([len(header), *sample, 6]) + 2)
                    sheet.column_dimensions[column[0].column_letter].width = width
                    if header in WRAPPED or sheet.title == "about":
                        for cell in column[1:]:
                            cell.alignment = Alignment(wrap_text=True, vertical="top")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
