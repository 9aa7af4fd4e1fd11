"""Writing the workbook: rows spliced in against XlsxWriter cell by cell (issue 20).

At 100,000 segments the workbook (``results.xlsx``) holds about 6.9 million
cells; XlsxWriter, pure Python, spent about 7 microseconds on each, and the
workbook's process was the report step's long pole. ``write_workbook`` now
lets XlsxWriter write each sheet's header and last row and builds the rows
between a column at a time (``pipeline.outputs.sheet_rows``).

The script writes the comparison and auto-codes tables of ``csv_write.py``
(``--rows`` rows each, 16 columns in all) as one workbook, through
XlsxWriter's ``write_row`` for every row (the baseline) and with the rows
spliced in, best of ``--repeat`` runs each, in this process; every file in
the two workbooks but their creation time must be byte for byte the same,
or the script fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import Figure, Results  # noqa: E402
from benchmarks.csv_write import best_of, tables  # noqa: E402
from pipeline.outputs.spreadsheet import write_workbook  # noqa: E402


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as book:
        return {
            name: book.read(name)
            for name in book.namelist()
            if name != "docProps/core.xml"  # the time it was made
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    results = Results("workbook_write")
    sheets = tables(args.rows)
    cells = sum(table.size for table in sheets.values())
    with tempfile.TemporaryDirectory() as tmp:
        by_cell = Path(tmp) / "by_cell.xlsx"
        spliced = Path(tmp) / "spliced.xlsx"
        baseline = best_of(
            args.repeat, lambda: write_workbook(by_cell, sheets, cell_by_cell=True)
        )
        seconds = best_of(args.repeat, lambda: write_workbook(spliced, sheets))
        if members(by_cell) != members(spliced):
            raise SystemExit("the spliced workbook differs from XlsxWriter's")
        size = spliced.stat().st_size / 2**20
    results.add(
        Figure(
            f"workbook, 2 sheets of {args.rows:,} rows ({cells:,} cells, "
            f"{size:.0f} MB): rows spliced in",
            seconds,
            "s",
            "XlsxWriter cell by cell",
            baseline,
            higher_is_better=False,
            note="the same files in the workbook",
        )
    )
    results.save()


if __name__ == "__main__":
    main()
