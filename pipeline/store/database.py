"""The results store: one DuckDB database for all runs, one folder per run.

- The database (default ``runs/themes.duckdb``) keeps documents, segments and
  runs across runs. Rows are keyed by content (a document by its id and the
  hash of its text; a segment also by the hash of the segmentation settings),
  so rerunning the same input adds no duplicate rows. Every write is one
  transaction.
- The run folder (``runs/<run_id>/`` or ``--out DIR``) holds the files a
  researcher opens: ``documents.parquet``, ``segments.parquet``,
  ``manifest.json`` and the later stages' outputs. Files are written under a
  temporary name and renamed, so a crash never leaves half a file. CSV files
  are UTF-8 with a byte-order mark, so Excel reads their accents and curly
  quotes right (``store.csv_encoding: utf-8`` leaves the mark out).
- A lock file beside the database lets one run write at a time; a second run
  waits up to ``store.lock_timeout_seconds``, then stops with a clear message.

The layout of every file is documented in ``docs/formats.md``.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import json
import logging
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import RunNotFoundError, StoreBusyError, StoreError
from pipeline.store.permissions import file_mode, folder_mode

logger = logging.getLogger(__name__)

CsvEncoding = Literal["utf-8-sig", "utf-8"]
"""How CSV files are written: UTF-8 with a byte-order mark (for Excel) or without."""

DEFAULT_CSV_ENCODING: CsvEncoding = "utf-8-sig"


def _check_csv_encoding(encoding: str) -> None:
    if encoding not in get_args(CsvEncoding):
        allowed = ", ".join(get_args(CsvEncoding))
        raise ValueError(f"CSV encoding {encoding!r} is not one of {allowed}")


SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS documents (
    document_id VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    text VARCHAR NOT NULL,
    encoding VARCHAR,
    metadata JSON,
    first_run VARCHAR,
    PRIMARY KEY (document_id, content_hash)
);
CREATE TABLE IF NOT EXISTS segments (
    content_hash VARCHAR NOT NULL,
    settings_hash VARCHAR NOT NULL,
    segment_id VARCHAR NOT NULL,
    document_id VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    speaker VARCHAR,
    role VARCHAR NOT NULL,
    start BIGINT NOT NULL,
    "end" BIGINT NOT NULL,
    text VARCHAR NOT NULL,
    question VARCHAR,
    turn_index INTEGER NOT NULL,
    PRIMARY KEY (content_hash, settings_hash, segment_id)
);
CREATE TABLE IF NOT EXISTS embeddings (
    model_id VARCHAR NOT NULL,
    text_hash VARCHAR NOT NULL,
    vector FLOAT[] NOT NULL,
    PRIMARY KEY (model_id, text_hash)
);
CREATE TABLE IF NOT EXISTS identifier_checks (
    check_key VARCHAR PRIMARY KEY,
    findings JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    status VARCHAR,
    corpus VARCHAR,
    out_dir VARCHAR,
    config_hash VARCHAR,
    n_documents INTEGER,
    n_segments INTEGER,
    n_quarantined INTEGER,
    summary JSON
);
CREATE TABLE IF NOT EXISTS run_documents (
    run_id VARCHAR NOT NULL,
    document_id VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    PRIMARY KEY (run_id, document_id)
);
"""


