"""Tables written as CSV, byte for byte as pandas writes them, only faster.

``DataFrame.to_csv`` hands every value to Python's ``csv`` writer one at a
time: at 100,000 segments the run's long tables (3.2 million rows each) took
about a minute of the run to write. Here each column is turned into text once,
as a column (Arrow's string kernels), the columns are joined into lines, and
the lines are written in blocks. The bytes are the ones ``to_csv(index=False)``
writes, for the column types the run's tables hold:

- text (``str`` or ``object`` columns holding only strings): missing values
  empty; a value with a comma, a double quote or a line feed quoted (and a
  carriage return, on the Python versions whose ``csv`` module quotes it), its
  double quotes doubled: the ``csv`` module's minimal quoting;
- whole numbers: as ``str(int)``; booleans: ``True`` and ``False``; pandas'
  nullable integers and booleans, the same with missing values empty;
- categories (of strings): as their text;
- floating point: as numpy prints them (the shortest text that reads back
  as the same number; ``nan`` empty, ``inf`` as written), which is what
  pandas does when no ``float_format`` is given.

Any other table (dates, objects that are not strings, a single
column, whose lone empty value the ``csv`` module quotes) is written by
pandas itself, so the result never depends on which path wrote it.
"""

from __future__ import annotations

import csv
import io
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

BLOCK_ROWS = 100_000
"""Rows turned into text at a time (a block's lines are about 10 MB)."""


def _quoted_characters() -> str:
    """The characters that make the csv module quote a value, as pandas calls it.

    A comma, a double quote and the line end (``\\n``) always do; whether a
    lone carriage return does depends on the Python version, so it is asked.
    """
    quoted = ""
    for character in ',"\n\r':
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow([f"a{character}b", "c"])
        if line.getvalue().startswith('"'):
            quoted += character
    return quoted


_PATTERN = {",": ",", '"': '"', "\n": r"\n", "\r": r"\r"}
_NEEDS_QUOTES = "[" + "".join(_PATTERN[c] for c in _quoted_characters()) + "]"
"""The pattern (RE2, as Arrow reads it) of a value the csv module quotes."""


def write_csv(
    frame: pd.DataFrame,
    stream: IO[bytes],
    *,
    header: bool = True,
    block_rows: int = BLOCK_ROWS,
) -> None:
    """Write ``frame`` (without its index) to a binary stream as UTF-8 CSV.

    The bytes are those of ``frame.to_csv(stream, index=False, header=header)``
    (lines end with ``\\n``). A byte-order mark, if wanted, is the caller's
    to write first.

    Args:
        frame: The table.
        stream: An open binary file.
        header: Whether to write the column names first.
        block_rows: Rows turned into text at a time.
    """
    if not _supported(frame):
        frame.to_csv(stream, index=False, header=header, encoding="utf-8")
        return
    if header:
        names = pa.array([str(name) for name in frame.columns], type=pa.string())
        stream.write((",".join(_quoted(names).to_pylist()) + "\n").encode("utf-8"))
    for start in range(0, len(frame), block_rows):
        block = frame.iloc[start : start + block_rows]
        texts = [_column_text(block.iloc[:, i]) for i in range(block.shape[1])]
        stream.write(_line_bytes(pc.binary_join_element_wise(*texts, ",")))


def _supported(frame: pd.DataFrame) -> bool:
    """Whether every column is one this writer renders as pandas does."""
    # one column: the csv module quotes a row's lone empty value
    columns = frame.columns
    if len(columns) < 2 or isinstance(columns, pd.MultiIndex):
        return False
    if not columns.is_unique:
        return False
    return all(_supported_column(frame.iloc[:, i]) for i in range(frame.shape[1]))


def _supported_column(column: pd.Series) -> bool:
    dtype = column.dtype
    if isinstance(dtype, (pd.BooleanDtype, pd.StringDtype)):
        return True
    if isinstance(dtype, pd.CategoricalDtype):  # of strings
        categories = dtype.categories
        return len(categories) == 0 or pd.api.types.infer_dtype(categories) == "string"
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return pd.api.types.is_integer_dtype(dtype)  # Int64 and the like
    if dtype.kind == "O":  # only strings (and missing values)
        return pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")
    return dtype.kind in "biuf"


def _line_bytes(lines: pa.Array) -> pa.Buffer:
    """Lines each ended by a line feed, as one UTF-8 buffer (no copy in Python)."""
    ended = pc.binary_join_element_wise(lines, "\n", "")
    if len(ended) == 0:
        return pa.py_buffer(b"")
    _, offsets, data = ended.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32)
    return data[bounds[ended.offset] : bounds[ended.offset + len(ended)]]


def _column_text(column: pd.Series) -> pa.Array:
    """A column as the text pandas writes for each of its values."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype) or dtype.kind == "O":
        values = pa.array(column, type=pa.string(), from_pandas=True)
        if isinstance(values, pa.ChunkedArray):  # Arrow-backed, in pieces
            values = values.combine_chunks()
        return _quoted(values.fill_null(""))
    if isinstance(dtype, pd.CategoricalDtype):  # each name rendered once
        names = pa.array(list(dtype.categories) + [""], type=pa.string())
        codes = column.cat.codes.to_numpy().astype(np.int64)
        codes[codes < 0] = len(dtype.categories)  # missing: empty
        return _quoted(names).take(pa.array(codes))
    if dtype.kind == "f":
        return _float_text(column.to_numpy())
    # whole numbers and booleans, nullable (missing: empty) or not
    values = pa.array(column, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_boolean(values.type):
        text = pc.if_else(values, "True", "False")
    else:  # Arrow writes whole numbers as str(int) does
        text = pc.cast(values, pa.string())
    return text.fill_null("")


def _float_text(values: np.ndarray) -> pa.Array:
    """Floats as pandas writes them: numpy's text for each, ``nan`` empty.

    numpy's text is slow to make, so it is made once per distinct value
    (a run's scores, rounded, have a few thousand); values are told apart
    by their bits, so ``-0.0`` keeps its sign.
    """
    values = np.ascontiguousarray(values)
    bits = values.view(np.dtype(f"i{values.itemsize}"))
    distinct, inverse = np.unique(bits, return_inverse=True)
    numbers = distinct.view(values.dtype)
    text = numbers.astype(str)  # as pandas: numpy's shortest repr
    text[np.isnan(numbers)] = ""
    return pa.array(text, type=pa.string()).take(pa.array(inverse.ravel()))


def _quoted(values: pa.Array) -> pa.Array:
    """Each string quoted when the csv module would quote it."""
    needs = pc.match_substring_regex(values, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return values
    doubled = pc.replace_substring(values, '"', '""')
    wrapped = pc.binary_join_element_wise('"', doubled, '"', "")
    return pc.if_else(needs, wrapped, values)
