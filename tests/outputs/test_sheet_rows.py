"""The workbook's rows built outside XlsxWriter: the same file as cell by cell."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.outputs.spreadsheet import EXCEL_MAX_CELL, write_workbook

# text with what XlsxWriter escapes or marks: XML's special characters,
# control characters, literal _xHHHH_ escapes, non-characters, leading and
# trailing spaces, XlsxWriter's own rich-string markup, characters beyond
# the Basic Multilingual Plane
TRICKY = [
    "plain",
    "a & b < c > d \"quoted\" 'single'",
    "line\nbreak\ttab",
    "bell\x07 and nul\x00 and \x1f",
    "_x0041_ literal and _x00zz_ not",
    "non\ufffecharacter\uffff",
    " leading",
    "trailing ",
    "<r>rich</r>",
    "emoji 😀 and é",
    "=SUM(A1:A2)",
    "http://example.org",
    "",
]


def members(path) -> dict[str, bytes]:
    """The workbook's files but its creation time."""
    with zipfile.ZipFile(path) as book:
        return {
            name: book.read(name)
            for name in book.namelist()
            if name != "docProps/core.xml"
        }


def assert_same_workbook(tmp_path, sheets: dict[str, pd.DataFrame]) -> None:
    fast = write_workbook(tmp_path / "fast.xlsx", sheets, about=["x"])
    slow = write_workbook(
        tmp_path / "slow.xlsx", sheets, about=["x"], cell_by_cell=True
    )
    fast_members, slow_members = members(fast), members(slow)
    assert list(fast_members) == list(slow_members)
    for name, data in slow_members.items():
        assert fast_members[name] == data, name


def example_table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    words = np.array(TRICKY, dtype=object)
    kappa = rng.normal(size=n)
    kappa[::7] = np.nan
    kappa[3::11] = np.inf
    kappa[5::13] = -0.0
    return pd.DataFrame(
        {
            "document": [f"doc-{i // 5:03d}" for i in range(n)],
            "text": pd.Series(words[rng.integers(0, len(words), n)]).astype("string"),
            "kappa": kappa,
            "prevalence_a": rng.uniform(size=n),
            "n_units": rng.integers(-(10**17), 10**17, n),
            "auto_assigned": rng.integers(0, 2, n).astype(bool),
            "human": pd.Series(
                [[True, None, "x", 1.5, np.int64(4), ""][i % 6] for i in range(n)],
                dtype=object,
            ),
            "code": pd.Categorical(rng.choice(["007", "a&b", "c"], n)),
        }
    )


def test_spliced_rows_make_the_same_workbook_as_xlsxwriter_cell_by_cell(tmp_path):
    table = example_table(500)
    empty_tail = table.astype(object)
    empty_tail.iloc[-40:] = None  # the last rows have no cell: not written
    sheets = {
        "auto codes": table,
        "empty tail": empty_tail,
        "one row": table.head(1),
        "none": table.head(0),
        "codebook": pd.DataFrame({"definition": ["long " * 7000, "x" * 40000]}),
    }
    assert_same_workbook(tmp_path, sheets)


def test_long_text_is_cut_at_excels_limit_in_utf16_units(tmp_path):
    import openpyxl

    emoji = "😀" * (EXCEL_MAX_CELL // 2 + 5)  # two UTF-16 units each
    table = pd.DataFrame({"text": [emoji, "a" * (EXCEL_MAX_CELL + 10), "b"]})
    path = write_workbook(tmp_path / "book.xlsx", {"long": table})
    sheet = openpyxl.load_workbook(path)["long"]
    assert sheet["A2"].value == "😀" * (EXCEL_MAX_CELL // 2)
    assert sheet["A3"].value == "a" * EXCEL_MAX_CELL
    assert sheet["A4"].value == "b"


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.text(max_size=30), st.sampled_from(TRICKY)),
            st.one_of(
                st.none(),
                st.floats(allow_nan=True, allow_infinity=True),
                st.integers(-(10**20), 10**20),
            ),
            st.one_of(st.none(), st.booleans(), st.text(max_size=5)),
        ),
        max_size=40,
    )
)
def test_any_table_gives_the_same_workbook(tmp_path, rows):
    table = pd.DataFrame(rows, columns=["text", "score", "flag"], dtype=object)
    assert_same_workbook(tmp_path, {"sheet": table})
