"""Read a few rows of a Parquet file, decoding only the row groups that hold them."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import StoreError


@functools.lru_cache(maxsize=8)
def _parquet_metadata(path: str, mtime_ns: int, size: int) -> pq.FileMetaData:
    """The parsed footer of a Parquet file (keyed by its modification time and size)."""
    return pq.read_metadata(path)


def read_rows(
    path: str | Path, rows: Sequence[int], *, columns: list[str] | None = None
) -> pa.Table:
    """Some rows of a Parquet file (positions, in this order).

    Only their row groups are decoded.
    """
    stat = os.stat(path)
    # the footer is parsed once per file version: segmentation reads a few rows
    # of the same file hundreds of times, and at 100,000 documents parsing its
    # footer each time was a quarter of the step
    parquet = pq.ParquetFile(
        path, metadata=_parquet_metadata(str(path), stat.st_mtime_ns, stat.st_size)
    )
    sizes = [
        parquet.metadata.row_group(i).num_rows
        for i in range(parquet.metadata.num_row_groups)
    ]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    positions = np.asarray(rows, dtype=np.int64)
    if not positions.size:
        empty = parquet.schema_arrow.empty_table()
        return empty.select(columns) if columns else empty
    if positions.min() < 0 or positions.max() >= starts[-1]:
        raise StoreError(f"{path}: rows outside 0..{starts[-1] - 1} asked for")
    group_of = np.searchsorted(starts, positions, side="right") - 1
    groups = np.unique(group_of)
    table = parquet.read_row_groups(groups.tolist(), columns=columns)
    # where each group read starts in the table: after the groups read before it
    offsets = np.zeros(len(sizes), dtype=np.int64)
    offsets[groups] = np.concatenate([[0], np.cumsum([sizes[g] for g in groups])[:-1]])
    return table.take(pa.array(offsets[group_of] + positions - starts[group_of]))
