"""Bootstrap replicates over documents, drawn and multiplied out a chunk at a time.

Agreement intervals resample documents with replacement
(:func:`~pipeline.agreement.metrics.compare_pair`): each replicate is how often
each document is drawn, and a replicate's 2x2 counts are those draw counts
times the counts per document. At 100,000 documents the replicates of 1,000
draws are a table of 100 million counts; they are drawn and used a chunk at a
time, never held whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

BOOT_CHUNK = 128
"""Replicates drawn and multiplied out at a time.

Float64 copies stay about 100 MB at 100,000 documents.
"""


def bootstrap_chunks(
    n_documents: int, n_boot: int, random_state: int
) -> Iterator[np.ndarray]:
    """How often each document is drawn in each bootstrap replicate, a chunk at a time.

    Drawn :data:`BOOT_CHUNK` replicates at a time, into the smallest unsigned
    type that holds the counts. The draws are the same as one
    ``multinomial`` call of ``n_boot`` rows.

    Yields:
        ``(at most BOOT_CHUNK, n_documents)`` counts, in replicate order.
    """
    rng = np.random.default_rng(random_state)
    if not n_documents:
        return
    dtype = np.uint8 if n_documents < 256 else np.uint16
    share = np.full(n_documents, 1 / n_documents)
    for start in range(0, n_boot, BOOT_CHUNK):
        drawn = rng.multinomial(
            n_documents, share, size=min(BOOT_CHUNK, n_boot - start)
        )
        if drawn.max(initial=0) > np.iinfo(dtype).max:  # never seen; kept exact
            yield drawn.astype(np.uint32)
        else:
            yield drawn.astype(dtype)


def replicated_counts(
    chunks: Iterable[np.ndarray], per_document: np.ndarray
) -> np.ndarray:
    """The replicates' counts: ``replicate @ per_document.T``, chunk by chunk.

    Args:
        chunks: The bootstrap replicates' draws (:func:`bootstrap_chunks`).
        per_document: ``(n_tables, n_documents)`` counts per document.

    Returns:
        ``(n_boot, n_tables)`` counts per replicate.
    """
    return np.vstack(
        [chunk.astype(np.float64) @ per_document.T for chunk in chunks]
        or [np.zeros((0, len(per_document)))]
    )
