"""Which segments to code next: uncertain for the classifier, and unlike each other.

Active learning for a coding team. Among the segments no human has coded,
candidates are those whose score lies closest to a code's threshold (where one
more human decision tells the classifier most); from those, a diverse set is
picked by farthest-first traversal of their embeddings, so the list does not
spend a coder's time on ten versions of the same remark.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.agreement.run_inputs import document_texts, read_run_codes
from pipeline.coding.codebook_records import Codebook
from pipeline.coding.run_auto_codes import read_auto_code_matrices
from pipeline.errors import ConfigError
from pipeline.io.codes.align import align_codes
from pipeline.store.run_folder import RunFolder


def suggest_segments(
    segments: pa.Table,
    embeddings: np.ndarray,
    scores: np.ndarray,
    thresholds: np.ndarray,
    codes: Sequence[str],
    coded: np.ndarray,
    *,
    n: int = 50,
    pool_factor: int = 5,
) -> pd.DataFrame:
    """Rank uncoded segments for human coding.

    Args:
        segments: The segment table.
        embeddings: Segment embeddings (unit length), aligned.
        scores: ``(n_segments, n_codes)`` classifier scores.
        thresholds: Per code, the decision threshold.
        codes: Code ids of the score columns.
        coded: Per segment, whether a human has coded it already.
        n: How many to suggest.
        pool_factor: Candidates considered per suggestion (the most uncertain
            ``n * pool_factor`` uncoded segments).

    Returns:
        ``rank, segment_id, document_id, start, end, text, question,
        uncertain_code, score, threshold`` for up to ``n`` segments.
    """
    distance = np.abs(scores - thresholds[None, :])
    closest = distance.argmin(axis=1)
    uncertainty = distance[np.arange(len(distance)), closest]
    candidates = np.flatnonzero(~np.asarray(coded, dtype=bool))
    if not len(candidates):
        return pd.DataFrame(columns=_COLUMNS)
    pool = candidates[
        np.argsort(uncertainty[candidates], kind="stable")[: n * pool_factor]
    ]
    chosen = _farthest_first(embeddings[pool], min(n, len(pool)))
    picked = pool[chosen]
    rows = segments.take(pa.array(picked)).to_pylist()
    return pd.DataFrame(
        [
            {
                "rank": rank,
                "segment_id": row["segment_id"],
                "document_id": row["document_id"],
                "start": row["start"],
                "end": row["end"],
                "text": row["text"],
                "question": row["question"],
                "uncertain_code": codes[closest[i]],
                "score": round(float(scores[i, closest[i]]), 4),
                "threshold": round(float(thresholds[closest[i]]), 4),
            }
            for rank, (i, row) in enumerate(zip(picked, rows, strict=True), start=1)
        ],
        columns=_COLUMNS,
    )


_COLUMNS = [
    "rank", "segment_id", "document_id", "start", "end", "text", "question",
    "uncertain_code", "score", "threshold",
]  # fmt: skip


def _farthest_first(vectors: np.ndarray, k: int) -> list[int]:
    """Indices of ``k`` vectors, each picked as far as possible from those before it.

    The first pick is the most uncertain (index 0: the pool is sorted).
    """
    if k <= 0:
        return []
    chosen = [0]
    nearest = 1.0 - vectors @ vectors[0]
    for _ in range(1, k):
        candidate = int(np.argmax(nearest))
        chosen.append(candidate)
        nearest = np.minimum(nearest, 1.0 - vectors @ vectors[candidate])
    return chosen


def suggest_from_run(
    run_dir,
    config,
    *,
    codebook: Codebook | None,
    n: int,
    codes_path=None,
    out=None,
):
    """Everything ``themes suggest`` does for a finished run.

    Args:
        run_dir: The run folder (with auto-codes).
        config: The run's :class:`~pipeline.config.run.PipelineConfig`
            (``ingest.id_column`` for a wide codes file).
        codebook: The run's codebook, to read the codes file with (see
            :func:`pipeline.steps.inputs.resolve_run_inputs`).
        n: How many segments.
        codes_path: Human codes so far; their segments are skipped.
        out: The CSV to write (default ``<run>/suggestions.csv``).

    Returns:
        The path written, or None when there is nothing to suggest (every
        segment is in a document that already has human codes); nothing is
        written then.

    Raises:
        RunNotFoundError: The run has no auto-codes.
        ConfigError: Human codes are given but there is no codebook.
    """
    folder = RunFolder.existing(run_dir)
    segments = folder.segments()
    embeddings = folder.read_embeddings(n_rows=segments.num_rows)
    auto = read_auto_code_matrices(folder, segments.column("segment_id").to_pylist())
    coded = np.zeros(segments.num_rows, dtype=bool)
    if codes_path is not None:
        if codebook is None:
            raise ConfigError(
                "no codebook to read the human codes with: pass --codebook FILE"
            )
        imported = read_run_codes(
            folder,
            codes_path,
            codebook=codebook,
            documents=document_texts(folder),
            id_column=config.ingest.id_column,
        )
        aligned = align_codes(segments, imported, codebook.leaves())
        coded_documents = (
            set().union(*aligned.documents.values()) if aligned.documents else set()
        )
        coded = np.isin(
            segments.column("document_id").to_pylist(), list(coded_documents)
        )
    table = suggest_segments(
        segments,
        embeddings,
        auto.scores,
        auto.thresholds,
        auto.codes,
        coded,
        n=n,
    )
    if not len(table):
        return None  # every segment is in a document with human codes already
    path = Path(out) if out else folder.file("suggestions.csv")
    return RunFolder(path.parent).write_csv(path.name, table)
