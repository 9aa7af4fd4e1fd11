"""Each document's best segment for each code, and ``auto_codes_by_document.csv``.

The CSV of the classify step gets, per document and code, the segment that
best shows the code (``best_segment_id``) and its words (``quote``): the
highest-scoring segment given the code, else the highest-scoring one (the
choice of a stable pandas sort by both and ``drop_duplicates``, which the
export made before; ``tests/outputs/test_streamed_outputs.py`` keeps it as
the reference).

At 100,000 documents and 32 codes that choice, made in pandas over the 3.2
million rows of ``auto_codes.parquet`` and merged into the CSV read whole,
took about 2 GB. :class:`BestSegments` makes it with NumPy over integer keys
(about 100 MB), and :func:`write_codes_by_document` rewrites the CSV a chunk
at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.agreement.compare import with_code_names
from pipeline.outputs.csv_chunks import rewrite_csv_in_chunks
from pipeline.store import run_files
from pipeline.store.run_folder import DEFAULT_CSV_ENCODING, RunFolder


@dataclass(frozen=True)
class BestSegments:
    """Per document and code, the row of the auto-codes that best shows the code.

    Attributes:
        documents: The document ids.
        codes: The code ids.
        rows: ``(len(documents) * len(codes),)``: for document ``d`` and code
            ``c``, at ``d * len(codes) + c``, the row of ``segment_ids`` of
            the best segment (-1: the pair has no row).
        segment_ids: The segment id of each row of the auto-codes.
    """

    documents: pd.Index
    codes: pd.Index
    rows: np.ndarray
    segment_ids: pa.ChunkedArray

    @classmethod
    def from_table(cls, table: pa.Table) -> BestSegments:
        """Choose the best segments from the auto-codes.

        The rows are ordered by (assigned, score), both descending, missing
        scores last and ties in table order, and the first row of each
        document and code is its best: the order and choice of a stable
        pandas sort and ``drop_duplicates``.

        Args:
            table: ``document_id, segment_id, code, score, assigned`` of
                every segment and code (``auto_codes.parquet``).

        Returns:
            The choice.
        """
        # heavy: kept out of start-up
        import pyarrow.compute as pc

        documents = pc.unique(table["document_id"])
        codes = pc.unique(table["code"])
        n_codes = len(codes)
        key = pc.index_in(table["document_id"], value_set=documents).to_numpy()
        key = key.astype(np.int64) * n_codes
        key += pc.index_in(table["code"], value_set=codes).to_numpy()
        score = table["score"].to_numpy()
        assigned = table["assigned"].to_numpy()
        # np.lexsort is stable and sorts by its last key first; NaN sorts last
        order = np.lexsort((-score, ~assigned, key))
        ordered = key[order]
        first = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        rows = np.full(len(documents) * n_codes, -1, dtype=np.int64)
        rows[ordered[first]] = order[first]
        return cls(
            documents=pd.Index(documents.to_pylist()),
            codes=pd.Index(codes.to_pylist()),
            rows=rows,
            segment_ids=table["segment_id"],
        )

    @classmethod
    def from_run(cls, folder: RunFolder) -> BestSegments:
        """:meth:`from_table` on the run's ``auto_codes.parquet`` (five columns)."""
        return cls.from_table(
            folder.auto_codes(
                columns=["document_id", "segment_id", "code", "score", "assigned"]
            )
        )

    def segment_ids_of(self, document_ids: pd.Series, codes: pd.Series) -> np.ndarray:
        """The best segment of each (document, code) pair, None where none.

        Args:
            document_ids: A document id per pair.
            codes: A code id per pair.

        Returns:
            An object array of segment ids.
        """
        document = self.documents.get_indexer(document_ids)
        code = self.codes.get_indexer(codes)
        found = (document >= 0) & (code >= 0)
        rows = np.full(len(document), -1, dtype=np.int64)
        rows[found] = self.rows[document[found] * len(self.codes) + code[found]]
        best = np.full(len(rows), None, dtype=object)
        have = rows >= 0
        best[have] = self.segment_ids.take(rows[have]).to_numpy(zero_copy_only=False)
        return best

    def with_best_quotes(
        self, table: pd.DataFrame, texts: Mapping[str, str]
    ) -> pd.DataFrame:
        """The table with each pair's best segment (``best_segment_id``) and ``quote``.

        The two columns go last (replacing any already there), as a left
        merge of the best segments puts them: empty where the pair has no
        segment, the quote empty where the segment has no words.

        Args:
            table: A table with ``document_id`` and ``code``.
            texts: Segment id to its words.

        Returns:
            A new table.
        """
        best = self.segment_ids_of(table["document_id"], table["code"])
        quotes = np.array(
            [None if s is None else texts.get(s, "") for s in best], dtype=object
        )
        return table.drop(columns=["best_segment_id", "quote"], errors="ignore").assign(
            best_segment_id=best, quote=quotes
        )


def write_codes_by_document(
    folder: RunFolder,
    out: RunFolder,
    *,
    texts: Mapping[str, str],
    names: Mapping[str, str],
    encoding: str = DEFAULT_CSV_ENCODING,
    rows: int | None = None,
) -> Path | None:
    """Rewrite ``auto_codes_by_document.csv`` with names and quotes, a chunk at a time.

    Args:
        folder: The run folder (its CSV and ``auto_codes.parquet``).
        out: Where to write.
        texts: Segment id to its words.
        names: Code id to the name to show in ``code_name``.
        encoding: ``utf-8-sig`` or ``utf-8``.
        rows: Rows per chunk (default: :data:`~pipeline.outputs.csv_chunks.CHUNK_ROWS`).

    Returns:
        The path written, or None, with nothing written, when the CSV must be
        read whole (its chunks were read with different column types; see
        :func:`~pipeline.outputs.csv_chunks.rewrite_csv_in_chunks`).
    """
    best = BestSegments.from_run(folder)
    return rewrite_csv_in_chunks(
        folder.file(run_files.AUTO_CODES_BY_DOCUMENT_CSV),
        out,
        run_files.AUTO_CODES_BY_DOCUMENT_CSV,
        lambda chunk: with_code_names(best.with_best_quotes(chunk, texts), names),
        encoding=encoding,
        rows=rows,
    )
