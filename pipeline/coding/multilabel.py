"""Multi-label conventions shared by the theme classifiers.

The classifiers take embedding matrices and are multi-label: ``y`` is an
indicator matrix, one column per code (a 1-d ``y`` of class labels is accepted
too, for scikit-learn's checks). They keep their scores, not only their
decisions: :class:`MultiLabelMixin` derives scikit-learn's ``predict`` and
``decision_function`` from a classifier's ``score_codes`` and
``predict_indicator``. :func:`best_threshold` chooses a code's threshold on
scores; :func:`decide` turns scores into decisions.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

SCORE_CHUNK = 4096
"""Segments scored at a time.

A multiple of 64 rows, so that every row meets the BLAS kernels at the same
place as in one product over all rows: the scores are the same to the bit as
unchunked (checked with OpenBLAS at 100,000 segments; a chunk of an odd size
differed in the last bit).
"""


def as_indicator(y) -> tuple[np.ndarray, np.ndarray, bool]:
    """Return ``(Y, classes, multilabel)``.

    ``y`` is a 1-d label vector or an indicator matrix.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim == 2:
        if type_of_target(y) != "multilabel-indicator" and not np.isin(y, (0, 1)).all():
            raise ValueError(
                f"y must be a 0/1 indicator matrix, got {type_of_target(y)!r}"
            )
        return y.astype(bool), np.arange(y.shape[1]), True
    check_classification_targets(y)
    classes = np.unique(y)
    return y[:, None] == classes[None, :], classes, False


class MultiLabelMixin:
    """scikit-learn conventions on top of ``score_codes`` and ``predict_indicator``.

    A multi-label fit (indicator ``y``) predicts indicator matrices and its
    ``decision_function`` is the ``(n, n_codes)`` score matrix. A fit on 1-d
    labels behaves as a multi-class classifier: the best-scoring class is
    predicted, and ``decision_function`` has scikit-learn's usual shape.
    """

    def decision_function(self, X) -> np.ndarray:
        """Scores: ``(n, n_codes)``.

        For a 1-d binary fit, ``(n,)`` (positive: ``classes_[1]``).
        """
        scores = self.score_codes(X)
        if not self._multilabel and scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict(self, X) -> np.ndarray:
        """Indicator matrix for a multi-label fit; the best-scoring class otherwise."""
        scores = self.score_codes(X)
        if self._multilabel:
            return self.predict_indicator(X, scores).astype(int)
        return self.classes_[scores.argmax(axis=1)]


def best_threshold(
    scores: np.ndarray, truth: np.ndarray, *, metric: str, grid: np.ndarray
) -> tuple[float, float]:
    """The threshold on ``grid`` that maximises ``metric`` (kappa or f1) and its value.

    Every threshold's confusion counts at once; the values equal scikit-learn's
    ``f1_score`` (``zero_division=0``) and ``cohen_kappa_score`` (0 where it is
    undefined), whose per-call overhead made this loop the slowest part of
    fitting a zero-shot coder.
    """
    chosen = float(grid[len(grid) // 2])
    truth = np.asarray(truth, dtype=bool)
    if truth.all() or not truth.any():
        return chosen, 0.0
    predicted = np.asarray(scores)[None, :] >= np.asarray(grid)[:, None]
    tp = (predicted & truth).sum(axis=1)
    fp = (predicted & ~truth).sum(axis=1)
    fn = truth.sum() - tp
    tn = len(truth) - tp - fp - fn
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "f1":
            denominator = 2 * tp + fp + fn
            values = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
        else:
            n = len(truth)
            expected = (tn + fn) * (fn + tp) / n + (fp + tp) * (tn + fp) / n
            values = 1 - (fp + fn) / expected
            values = np.where(np.isfinite(values), values, 0.0)
    best_value = -np.inf
    for threshold, value in zip(grid, values, strict=True):
        if value > best_value + 1e-12:
            chosen, best_value = float(threshold), float(value)
    return chosen, best_value


def decide(
    scores: np.ndarray, thresholds: np.ndarray, *, margin: float, max_labels: int
) -> np.ndarray:
    """Turn scores into multi-label decisions.

    A segment takes the codes whose score passes their threshold and lies
    within ``margin`` of its best score, at most ``max_labels`` of them (see
    :class:`~pipeline.coding.prototypes.PrototypeClassifier`); it may take none.
    """
    passed = scores >= thresholds[None, :]
    best = scores.max(axis=1, keepdims=True) if scores.size else scores
    passed &= scores >= best - margin
    if max_labels and scores.shape[1] > max_labels:
        rank = np.argsort(-scores, axis=1, kind="stable").argsort(axis=1, kind="stable")
        passed &= rank < max_labels
    return passed