@contextlib.contextmanager
def _transaction(connection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def new_run_id() -> str:
    """Return a new run id: UTC date and time plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def _write_holder(path: Path, run_id: str | None) -> None:
    """Record who holds a lock (run id, pid, host) in its side file, atomically."""
    holder = {
        "run_id": run_id,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(holder, stream)
    os.chmod(tmp, file_mode())  # runs of other users in the team can read it
    os.replace(tmp, path)


def _describe_holder(path: Path) -> str | None:
    """Name the run recorded in a lock's side file, e.g. ``run 2024... (pid 12)``.

    Returns:
        None when the file is missing or unreadable, or was left by a process
        that has died (on this host): the lock was taken by a run that has
        not written its own record yet.
    """
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        pid = int(holder["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if holder.get("host") == socket.gethostname():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, owned by another user
    if holder.get("run_id"):
        return f"run {holder['run_id']} (pid {pid})"
    return f"run in process {pid}"


class ResultsStore:
    """The DuckDB database shared by all runs.

    Args:
        path: The database file; its folder is created when missing.
        lock_timeout: Seconds to wait for another run's lock.

    """

    def __init__(self, path: str | Path, *, lock_timeout: float = 600.0) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout

    @contextlib.contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[Any]:
        """Open the database (creating its tables) for the length of a ``with``."""
        import duckdb

        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise StoreError(f"no results store at {self.path}: run `themes run` first")
        try:
            connection = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as error:
            raise StoreBusyError(
                f"{self.path}: the results store is in use by another process "
                f"({error}); "
                "wait for the other run to finish"
            ) from error
        try:
            if not read_only:
                connection.execute(SCHEMA_SQL)
            yield connection
        finally:
            connection.close()

    @contextlib.contextmanager
    def lock(self, *, run_id: str | None = None) -> Iterator[None]:
        """Hold the store's write lock; wait up to ``lock_timeout`` seconds for it.

        While the lock is held, a side file (``<database>.lock.json``) names
        the holder (run id, process id, host), so a run that has to wait logs,
        once, a warning ``waiting for run ... to release the store ...``; the
        CLI shows warnings on stderr.

        Args:
            run_id: The run taking the lock, named to the runs that wait for it.

        Raises:
            StoreBusyError: Another run kept the lock for longer than the timeout.

        """
        import filelock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.path) + ".lock")
        holder_file = Path(str(self.path) + ".lock.json")
        try:
            lock.acquire(blocking=False)
        except filelock.Timeout:
            holder = _describe_holder(holder_file)
            logger.warning(
                "waiting for %s to release the store %s (up to %g s)",
                holder or "another run",
                self.path,
                self.lock_timeout,
            )
            try:
                lock.acquire(timeout=self.lock_timeout)
            except filelock.Timeout as error:
                raise StoreBusyError(
                    f"another run is using the results store {self.path}"
                    f"{f' ({holder})' if holder else ''} and did not finish within "
                    f"{self.lock_timeout:g} s; try again when it is done (or raise "
                    "store.lock_timeout_seconds)"
                ) from error
        try:
            _write_holder(holder_file, run_id)
            yield
        finally:
            holder_file.unlink(missing_ok=True)
            lock.release()

    def save_documents(self, documents: pa.Table, *, run_id: str) -> int:
        """Add documents not stored yet and record which ones this run used.

        Args:
            documents: A documents table (``DOCUMENT_SCHEMA`` plus metadata columns).
            run_id: The run that read them.

        Returns:
            The number of new document rows.

        """
        from pipeline.records import DOCUMENT_SCHEMA

        metadata_columns = [
            c for c in documents.column_names if c not in DOCUMENT_SCHEMA.names
        ]
        metadata_rows = documents.select(metadata_columns).to_pylist()
        incoming = documents.select(
            ["document_id", "content_hash", "source", "format", "text", "encoding"]
        ).append_column(
            "metadata",
            pa.array(
                [json.dumps(m, sort_keys=True) for m in metadata_rows], pa.string()
            ),
        )
        with self.connect() as connection:
            before = connection.execute("SELECT count(*) FROM documents").fetchone()[0]
            with _transaction(connection):
                connection.register("incoming_documents", incoming)
                connection.execute(
                    "INSERT OR IGNORE INTO documents SELECT document_id, content_hash, "
                    "source, format, text, encoding, metadata::JSON, ? "
                    "FROM incoming_documents",
                    [run_id],
                )
                connection.execute(
                    "INSERT OR REPLACE INTO run_documents SELECT ?, document_id, "
                    "content_hash FROM incoming_documents",
                    [run_id],
                )
            after = connection.execute("SELECT count(*) FROM documents").fetchone()[0]
        return after - before

    def save_segments(
        self, segments: pa.Table, *, content_hashes: dict[str, str], settings_hash: str
    ) -> int:
        """Add segments not stored yet.

        Args:
            segments: A segment table (``SEGMENT_SCHEMA``).
            content_hashes: Document id to the hash of the text segmented.
            settings_hash: Hash of the ``segment`` config section.

        Returns:
            The number of new segment rows.

        """
        hashes = [content_hashes[d] for d in segments.column("document_id").to_pylist()]
        incoming = segments.append_column("content_hash", pa.array(hashes, pa.string()))
        with self.connect() as connection:
            before = connection.execute("SELECT count(*) FROM segments").fetchone()[0]
            with _transaction(connection):
                connection.register("incoming_segments", incoming)
                connection.execute(
                    "INSERT OR IGNORE INTO segments SELECT content_hash, ?, "
                    'segment_id, document_id, unit, speaker, role, start, "end", '
                    "text, question, turn_index "
                    "FROM incoming_segments",
                    [settings_hash],
                )
            after = connection.execute("SELECT count(*) FROM segments").fetchone()[0]
        return after - before

    def get_segments(
        self, content_hashes: dict[str, str], settings_hash: str
    ) -> pa.Table:
        """Segments already stored for these documents (same text, same settings).

        Args:
            content_hashes: Document id to the hash of its text.
            settings_hash: Hash of the ``segment`` config section.

        Returns:
            A segment table (``SEGMENT_SCHEMA``) holding the segments of the
            documents found, in document and segment order.
        """
        from pipeline.records import SEGMENT_SCHEMA

        if not content_hashes or not self.path.exists():
            return SEGMENT_SCHEMA.empty_table()
        wanted = pa.table(
            {
                "document_id": pa.array(list(content_hashes), pa.string()),
                "content_hash": pa.array(list(content_hashes.values()), pa.string()),
            }
        )
        with self.connect() as connection:
            connection.register("wanted_documents", wanted)
            found = connection.sql(
                "SELECT s.document_id, s.segment_id, s.unit, s.speaker, s.role, "
                's.start, s."end", s.text, s.question, s.turn_index FROM segments s '
                "JOIN wanted_documents w ON s.document_id = w.document_id "
                "AND s.content_hash = w.content_hash WHERE s.settings_hash = ? "
                "ORDER BY s.document_id, s.start, s.segment_id",
                params=[settings_hash],
            ).to_arrow_table()
        return found.cast(SEGMENT_SCHEMA)

    def get_embeddings(
        self, model_id: str, text_hashes: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """Return the cached vectors of a model among ``text_hashes``."""
        if not text_hashes or not self.path.exists():
            return {}
        wanted = pa.table({"text_hash": pa.array(list(text_hashes), pa.string())})
        with self.connect() as connection:
            connection.register("wanted_hashes", wanted)
            found = connection.sql(
                "SELECT e.text_hash, e.vector FROM embeddings e "
                "JOIN wanted_hashes w ON e.text_hash = w.text_hash "
                "WHERE e.model_id = ?",
                params=[model_id],
            ).to_arrow_table()
        if found.num_rows == 0:
            return {}
        vectors = found.column("vector").combine_chunks()
        dimension = len(vectors[0])
        matrix = vectors.flatten().to_numpy().astype(np.float32).reshape(-1, dimension)
        return dict(zip(found.column("text_hash").to_pylist(), matrix, strict=True))

    def put_embeddings(
        self, model_id: str, text_hashes: Sequence[str], vectors: np.ndarray
    ) -> None:
        """Store vectors of a model by text hash (existing ones are kept)."""
        if not len(text_hashes):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        incoming = pa.table(
            {
                "model_id": pa.array([model_id] * len(text_hashes), pa.string()),
                "text_hash": pa.array(list(text_hashes), pa.string()),
                "vector": pa.ListArray.from_arrays(
                    pa.array(
                        np.arange(0, vectors.size + 1, vectors.shape[1], dtype=np.int32)
                    ),
                    pa.array(vectors.reshape(-1)),
                ),
            }
        )
        with self.connect() as connection:
            with _transaction(connection):
                connection.register("incoming_embeddings", incoming)
                connection.execute(
                    "INSERT OR IGNORE INTO embeddings "
                    "SELECT model_id, text_hash, vector "
                    "FROM incoming_embeddings"
                )

    def get_identifier_checks(
        self, keys: Sequence[str]
    ) -> dict[str, list[tuple[str, int, int, str]]]:
        """Findings of documents checked before.

        See ``pipeline.text.anonymise.FindingsCache``.

        Only kinds and offsets are stored, never the text found.
        """
        if not keys or not self.path.exists():
            return {}
        wanted = pa.table({"check_key": pa.array(list(keys), pa.string())})
        with self.connect() as connection:
            connection.register("wanted_checks", wanted)
            rows = connection.execute(
                "SELECT c.check_key, c.findings FROM identifier_checks c "
                "JOIN wanted_checks w ON c.check_key = w.check_key"
            ).fetchall()
        return {key: [tuple(f) for f in json.loads(found)] for key, found in rows}

    def put_identifier_checks(
        self, checks: dict[str, list[tuple[str, int, int, str]]]
    ) -> None:
        """Store findings by check key (existing keys are kept)."""
        if not checks:
            return
        incoming = pa.table(
            {
                "check_key": pa.array(list(checks), pa.string()),
                "findings": pa.array(
                    [json.dumps([list(f) for f in found]) for found in checks.values()],
                    pa.string(),
                ),
            }
        )
        with self.connect() as connection:
            with _transaction(connection):
                connection.register("incoming_checks", incoming)
                connection.execute(
                    "INSERT OR IGNORE INTO identifier_checks "
                    "SELECT check_key, findings FROM incoming_checks"
                )

    def record_run(self, run: dict[str, Any]) -> None:
        """Insert or update a run's row (``run_id`` plus any of the run columns)."""
        columns = list(run)
        values = [
            json.dumps(v) if isinstance(v, dict | list) else v for v in run.values()
        ]
        placeholders = ", ".join("?" for _ in columns)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "run_id")
        with self.connect() as connection:
            connection.execute(
                f"INSERT INTO runs ({', '.join(columns)}) VALUES ({placeholders}) "
                f"ON CONFLICT (run_id) DO UPDATE SET {updates}",
                values,
            )

    def mark_interrupted(self) -> int:
        """Mark runs still ``running`` as ``interrupted``; call while holding the lock.

        Returns:
            How many runs were marked (runs whose process died half-way).
        """
        with self.connect() as connection:
            marked = connection.execute(
                "UPDATE runs SET status = 'interrupted' WHERE status = 'running' "
                "RETURNING run_id"
            ).fetchall()
        return len(marked)

    def list_runs(self) -> list[dict[str, Any]]:
        """Return every run, newest first."""
        with self.connect(read_only=True) as connection:
            cursor = connection.execute("SELECT * FROM runs ORDER BY started_at DESC")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def count(self, table: str) -> int:
        """Return the number of rows of a table."""
        if table not in (
            "documents",
            "segments",
            "embeddings",
            "runs",
            "run_documents",
        ):
            raise StoreError(f"no table {table!r} in the results store")
        with self.connect(read_only=True) as connection:
            return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


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
        if not (folder / "manifest.json").is_file():
            raise RunNotFoundError(f"no run at {folder} (no manifest.json there)")
        return cls(folder)

    def file(self, name: str) -> Path:
        """Return the path of a file of the run."""
        return self.path / name

    def write_parquet(
        self, name: str, table: pa.Table, *, row_group_size: int | None = None
    ) -> Path:
        """Write a table as Parquet, atomically.

        ``row_group_size`` (rows) lets :meth:`read_parquet` read a few rows
        without decoding the whole file.
        """
        return self._atomic(
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

        return self._atomic(name, write)

    def read_embeddings(
        self, *, n_rows: int, name: str = "embeddings.npy"
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
        return self._atomic(
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
        _check_csv_encoding(encoding)
        return self._atomic(
            name, lambda tmp: frame.to_csv(tmp, index=False, encoding=encoding)
        )

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
        _check_csv_encoding(encoding)
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

        self._atomic(name, write)
        return True

    def _atomic(self, name: str, write) -> Path:
        target = self.file(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
        os.close(handle)
        try:
            write(tmp)
            os.chmod(tmp, file_mode())  # mkstemp makes 0600; shared teams get 0660
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return target
