"""Embedders run in this process: feature hashing (tests) and sentence-transformers.

``hashing`` is a deterministic bag-of-words hashing embedder for fast tests,
with no model at all; ``sentence-transformers`` runs the model with torch. The
ONNX Runtime path is in :mod:`pipeline.embed.onnx_runtime`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.embed.base import BaseEmbedder


class HashingEmbedder(BaseEmbedder):
    """Deterministic bag-of-words vectors from feature hashing (for tests).

    Words and word pairs are hashed into ``dimension`` buckets (scikit-learn's
    ``HashingVectorizer``), so texts sharing words get similar vectors. No
    model, no randomness, no start-up cost.

    Args:
        dimension: Vector length.
    """

    def __init__(self, dimension: int = 256) -> None:
        # heavy: kept out of start-up
        from sklearn.feature_extraction.text import HashingVectorizer

        self.dimension = dimension
        self.model_id = f"hashing-{dimension}"
        self._vectorizer = HashingVectorizer(
            n_features=dimension, ngram_range=(1, 2), alternate_sign=False, norm="l2"
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:  # noqa: D102
        if not len(texts):
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._vectorizer.transform(list(texts)).toarray().astype(np.float32)
        empty = ~vectors.any(axis=1)
        vectors[empty, 0] = 1.0  # a text with no words still gets a unit vector
        return vectors


class SentenceTransformerEmbedder(BaseEmbedder):
    """A sentence-transformers model run with torch on the CPU.

    Args:
        model_path: A local model folder.
        model_name: Name used in ``model_id``.
        model_version: Version used in ``model_id``.
        batch_size: Texts per batch.
        threads: torch threads (default: torch's choice).
    """

    def __init__(
        self,
        model_path: Path,
        *,
        model_name: str,
        model_version: str,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        # heavy: kept out of start-up
        from sentence_transformers import SentenceTransformer

        if threads:
            import torch

            torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(model_path), device="cpu")
        self.batch_size = batch_size
        self.dimension = int(self.model.get_embedding_dimension())
        self.model_id = f"{model_name}@{model_version}/torch"

    def embed(self, texts: Sequence[str]) -> np.ndarray:  # noqa: D102
        if not len(texts):
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
