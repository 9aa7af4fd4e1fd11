"""The folder of one run's output files, written atomically.

The run folder (``runs/<run_id>/`` or ``--out DIR``) holds the files a
researcher opens: ``documents.parquet``, ``segments.parquet``,
``manifest.json`` and the later stages' outputs. Files are written under a
temporary name and renamed, so a crash never leaves half a file. CSV files
are UTF-8 with a byte-order mark, so Excel reads their accents and curly
quotes right (``store.csv_encoding: utf-8`` leaves the mark out).

The layout of every file is documented in ``docs/formats.md``.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import RunNotFoundError, StoreError
from pipeline.store import csv_writer, run_files
from pipeline.store.parquet_rows import read_rows
from pipeline.store.permissions import file_mode, folder_mode

CsvEncoding = Literal["utf-8-sig", "utf-8"]
"""How CSV files are written: UTF-8 with a byte-order mark (for Excel) or without."""

DEFAULT_CSV_ENCODING: CsvEncoding = "utf-8-sig"


def check_csv_encoding(encoding: str) -> None:
    """Raise ValueError unless ``encoding`` is one a CSV of the run is written in."""
    if encoding not in get_args(CsvEncoding):
        allowed = ", ".join(get_args(CsvEncoding))
        raise ValueError(f"CSV encoding {encoding!r} is not one of {allowed}")


class RunFolder:
    """The folder of one run's output files.

    Args:
        path: The folder; created when missing.

    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True, mode=folder_mode())

    @classmethod
    def existing(cls, path: str | Path) -> RunFolder:
        """Open a run folder that must already hold a manifest.

        Raises:
            RunNotFoundError: There is no run there.

        """
        folder = Path(path)
        if not (folder / run_files.MANIFEST).is_file():
            raise RunNotFoundError(f"no run at {folder} (no manifest.json there)")
        return cls(folder)

    def file(self, name: str) -> Path:
        """Return the path of a file of the run."""
        return self.path / name

    # The run's artefacts, by what they are (file names: run_files).

    def documents(self, *, columns: Sequence[str] | None = None) -> pa.Table:
        """``documents.parquet``: one row per document, its text and metadata."""
        return self.read_parquet(run_files.DOCUMENTS, columns=columns)

    def segments(
        self,
        *,
        columns: Sequence[str] | None = None,
        rows: Sequence[int] | None = None,
    ) -> pa.Table:
        """``segments.parquet``: one row per segment, offsets into its document."""
        return self.read_parquet(run_files.SEGMENTS, columns=columns, rows=rows)

    def embeddings(self) -> np.ndarray:
        """``embeddings.npy``, checked to hold one row per segment."""
        segments = self.file(run_files.SEGMENTS)
        if not segments.is_file():
            raise RunNotFoundError(f"{segments} not found: the run has no segments")
        return self.read_embeddings(n_rows=pq.ParquetFile(segments).metadata.num_rows)

    def auto_codes(
        self,
        *,
        columns: Sequence[str] | None = None,
        filters: list[tuple] | None = None,
    ) -> pa.Table:
        """``auto_codes.parquet``: one row per segment and code."""
        return self.read_parquet(run_files.AUTO_CODES, columns=columns, filters=filters)

    def manifest(self) -> dict:
        """``manifest.json``: what the run did, with what, and how it ended."""
        return self.read_json(run_files.MANIFEST)

    def classifier(self) -> dict:
        """``classifier.json``: the thresholds, in code order, and the counts."""
        return self.read_json(run_files.CLASSIFIER)

    def write_parquet(
        self, name: str, table: pa.Table, *, row_group_size: int | None = None
    ) -> Path:
        """Write a table as Parquet, atomically.

        ``row_group_size`` (rows) lets :meth:`read_parquet` read a few rows
        without decoding the whole file.
        """
        return self.write_with(
            name, lambda tmp: pq.write_table(table, tmp, row_group_size=row_group_size)
        )

    def read_parquet(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        filters: list[tuple] | None = None,
        rows: Sequence[int] | None = None,
    ) -> pa.Table:
        """Read a Parquet file of the run.

        Args:
            name: The file's name in the run folder.
            columns: Only these columns.
            filters: Only rows matching these (pyarrow filters; the whole
                file is decoded unless its row groups' statistics rule them out).
            rows: Only these rows (positions, in this order); only the row
                groups holding them are decoded.
        """
        path = self.file(name)
        if not path.is_file():
            raise RunNotFoundError(f"{path} not found: the run did not produce it")
        columns = list(columns) if columns else None
        if rows is None:
            return pq.read_table(path, columns=columns, filters=filters)
        return read_rows(path, rows, columns=columns)

    def write_npy(self, name: str, array: np.ndarray) -> Path:
        """Write a NumPy array (``.npy``), atomically."""

        def write(tmp: str) -> None:
            with open(tmp, "wb") as handle:  # a path would get ".npy" appended
                np.save(handle, array, allow_pickle=False)

        return self.write_with(name, write)

    def read_embeddings(
        self, *, n_rows: int, name: str = run_files.EMBEDDINGS
    ) -> np.ndarray:
        """Read the run's embeddings and check they align with its segments.

        Raises:
            RunNotFoundError: The file is missing.
            StoreError: Its rows do not match the number of segments.
        """
        path = self.file(name)
        if not path.is_file():
            raise RunNotFoundError(f"{path} not found: the run has no embeddings")
        array = np.load(path, allow_pickle=False)
        if array.ndim != 2 or array.shape[0] != n_rows:
            raise StoreError(
                f"{path}: {array.shape[0]} embeddings for {n_rows} segments; rerun the "
                "embed step"
            )
        return array

    def write_json(self, name: str, value: Any) -> Path:
        """Write a JSON file (indented, UTF-8), atomically."""
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"
        return self.write_text(name, text)

    def read_json(self, name: str) -> Any:
        """Read a JSON file of the run."""
        return json.loads(self.file(name).read_text(encoding="utf-8"))

    def write_text(self, name: str, text: str) -> Path:
        """Write a text file (UTF-8), atomically."""
        return self.write_with(
            name, lambda tmp: Path(tmp).write_text(text, encoding="utf-8")
        )

    def write_csv(
        self, name: str, frame, *, encoding: CsvEncoding = DEFAULT_CSV_ENCODING
    ) -> Path:
        """Write a pandas DataFrame as CSV, atomically.

        Args:
            name: The file's name in the run folder.
            frame: The table (written without its index).
            encoding: ``utf-8-sig`` (default): UTF-8 with a byte-order mark,
                which Excel needs to open non-ASCII text (``é``, ``’``,
                ``–``) as written; ``utf-8``: no mark, for scripts that
                want none (``store.csv_encoding``).

        Returns:
            The path written.
        """
        check_csv_encoding(encoding)

        def write(tmp: str) -> None:
            with open(tmp, "wb") as stream:
                if encoding == "utf-8-sig":
                    stream.write(codecs.BOM_UTF8)
                csv_writer.write_csv(frame, stream)

        return self.write_with(name, write)

    def set_csv_encoding(self, name: str, encoding: CsvEncoding) -> bool:
        """Give a CSV file of the run a byte-order mark, or take it away.

        The rest of the file is copied byte for byte (a stream, however
        large), so its values stay exactly as written.

        Args:
            name: The CSV file's name in the run folder.
            encoding: ``utf-8-sig`` (with the mark) or ``utf-8`` (without).

        Returns:
            Whether the file was rewritten (False when it already was so).
        """
        check_csv_encoding(encoding)
        path = self.file(name)
        with open(path, "rb") as source:
            has_mark = source.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
        if has_mark == (encoding == "utf-8-sig"):
            return False

        def write(tmp: str) -> None:
            with open(path, "rb") as source, open(tmp, "wb") as target:
                if has_mark:
                    source.seek(len(codecs.BOM_UTF8))
                else:
                    target.write(codecs.BOM_UTF8)
                shutil.copyfileobj(source, target, 1 << 20)

        self.write_with(name, write)
        return True

    def write_with(self, name: str, write: Callable[[str], bool | None]) -> Path | None:
        """Write ``name`` atomically with ``write(temporary_path)``.

        The file appears whole or not at all, with the folder's file mode.
        ``write`` may return False to write nothing (the temporary file is
        removed and None returned); any other return keeps what it wrote.

        Returns:
            The path written, or None when ``write`` declined.
        """
        target = self.file(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
        os.close(handle)
        try:
            if write(tmp) is False:
                os.unlink(tmp)
                return None
            os.chmod(tmp, file_mode())  # mkstemp makes 0600; shared teams get 0660
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return target
