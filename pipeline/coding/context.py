"""A segment in its context: its own embedding, its turn's and its question's.

Human coders read a sentence inside its speaker turn, after the interviewer's
question. :func:`context_features` gives the supervised coder the same view:
each segment's row is its own embedding, the mean embedding of the segments
of its turn (the turn a segment belongs to is its ``document_id`` and
``turn_index``, so the context follows the exact offsets the segmenter kept),
and the embedding of the interviewer question before the turn (zeros when
there is none). On the think-aloud transcripts this raised mean per-code
kappa at turns from 0.39 (segment alone) to 0.57 in leave-one-transcript-out
cross-validation (see ``benchmarks/README.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

CONTEXT_PARTS = ("segment", "turn", "question")
"""The blocks of a context feature row, in order."""


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.clip(norms, 1e-12, None)


def turn_means(
    document_ids: Sequence[str], turn_indexes: Sequence[int], embeddings: np.ndarray
) -> np.ndarray:
    """Each segment's turn: the unit-length mean of its turn's segment embeddings.

    Args:
        document_ids: Each segment's document.
        turn_indexes: Each segment's turn in its document.
        embeddings: ``(n_segments, dimension)`` segment embeddings.

    Returns:
        ``(n_segments, dimension)``: row ``i`` is the mean over the segments
        that share segment ``i``'s document and turn, scaled to unit length.
    """
    keys = list(zip(document_ids, turn_indexes, strict=True))
    index = {key: n for n, key in enumerate(dict.fromkeys(keys))}
    turn_of = np.fromiter((index[key] for key in keys), dtype=np.int64, count=len(keys))
    sums = np.zeros((len(index), embeddings.shape[1]), dtype=np.float64)
    np.add.at(sums, turn_of, embeddings)
    return _unit(sums)[turn_of].astype(np.float32)


def context_features(
    segments: pa.Table,
    embeddings: np.ndarray,
    embed_texts: Callable[[list[str]], np.ndarray],
) -> np.ndarray:
    """Segment, turn and question embeddings side by side, one row per segment.

    Args:
        segments: The segment table (``document_id``, ``turn_index``,
            ``question``), aligned with ``embeddings``.
        embeddings: ``(n_segments, dimension)`` segment embeddings.
        embed_texts: Embeds texts (the questions) with the segments' model.

    Returns:
        ``(n_segments, 3 * dimension)`` float32 features (see
        :data:`CONTEXT_PARTS`).

    Raises:
        ValueError: ``embeddings`` is not one row per segment.
    """
    if len(embeddings) != segments.num_rows:
        raise ValueError(
            f"context features: {len(embeddings)} embeddings for "
            f"{segments.num_rows} segments"
        )
    embeddings = np.asarray(embeddings, dtype=np.float32)
    turns = turn_means(
        segments.column("document_id").to_pylist(),
        segments.column("turn_index").to_pylist(),
        embeddings,
    )
    questions = segments.column("question").to_pylist()
    asked = sorted({q for q in questions if q and q.strip()})
    question_rows = np.zeros_like(embeddings)
    if asked:
        vectors = dict(zip(asked, np.asarray(embed_texts(asked)), strict=True))
        for row, question in enumerate(questions):
            if question in vectors:
                question_rows[row] = vectors[question]
    return np.hstack([embeddings, turns, question_rows])
