"""Features of segments for the supervised classifier.

Segment embeddings, optionally joined with TF-IDF word features of the
segments' texts (``classify.tfidf``). :class:`FeatureBuilder` is a
scikit-learn transformer; a trained model saves it with its classifier.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

logger = logging.getLogger(__name__)


class FeatureBuilder(TransformerMixin, BaseEstimator):
    """Segment features: embeddings, optionally joined with TF-IDF word features.

    ``X`` is the segments' embeddings. With ``tfidf``, :meth:`fit` and
    :meth:`transform` also take the segments' texts (``texts``, aligned with
    the rows of ``X``): the TF-IDF vocabulary is learnt from the texts given
    to :meth:`fit`.

    Args:
        tfidf: Whether to add TF-IDF features of the texts.

    Attributes:
        vectorizer_: The fitted TF-IDF vectorizer, or None (without ``tfidf``,
            or when no word occurs twice in the texts).
        n_features_in_: Embedding dimension.
    """

    def __init__(self, *, tfidf: bool = False) -> None:
        self.tfidf = tfidf

    def fit(self, X, y=None, *, texts: Sequence[str] | None = None) -> FeatureBuilder:
        """Learn the TF-IDF vocabulary of the texts (with ``tfidf``).

        Args:
            X: ``(n_segments, dimension)`` embeddings.
            y: Ignored.
            texts: The segments' texts (needed with ``tfidf``).

        Returns:
            self

        Raises:
            ValueError: ``tfidf`` is set and ``texts`` are missing or not one
                per row of ``X``.
        """
        X = validate_data(self, X, dtype=np.float64)
        self.vectorizer_ = None
        if self.tfidf:
            # heavy: kept out of start-up
            from sklearn.feature_extraction.text import TfidfVectorizer

            texts = self._checked_texts(texts, X)
            try:
                self.vectorizer_ = TfidfVectorizer(
                    sublinear_tf=True, ngram_range=(1, 2), min_df=2, max_features=30_000
                ).fit(texts)
            except ValueError:
                # no word occurs twice (tiny or empty texts): embeddings only
                logger.info("classify: too few repeated words for TF-IDF features")
        return self

    def transform(self, X, *, texts: Sequence[str] | None = None):
        """Build features for segments.

        Args:
            X: ``(n_segments, dimension)`` embeddings.
            texts: The segments' texts (needed when a vocabulary was learnt).

        Returns:
            The embeddings as float64, or, with a TF-IDF vocabulary, a sparse
            CSR matrix of the embeddings followed by the word features.

        Raises:
            ValueError: ``texts`` are needed and missing or not one per row.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if not self.tfidf or self.vectorizer_ is None:
            return X
        words = self.vectorizer_.transform(self._checked_texts(texts, X))
        return sp.hstack([sp.csr_matrix(X), words], format="csr")

    def fit_transform(self, X, y=None, *, texts: Sequence[str] | None = None):
        """Fit, then build the features of the same segments."""
        return self.fit(X, y, texts=texts).transform(X, texts=texts)

    @staticmethod
    def _checked_texts(texts: Sequence[str] | None, X: np.ndarray) -> list[str]:
        if texts is None:
            raise ValueError(
                "FeatureBuilder(tfidf=True) needs the segments' texts: pass "
                "texts=... (one per row of X)"
            )
        texts = list(texts)
        if len(texts) != len(X):
            raise ValueError(
                f"texts and X must be aligned: got {len(texts)} texts for "
                f"{len(X)} rows of X"
            )
        return texts
