"""Embedding texts through a content-addressed cache.

:func:`embed_texts` embeds only what the cache has not seen: texts are keyed by
the embedder's ``model_id`` (model, version, backend) and the SHA-256 of the
text with white space collapsed, so identical texts are embedded once and a
rerun embeds only new texts. Changing the model invalidates nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pipeline.config.analysis import EmbedConfig
from pipeline.embed.base import BaseEmbedder
from pipeline.embed.registry import cached_embedder, embedder_id
from pipeline.errors import ModelError
from pipeline.progress import report_progress
from pipeline.store.cache_keys import text_key

logger = logging.getLogger(__name__)


class EmbeddingCache(Protocol):
    """Where embeddings are kept between runs, by model and text hash."""

    def get_embeddings(
        self, model_id: str, text_hashes: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """Return the stored vectors among ``text_hashes`` (missing ones left out)."""

    def put_embeddings(
        self, model_id: str, text_hashes: Sequence[str], vectors: np.ndarray
    ) -> None:
        """Store vectors, one per hash."""


class MemoryCache:
    """An in-memory :class:`EmbeddingCache` (for tests and one-off use)."""

    def __init__(self) -> None:
        self.vectors: dict[tuple[str, str], np.ndarray] = {}

    def get_embeddings(  # noqa: D102
        self, model_id: str, text_hashes: Sequence[str]
    ) -> dict[str, np.ndarray]:
        return {
            h: self.vectors[model_id, h]
            for h in text_hashes
            if (model_id, h) in self.vectors
        }

    def put_embeddings(  # noqa: D102
        self, model_id: str, text_hashes: Sequence[str], vectors: np.ndarray
    ) -> None:
        for text_hash, vector in zip(text_hashes, vectors, strict=True):
            self.vectors[model_id, text_hash] = vector


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    """Embeddings aligned with the input texts, and what it cost.

    Attributes:
        vectors: ``(n_texts, dimension)`` float32, row ``i`` for text ``i``.
        model_id: The embedder's ``model_id``.
        n_texts: Texts asked for.
        n_unique: Distinct texts among them.
        n_cached: Distinct texts found in the cache.
        n_embedded: Distinct texts the model had to embed.
    """

    vectors: np.ndarray
    model_id: str
    n_texts: int
    n_unique: int
    n_cached: int
    n_embedded: int


@dataclass(frozen=True)
class EmbeddingPlan:
    """What must be embedded: distinct texts not found in the cache.

    Attributes:
        model_id: The embedder's id.
        keys: Per input text, its cache key.
        texts_by_key: Per distinct key, the first text with it.
        found: Vectors already in the cache, by key.
        missing: Keys to embed, in first-seen order.
    """

    model_id: str
    keys: list[str]
    texts_by_key: dict[str, str]
    found: dict[str, np.ndarray]
    missing: list[str]

    def batches(self, size: int) -> list[list[str]]:
        """The missing keys in chunks of ``size``.

        The same chunks on every executor.
        """
        return [self.missing[i : i + size] for i in range(0, len(self.missing), size)]


def plan_embeddings(
    texts: Sequence[str], model_id: str, cache: EmbeddingCache | None
) -> EmbeddingPlan:
    """Find which distinct texts need embedding (not in the cache)."""
    keys = [text_key(text) for text in texts]
    texts_by_key: dict[str, str] = {}
    for key, text in zip(keys, texts, strict=True):
        texts_by_key.setdefault(key, text)
    unique = list(texts_by_key)
    found = cache.get_embeddings(model_id, unique) if cache is not None else {}
    missing = [key for key in unique if key not in found]
    logger.info(
        "embed: %d texts, %d distinct, %d cached, %d to embed with %s",
        len(texts),
        len(unique),
        len(found),
        len(missing),
        model_id,
    )
    return EmbeddingPlan(model_id, keys, texts_by_key, found, missing)


def embed_batch(embedder: BaseEmbedder, texts: Sequence[str]) -> np.ndarray:
    """Embed one batch and check the shape of what the model returned.

    Raises:
        ModelError: The embedder returned vectors of the wrong shape.
    """
    vectors = embedder.embed(list(texts))
    if vectors.shape != (len(texts), embedder.dimension):
        raise ModelError(
            f"embedder {embedder.model_id} returned shape {vectors.shape} for "
            f"{len(texts)} texts; expected ({len(texts)}, {embedder.dimension})"
        )
    return np.asarray(vectors, dtype=np.float32)


def assemble_embeddings(
    plan: EmbeddingPlan, new: dict[str, np.ndarray], dimension: int
) -> np.ndarray:
    """Vectors aligned with the planned texts, from the cache and the new ones."""
    if not plan.keys:
        return np.zeros((0, dimension), dtype=np.float32)
    vectors = {**plan.found, **new}
    return np.stack([vectors[key] for key in plan.keys]).astype(np.float32, copy=False)


def embed_texts(
    texts: Sequence[str],
    embedder: BaseEmbedder,
    *,
    cache: EmbeddingCache | None = None,
    batch_size: int = 1024,
) -> EmbeddingResult:
    """Embed texts, embedding each distinct text once and only when not cached.

    Args:
        texts: Texts in segment order.
        embedder: The model.
        cache: Where vectors are looked up and stored; None for no cache.
        batch_size: Texts handed to the embedder at a time (for progress and
            for storing as it goes).

    Returns:
        Vectors aligned with ``texts``, with cache statistics.

    Raises:
        ModelError: The embedder returned vectors of the wrong shape.
    """
    plan = plan_embeddings(texts, embedder.model_id, cache)
    new: dict[str, np.ndarray] = {}
    done = 0
    for batch in plan.batches(batch_size):
        vectors = embed_batch(embedder, [plan.texts_by_key[key] for key in batch])
        if cache is not None:
            cache.put_embeddings(embedder.model_id, batch, vectors)
        new.update(zip(batch, vectors, strict=True))
        done += len(batch)
        report_progress("embed", done, len(plan.missing))
    return EmbeddingResult(
        vectors=assemble_embeddings(plan, new, embedder.dimension),
        model_id=embedder.model_id,
        n_texts=len(texts),
        n_unique=len(plan.texts_by_key),
        n_cached=len(plan.found),
        n_embedded=len(plan.missing),
    )


class CachingEmbedder(BaseEmbedder):
    """The configured model behind an :class:`EmbeddingCache`.

    Texts found in the cache are not embedded again, and the model is loaded
    only when some text is missing (for the codebook's prototype texts, which
    are the same on every run).

    Args:
        config: The ``embed`` section.
        cache: Where vectors are looked up and stored (the results store).
    """

    def __init__(self, config: EmbedConfig, cache: EmbeddingCache) -> None:
        self.config = config
        self.cache = cache
        self.model_id = embedder_id(config)

    @property
    def dimension(self) -> int:  # noqa: D102
        return cached_embedder(self.config).dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:  # noqa: D102
        plan = plan_embeddings(texts, self.model_id, self.cache)
        if plan.missing:
            model = cached_embedder(self.config)
            vectors = embed_batch(
                model, [plan.texts_by_key[key] for key in plan.missing]
            )
            self.cache.put_embeddings(self.model_id, plan.missing, vectors)
            new = dict(zip(plan.missing, vectors, strict=True))
        else:
            new = {}
        some = next(iter(new.values()), next(iter(plan.found.values()), None))
        dimension = len(some) if some is not None else self.dimension
        return assemble_embeddings(plan, new, dimension)
