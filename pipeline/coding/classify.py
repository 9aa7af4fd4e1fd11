"""Theme classifiers on segment embeddings.

Zero-shot from a codebook, supervised from human codes. Both follow
scikit-learn's estimator contract (``fit`` returns self, fitted attributes end
in ``_``, ``check_is_fitted``), take embedding matrices, are
multi-label (``y`` is an indicator matrix, one column per code; a 1-d ``y`` of
class labels is accepted too, for scikit-learn's checks) and keep their scores,
not only their decisions.

- :class:`PrototypeClassifier` (zero-shot): each code is described by
  prototype texts from the codebook (name and definition, include notes,
  examples), embedded like the segments. A segment's score for a code is its
  highest cosine similarity to the code's prototypes, lowered when it is
  closer to the code's counter-examples. Each code gets its own threshold,
  chosen on the codebook alone: leave-one-out over its examples against the
  other codes' examples and its counter-examples. A segment takes the codes
  whose score passes their threshold and lies within ``margin`` of its best
  score (at most ``max_labels``); it may take none (abstention).
- :class:`SupervisedClassifier`: one-vs-rest logistic regression with balanced
  class weights and sigmoid-calibrated probabilities, and a threshold per code
  chosen on out-of-fold predictions (grouped by document when groups are
  given) to maximise Cohen's kappa (or F1).
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import normalize
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

logger = logging.getLogger(__name__)


def _as_indicator(y) -> tuple[np.ndarray, np.ndarray, bool]:
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


class _MultiLabelMixin:
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


def _best_threshold(
    scores: np.ndarray, truth: np.ndarray, *, metric: str, grid: np.ndarray
) -> tuple[float, float]:
    """The threshold on ``grid`` that maximises ``metric`` (kappa or f1) and its value.

    Every threshold's confusion counts at once; the values equal scikit-learn's
    ``f1_score`` (``zero_division=0``) and ``cohen_kappa_score`` (0 where it is
    undefined), whose per-call overhead made this loop the slowest part of
    fitting a zero-shot coder.
    """
    best_threshold = float(grid[len(grid) // 2])
    truth = np.asarray(truth, dtype=bool)
    if truth.all() or not truth.any():
        return best_threshold, 0.0
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
            best_threshold, best_value = float(threshold), float(value)
    return best_threshold, best_value


class PrototypeClassifier(_MultiLabelMixin, ClassifierMixin, BaseEstimator):
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
        indicator, self.classes_, self._multilabel = _as_indicator(y)
        unit = normalize(X)
        self.prototypes_ = [unit[indicator[:, j]] for j in range(indicator.shape[1])]
        self.counters_ = [np.zeros((0, X.shape[1])) for _ in range(indicator.shape[1])]
        if counter_X is not None and len(counter_X):
            counter_unit = normalize(np.asarray(counter_X, dtype=np.float64))
            counter_indicator, _, _ = _as_indicator(counter_y)
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
            thresholds[j], _ = _best_threshold(
                all_scores, truth, metric="f1", grid=grid
            )
        return thresholds

    def score_codes(self, X) -> np.ndarray:
        """Score every segment for every code.

        Returns:
            ``(n_segments, n_codes)`` scores (cosine similarity, lowered near
            counter-examples).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        unit = normalize(X)
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


def decide(
    scores: np.ndarray, thresholds: np.ndarray, *, margin: float, max_labels: int
) -> np.ndarray:
    """Turn scores into multi-label decisions (see :class:`PrototypeClassifier`)."""
    passed = scores >= thresholds[None, :]
    best = scores.max(axis=1, keepdims=True) if scores.size else scores
    passed &= scores >= best - margin
    if max_labels and scores.shape[1] > max_labels:
        rank = np.argsort(-scores, axis=1, kind="stable").argsort(axis=1, kind="stable")
        passed &= rank < max_labels
    return passed


