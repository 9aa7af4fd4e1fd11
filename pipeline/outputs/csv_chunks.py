"""The run's big CSVs read and rewritten a chunk of rows at a time.

At 100,000 segments ``codes_compared.csv`` and ``auto_codes_by_document.csv``
hold 3.2 million rows each (every segment or document times every code): read
whole, with their words, they took over 2 GB. Read here a chunk at a time,
with the same parser options as
:func:`~pipeline.outputs.run_tables.read_output_csv`, so each value is read as
it would be whole.

One thing differs between a chunk and the whole file: a column's type is
inferred per chunk (a column of whole numbers with a blank in one chunk is
read as floats there only), and pandas writes ``1`` and ``1.0`` differently.
:func:`rewrite_csv_in_chunks` therefore writes nothing when the chunks' types
differ, and the caller reads the file whole, as before.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from pipeline.outputs.run_tables import output_csv_options
from pipeline.store.csv_writer import write_csv
from pipeline.store.run_folder import (
    DEFAULT_CSV_ENCODING,
    CsvEncoding,
    RunFolder,
    check_csv_encoding,
)

CHUNK_ROWS = 200_000
"""Rows per chunk: about 100 MB of a table with its words in memory at a time."""


def read_output_csv_chunks(
    path: str | Path, *, rows: int | None = None
) -> Iterator[pd.DataFrame]:
    """A CSV this tool wrote, read back as written, ``rows`` rows at a time.

    Args:
        path: The CSV file.
        rows: Rows per chunk (default: :data:`CHUNK_ROWS`).

    Yields:
        The chunks, in file order (a header-only file yields nothing).
    """
    chunks = pd.read_csv(path, chunksize=rows or CHUNK_ROWS, **output_csv_options())
    with chunks as reader:
        yield from reader


def read_rows_where(
    path: str | Path,
    keep: Callable[[pd.DataFrame], pd.Series],
    *,
    rows: int | None = None,
) -> pd.DataFrame:
    """The rows of a CSV this tool wrote for which ``keep`` is true.

    Only a chunk and the rows kept are in memory at a time. The kept rows
    have the types the whole file would have been read with: pandas joins
    the chunks as its own reader joins the blocks it reads (whole numbers in
    one and floats in another make floats).

    Args:
        path: The CSV file.
        keep: Chunk to a boolean Series of the rows to keep.
        rows: Rows per chunk (default: :data:`CHUNK_ROWS`).

    Returns:
        The rows kept, in file order, with a fresh index.
    """
    kept = []
    for chunk in read_output_csv_chunks(path, rows=rows):
        kept.append(chunk[keep(chunk)])
    if not kept:  # a header-only file: read it whole, it is small
        return pd.read_csv(path, **output_csv_options())
    # a chunk with no row kept still has its types (a blank read as NaN makes
    # a column of whole numbers floats): pandas joins them, as the whole file
    return pd.concat(kept, ignore_index=True)


def rewrite_csv_in_chunks(
    source: str | Path,
    out: RunFolder,
    name: str,
    transform: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    encoding: CsvEncoding = DEFAULT_CSV_ENCODING,
    rows: int | None = None,
) -> Path | None:
    """Read a CSV of the run in chunks, transform each, write them as one CSV.

    The file is written under a temporary name and renamed into place (so
    ``source`` may be the file written), with the run folder's file mode.
    Each chunk is written as :meth:`RunFolder.write_csv` writes a table, so
    the file is the one the whole table would have given, when the chunks
    were read with the same column types.

    Args:
        source: The CSV to read.
        out: The folder to write into.
        name: The file's name there.
        transform: Chunk to the rows to write (a new table).
        encoding: ``utf-8-sig`` or ``utf-8``.
        rows: Rows per chunk (default: :data:`CHUNK_ROWS`).

    Returns:
        The path written, or None, with nothing written, when the chunks'
        column types differ (or the file has no rows): read it whole instead.
    """
    check_csv_encoding(encoding)

    def write(tmp: str) -> bool:
        dtypes = None
        first = True
        with open(tmp, "wb") as stream:
            if encoding == "utf-8-sig":  # the byte-order mark, once
                stream.write(codecs.BOM_UTF8)
            for chunk in read_output_csv_chunks(source, rows=rows):
                if dtypes is None:
                    dtypes = chunk.dtypes
                elif not chunk.dtypes.equals(dtypes):
                    return False
                write_csv(transform(chunk), stream, header=first)
                first = False
        return dtypes is not None

    return out.write_with(name, write)
