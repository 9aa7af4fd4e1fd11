"""The embedder interface: texts in, L2-normalised float32 vectors out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class BaseEmbedder(ABC):
    """Turns texts into L2-normalised float32 vectors.

    Attributes:
        model_id: Identifies the vectors: model, version and backend. Two
            embedders with the same ``model_id`` give the same vectors.
        dimension: Length of each vector.
    """

    model_id: str
    dimension: int

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts.

        Args:
            texts: The texts, in order.

        Returns:
            A float32 array of shape ``(len(texts), dimension)``, rows of unit length.
        """