class SupervisedClassifier(_MultiLabelMixin, ClassifierMixin, BaseEstimator):
    """One-vs-rest calibrated logistic regression with a tuned threshold per code.

    For each code: out-of-fold decision values from ``cv`` folds (grouped when
    groups are given) fit a calibration map (sigmoid or isotonic) and choose
    the threshold on the calibrated out-of-fold probabilities; the final
    logistic regression is fitted on all the data. Codes are fitted in
    parallel with ``n_jobs``.

    Args:
        C: Inverse regularisation strength.
        class_weight: ``"balanced"`` (rare codes count as much as common ones) or None.
        calibration: ``"sigmoid"``, ``"isotonic"`` or ``"none"``.
        threshold_metric: ``"kappa"`` (default) or ``"f1"``, maximised on
            out-of-fold predictions to choose each code's threshold.
        cv: Folds for the out-of-fold predictions.
        n_jobs: Codes fitted at once (joblib).
        random_state: Seed of the fold split when there are no groups.

    Attributes:
        classes_: Codes (column indices for an indicator ``y``).
        estimators_: Per code, the fitted logistic regression, or None for a
            code with a single class in the data.
        calibrators_: Per code, the calibration map, or None.
        constant_: Per code, the class predicted when there is no model.
        thresholds_: Per code, the probability threshold.
        oof_scores_: Out-of-fold kappa (or F1) at the chosen threshold, per code.
        n_features_in_: Number of features.
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        class_weight: str | None = "balanced",
        calibration: str = "sigmoid",
        threshold_metric: str = "kappa",
        cv: int = 3,
        n_jobs: int | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.threshold_metric = threshold_metric
        self.cv = cv
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y, *, groups=None) -> SupervisedClassifier:
        """Fit one calibrated model per code and choose each code's threshold.

        Args:
            X: ``(n_segments, n_features)`` features (embeddings; sparse allowed).
            y: Labels, or a ``(n_segments, n_codes)`` indicator matrix.
            groups: Document (or respondent) of each segment: folds never
                split a group, so no text leaks between them.

        Returns:
            self
        """
        from joblib import Parallel, delayed

        X, y = validate_data(
            self, X, y, multi_output=True, accept_sparse="csr", dtype=np.float64
        )
        indicator, self.classes_, self._multilabel = _as_indicator(y)
        groups = None if groups is None else np.asarray(groups)
        fitted = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_code)(self, X, indicator[:, j], groups)
            for j in range(indicator.shape[1])
        )
        self.estimators_ = [f[0] for f in fitted]
        self.calibrators_ = [f[1] for f in fitted]
        self.constant_ = [f[2] for f in fitted]
        self.thresholds_ = np.array([f[3] for f in fitted], dtype=float)
        self.oof_scores_ = np.array([f[4] for f in fitted], dtype=float)
        return self

    def score_codes(self, X) -> np.ndarray:
        """Calibrated probability of each code for each segment, ``(n, n_codes)``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=np.float64)
        columns = []
        for model, calibrator, constant in zip(
            self.estimators_, self.calibrators_, self.constant_, strict=True
        ):
            if model is None:
                columns.append(np.full(X.shape[0], float(constant)))
            elif calibrator is None:
                columns.append(model.predict_proba(X)[:, 1])
            else:
                columns.append(_calibrate(calibrator, model.decision_function(X)))
        return np.column_stack(columns) if columns else np.zeros((X.shape[0], 0))

    def predict_indicator(self, X, scores: np.ndarray | None = None) -> np.ndarray:
        """Codes whose probability passes their threshold, ``(n, n_codes)`` booleans."""
        scores = self.score_codes(X) if scores is None else scores
        return scores >= self.thresholds_[None, :]

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities.

        Per code for a multi-label fit; per class (normalised) otherwise.
        """
        scores = self.score_codes(X)
        if self._multilabel:
            return scores
        total = scores.sum(axis=1, keepdims=True)
        total[total == 0] = 1.0
        return scores / total

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags


def _logistic(estimator: SupervisedClassifier):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=estimator.C, class_weight=estimator.class_weight, max_iter=2000
    )


def _inner_splits(estimator: SupervisedClassifier, X, truth, groups):
    """Folds for out-of-fold predictions (grouped when groups are given), or None."""
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    n_folds = min(estimator.cv, int(truth.sum()), int((~truth).sum()))
    if groups is not None:
        n_folds = min(n_folds, len(np.unique(groups)))
    if n_folds < 2:
        return None
    if groups is not None:
        splits = list(GroupKFold(n_splits=n_folds).split(X, truth, groups))
    else:
        splitter = StratifiedKFold(
            n_folds, shuffle=True, random_state=estimator.random_state
        )
        splits = list(splitter.split(X, truth))
    if not all(truth[train].any() and not truth[train].all() for train, _ in splits):
        return None
    return splits


def _calibrate(calibrator, decision: np.ndarray) -> np.ndarray:
    if hasattr(calibrator, "predict_proba"):
        return calibrator.predict_proba(decision.reshape(-1, 1))[:, 1]
    return np.clip(calibrator.predict(decision), 0.0, 1.0)


def _fit_code(estimator: SupervisedClassifier, X, truth, groups):
    """Fit one code: ``(model, calibrator, constant, threshold, oof_score)``."""
    from threadpoolctl import threadpool_limits

    # one BLAS thread: these fits are too small for threads to pay (on 2
    # cores a fit on 4,700 x 384 took 0.21 s with two, 0.03 s with one)
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_code_single_threaded(estimator, X, truth, groups)


def _fit_code_single_threaded(estimator: SupervisedClassifier, X, truth, groups):
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    if truth.all() or not truth.any():
        return None, None, bool(truth.all()), 0.5, 0.0
    model = _logistic(estimator).fit(X, truth)
    splits = _inner_splits(estimator, X, truth, groups)
    if splits is None:
        return model, None, False, 0.5, 0.0
    decision = cross_val_predict(
        _logistic(estimator), X, truth, cv=splits, method="decision_function"
    )
    calibrator = None
    if estimator.calibration == "sigmoid":
        calibrator = LogisticRegression(C=1e6).fit(decision.reshape(-1, 1), truth)
    elif estimator.calibration == "isotonic":
        calibrator = IsotonicRegression(out_of_bounds="clip").fit(decision, truth)
    probability = (
        _calibrate(calibrator, decision)
        if calibrator is not None
        else 1.0 / (1.0 + np.exp(-decision))
    )
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    threshold, score = _best_threshold(
        probability, truth, metric=estimator.threshold_metric, grid=grid
    )
    return model, calibrator, False, threshold, score
