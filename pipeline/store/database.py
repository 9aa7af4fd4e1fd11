"""The results store: one DuckDB database for all runs.

The database (default ``runs/themes.duckdb``) keeps documents, segments and
runs across runs. Rows are keyed by content (a document by its id and the
hash of its text; a segment also by the hash of the segmentation settings),
so rerunning the same input adds no duplicate rows. Every write is one
transaction. Its tables are in :mod:`pipeline.store.schema`; one run writes at
a time (:mod:`pipeline.store.locking`); each run's files go to its
:class:`~pipeline.store.run_folder.RunFolder`.

The layout of every file is documented in ``docs/formats.md``.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.errors import StoreBusyError, StoreError
from pipeline.records import DOCUMENT_SCHEMA, SEGMENT_SCHEMA
from pipeline.store.locking import hold_store_lock
from pipeline.store.schema import SCHEMA_SQL


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
        import duckdb  # heavy: kept out of start-up

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

    def lock(
        self, *, run_id: str | None = None
    ) -> contextlib.AbstractContextManager[None]:
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
        return hold_store_lock(self.path, timeout=self.lock_timeout, run_id=run_id)

    def save_documents(self, documents: pa.Table, *, run_id: str) -> int:
        """Add documents not stored yet and record which ones this run used.

        Args:
            documents: A documents table (``DOCUMENT_SCHEMA`` plus metadata columns).
            run_id: The run that read them.

        Returns:
            The number of new document rows.

        """
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

        See ``pipeline.text.identifiers.findings.FindingsCache``.

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
