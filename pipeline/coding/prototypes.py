"""Zero-shot classifier: cosine similarity of segments to per-code prototypes.

Each code is described by prototype texts from the codebook (name and
definition, include notes, examples), embedded like the segments. A segment's
score for a code is its highest cosine similarity to the code's prototypes,
lowered when it is closer to the code's counter-examples. Each code gets its
own threshold, chosen on the codebook alone: leave-one-out over its examples
against the other codes' examples and its counter-examples. A segment takes
the codes whose score passes their threshold and lies within ``margin`` of its
best score (at most ``max_labels``); it may take none (abstention).
:class:`PrototypeClassifier` follows scikit-learn's estimator contract (see
:mod:`pipeline.coding.multilabel`).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted, validate_data

from pipeline.coding.multilabel import (
    SCORE_CHUNK,
    MultiLabelMixin,
    as_indicator,
    best_threshold,
    decide,
)


class PrototypeClassifier(MultiLabelMixin, ClassifierMixin, BaseEstimator):
    """Zero-shot multi-label classifier: cosine similarity to per-code prototypes.

    ``fit`` takes the embeddings of the codebook's prototype texts (``X``) and
    which code each describes (``y``); ``counter_X``/``counter_y`` are the
    embeddings of counter-examples and their codes.

    Args:
        threshold: ``"auto"`` (per code, leave-one-out on the prototypes) or a
            number used for every code.
        min_threshold: Lower bound of automatic thresholds.
        max_threshold: Upper bound of automatic thresholds.
        margin: A code is kept only if its score is within ``margin`` of the
            segment's best code score.
        max_labels: At most this many codes per segment.
        counter_weight: How much being closer to a counter-example than to
            the code's prototypes lowers the score.

    Attributes:
        classes_: The codes (column indices for an indicator ``y``).
        prototypes_: Per code, its unit-length prototype vectors.
        counters_: Per code, its unit-length counter-example vectors.
        thresholds_: Per code, its threshold.
        unchecked_: Per code, whether its automatic threshold could not be
            checked on its own prototypes (fewer than two, or nothing to tell
            them from): a default then, which a zero-shot coder adapts to the
            corpus instead.
        n_features_in_: Embedding dimension.
    """

    def __init__(
        self,
        *,
        threshold: float | str = "auto",
        min_threshold: float = 0.3,
        max_threshold: float = 0.7,
        margin: float = 0.08,
        max_labels: int = 3,
        counter_weight: float = 0.5,
    ) -> None:
        self.threshold = threshold
        self.min_threshold = min_threshold
        self.max_threshold = max_threshold
        self.margin = margin
        self.max_labels = max_labels
        self.counter_weight = counter_weight

    def fit(self, X, y, *, counter_X=None, counter_y=None) -> PrototypeClassifier:
        """Store each code's prototypes and choose its threshold.

        Args:
            X: ``(n_prototypes, n_features)`` prototype embeddings.
            y: Code of each prototype: labels, or a ``(n_prototypes, n_codes)``
                indicator matrix.
            counter_X: Embeddings of counter-examples (optional).
            counter_y: Their codes, in the same form as ``y``.

        Returns:
            self
        """
        X, y = validate_data(self, X, y, multi_output=True, dtype=np.float64)
        indicator, self.classes_, self._multilabel = as_indicator(y)
        unit = normalize(X)
        self.prototypes_ = [unit[indicator[:, j]] for j in range(indicator.shape[1])]
        self.counters_ = [np.zeros((0, X.shape[1])) for _ in range(indicator.shape[1])]
        if counter_X is not None and len(counter_X):
            counter_unit = normalize(np.asarray(counter_X, dtype=np.float64))
            counter_indicator, _, _ = as_indicator(counter_y)
            if counter_indicator.shape[1] == indicator.shape[1]:
                self.counters_ = [
                    counter_unit[counter_indicator[:, j]]
                    for j in range(indicator.shape[1])
                ]
        self.unchecked_ = np.zeros(indicator.shape[1], dtype=bool)
        if self.threshold == "auto":
            self.thresholds_ = self._leave_one_out_thresholds(unit, indicator)
        else:
            self.thresholds_ = np.full(indicator.shape[1], float(self.threshold))
        return self

    def _leave_one_out_thresholds(
        self, unit: np.ndarray, indicator: np.ndarray
    ) -> np.ndarray:
        similarity = unit @ unit.T
        np.fill_diagonal(similarity, -np.inf)  # a prototype never vouches for itself
        thresholds = np.empty(indicator.shape[1])
        grid = np.round(
            np.arange(self.min_threshold, self.max_threshold + 1e-9, 0.01), 2
        )
        for j in range(indicator.shape[1]):
            own = indicator[:, j]
            scores = (
                similarity[:, own].max(axis=1)
                if own.sum() > 1
                else np.full(len(unit), -1.0)
            )
            counter = self.counters_[j]
            negatives_scores = scores[~own]
            if len(counter):
                counter_scores = (counter @ unit[own].T).max(axis=1)
                negatives_scores = np.concatenate([negatives_scores, counter_scores])
            positives = scores[own & np.isfinite(scores)]
            if own.sum() < 2 or not len(negatives_scores):
                thresholds[j] = (self.min_threshold + self.max_threshold) / 2
                self.unchecked_[j] = True
                continue
            all_scores = np.concatenate([positives, negatives_scores])
            truth = np.concatenate(
                [np.ones(len(positives), bool), np.zeros(len(negatives_scores), bool)]
            )
            thresholds[j], _ = best_threshold(all_scores, truth, metric="f1", grid=grid)
        return thresholds

    def score_codes(self, X) -> np.ndarray:
        """Score every segment for every code.

        Returns:
            ``(n_segments, n_codes)`` scores (cosine similarity, lowered near
            counter-examples).
        """
        check_is_fitted(self)
        # float32 embeddings are checked as they are, not copied: each chunk
        # becomes float64 in turn (a float64 copy and its unit-length copy of
        # 100,000 x 384 embeddings were 600 MB at once)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        scores = np.full((len(X), len(self.prototypes_)), -1.0)
        for start in range(0, len(X), SCORE_CHUNK):
            stop = start + SCORE_CHUNK
            scores[start:stop] = self._score_chunk(X[start:stop])
        return scores

    def _score_chunk(self, X: np.ndarray) -> np.ndarray:
        unit = normalize(np.asarray(X, dtype=np.float64))
        scores = np.full((len(unit), len(self.prototypes_)), -1.0)
        for j, prototypes in enumerate(self.prototypes_):
            if not len(prototypes):
                continue
            own = (unit @ prototypes.T).max(axis=1)
            counter = self.counters_[j]
            if len(counter) and self.counter_weight:
                closer = np.clip((unit @ counter.T).max(axis=1) - own, 0.0, None)
                own = own - self.counter_weight * closer
            scores[:, j] = own
        return scores

    def predict_indicator(self, X, scores: np.ndarray | None = None) -> np.ndarray:
        """Multi-label decisions: codes past their threshold, near the best, capped.

        Args:
            X: Segment embeddings (ignored when ``scores`` is given).
            scores: Scores from :meth:`score_codes`, to avoid recomputing.

        Returns:
            ``(n_segments, n_codes)`` booleans; a row may be all False.
        """
        scores = self.score_codes(X) if scores is None else scores
        return decide(
            scores, self.thresholds_, margin=self.margin, max_labels=self.max_labels
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.classifier_tags.poor_score = (
            True  # a nearest-prototype rule, not a learner
        )
        return tags
