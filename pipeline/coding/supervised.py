"""Supervised classifier: calibrated one-vs-rest logistic regression.

:class:`SupervisedClassifier` fits one logistic regression per code, with
balanced class weights and sigmoid-calibrated probabilities, and a threshold
per code chosen on out-of-fold predictions (grouped by document when groups
are given) to maximise Cohen's kappa (or F1). It follows scikit-learn's
estimator contract (see :mod:`pipeline.coding.multilabel`); a trained model
saves it with joblib.
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from pipeline.coding.multilabel import MultiLabelMixin, as_indicator, best_threshold


class SupervisedClassifier(MultiLabelMixin, ClassifierMixin, BaseEstimator):
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
        X, y = validate_data(
            self, X, y, multi_output=True, accept_sparse="csr", dtype=np.float64
        )
        indicator, self.classes_, self._multilabel = as_indicator(y)
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
    # heavy: kept out of start-up
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=estimator.C, class_weight=estimator.class_weight, max_iter=2000
    )


def _inner_splits(estimator: SupervisedClassifier, X, truth, groups):
    """Folds for out-of-fold predictions (grouped when groups are given), or None."""
    # heavy: kept out of start-up
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
    # one BLAS thread: these fits are too small for threads to pay (on 2
    # cores a fit on 4,700 x 384 took 0.21 s with two, 0.03 s with one)
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_code_single_threaded(estimator, X, truth, groups)


def _fit_code_single_threaded(estimator: SupervisedClassifier, X, truth, groups):
    # heavy: kept out of start-up
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
    threshold, score = best_threshold(
        probability, truth, metric=estimator.threshold_metric, grid=grid
    )
    return model, calibrator, False, threshold, score
