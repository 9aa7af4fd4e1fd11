"""The fast CSV writer writes the bytes pandas writes, for every table."""

from __future__ import annotations

import codecs
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.store.csv_writer import _supported, write_csv
from pipeline.store.run_folder import RunFolder


def pandas_bytes(frame: pd.DataFrame, *, header: bool = True) -> bytes:
    stream = io.BytesIO()
    frame.to_csv(stream, index=False, header=header, encoding="utf-8")
    return stream.getvalue()


def fast_bytes(frame: pd.DataFrame, *, header: bool = True, block_rows=3) -> bytes:
    stream = io.BytesIO()
    write_csv(frame, stream, header=header, block_rows=block_rows)
    return stream.getvalue()


# what a transcript, a code name or a note may hold: the csv module's special
# characters, quotes, line ends, accents and typographic punctuation
TEXT = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "nan", "None", "NA", "#", "\\", "'"]),
    st.text(alphabet=st.sampled_from(list('ab ,"\r\n\té’–\\;')), max_size=8),
    st.text(max_size=6),
)
FLOAT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-5, 1e16, 1e22, 0.1, 1 / 3, 5e-324, 100.0]),
)


@st.composite
def tables(draw) -> pd.DataFrame:
    rows = draw(st.integers(0, 9))
    kinds = draw(
        st.lists(
            st.sampled_from(
                [
                    *["str", "object", "category", "float", "float32"],
                    *["int", "bool", "Int64", "boolean"],
                ]
            ),
            min_size=2,
            max_size=6,
        )
    )
    columns = {}
    for i, kind in enumerate(kinds):
        if kind in ("str", "object", "category"):
            values = draw(st.lists(TEXT, min_size=rows, max_size=rows))
            dtype = {"str": "str", "object": object, "category": "category"}[kind]
            column = pd.Series(values, dtype=dtype)
        elif kind.startswith("float"):
            values = draw(st.lists(FLOAT, min_size=rows, max_size=rows))
            with np.errstate(over="ignore"):  # too large for float32: inf
                column = pd.Series(np.array(values, dtype=kind))
        elif kind == "int":
            ints = st.integers(-(2**63), 2**63 - 1)
            values = draw(st.lists(ints, min_size=rows, max_size=rows))
            column = pd.Series(np.array(values, dtype="int64"))
        elif kind == "bool":
            values = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
            column = pd.Series(np.array(values, dtype=bool))
        else:
            value = st.integers(-1000, 1000) if kind == "Int64" else st.booleans()
            values = draw(st.lists(st.none() | value, min_size=rows, max_size=rows))
            column = pd.Series(pd.array(values, dtype=kind))
        name = draw(st.sampled_from(["code", "a,b", 'say "x"', "é", ""])) + str(i)
        columns[name] = column
    return pd.DataFrame(columns)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=tables(), header=st.booleans(), block_rows=st.integers(1, 4))
def test_bytes_are_those_pandas_writes(frame, header, block_rows):
    assert _supported(frame)  # the fast path is the one under test
    expected = pandas_bytes(frame, header=header)
    assert fast_bytes(frame, header=header, block_rows=block_rows) == expected


def test_text_held_by_arrow_in_several_pieces():
    piece = pd.DataFrame({"text": pd.Series(["a,b", None], dtype="str"), "n": 1})
    frame = pd.concat([piece, piece.iloc[::-1], piece], ignore_index=True)
    assert _supported(frame)
    assert fast_bytes(frame, block_rows=4) == pandas_bytes(frame)


@pytest.mark.parametrize(
    "frame",
    [
        # a lone column: the csv module quotes a row's only empty value
        pd.DataFrame({"note": ["", None, "x"]}),
        # objects that are not strings are written as pandas writes them
        pd.DataFrame({"a": pd.Series([True, None, 1.5], dtype=object), "b": 1}),
        pd.DataFrame({"day": pd.to_datetime(["2026-01-02", None]), "n": [1, 2]}),
        pd.DataFrame({"c": pd.Categorical([1.5, None]), "n": [1, 2]}),
        pd.DataFrame([[1, 2]], columns=["same", "same"]),
        pd.DataFrame(),
    ],
)
def test_other_tables_are_written_by_pandas(frame):
    assert not _supported(frame)
    assert fast_bytes(frame) == pandas_bytes(frame)


def test_run_folder_writes_the_mark_once_and_the_rows_as_pandas(tmp_path):
    frame = pd.DataFrame({"text": ["é, “quoted”", None], "score": [0.5, np.nan]})
    folder = RunFolder(tmp_path)

    with_mark = folder.write_csv("a.csv", frame).read_bytes()
    without = folder.write_csv("b.csv", frame, encoding="utf-8").read_bytes()

    assert with_mark == codecs.BOM_UTF8 + without
    assert without == pandas_bytes(frame)
    with pytest.raises(ValueError, match="latin-1"):
        folder.write_csv("c.csv", frame, encoding="latin-1")
