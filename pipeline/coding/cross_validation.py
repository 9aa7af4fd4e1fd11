"""Grouped cross-validation of the supervised classifier, and its learning curve.

Evaluation is always grouped cross-validation (:mod:`pipeline.coding.folds`):
every segment of a document (or of a respondent, with ``classify.group_by``)
falls in the same fold, so no text is in both the training and the test part
of a fold. The out-of-fold decisions give each code's precision, recall, F1
and kappa (:func:`code_metrics`); the learning curve repeats the
cross-validation with a growing share of each fold's training documents.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.coding.features import FeatureBuilder
from pipeline.coding.folds import grouped_folds
from pipeline.coding.supervised import SupervisedClassifier
from pipeline.config.analysis import ClassifyConfig


def code_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 and Cohen's kappa of one code's decisions.

    Kappa is 1 when the decisions equal the truth, and 0 where it is undefined.
    """
    # heavy: kept out of start-up
    from sklearn.metrics import (
        cohen_kappa_score,
        f1_score,
        precision_score,
        recall_score,
    )

    if truth.all() == predicted.all() and (truth == predicted).all():
        kappa = 1.0
    else:
        kappa = float(np.nan_to_num(cohen_kappa_score(truth, predicted), nan=0.0))
    return {
        "precision": float(precision_score(truth, predicted, zero_division=0.0)),
        "recall": float(recall_score(truth, predicted, zero_division=0.0)),
        "f1": float(f1_score(truth, predicted, zero_division=0.0)),
        "kappa": kappa,
    }


def supervised_classifier(
    config: ClassifyConfig, random_state: int
) -> SupervisedClassifier:
    """An unfitted :class:`SupervisedClassifier` with the ``classify`` settings."""
    return SupervisedClassifier(
        threshold_metric=config.threshold_metric,
        cv=3,
        n_jobs=config.n_jobs,
        random_state=random_state,
    )


def cross_validate(
    texts: Sequence[str],
    embeddings: np.ndarray,
    labels: np.ndarray,
    groups: Sequence,
    config: ClassifyConfig,
    *,
    random_state: int = 0,
    train_share: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold scores and decisions from grouped cross-validation.

    Args:
        texts: Segment texts (for TF-IDF features).
        embeddings: Segment embeddings.
        labels: ``(n, n_codes)`` human codes.
        groups: Group of each segment.
        config: The ``classify`` section.
        random_state: Seed.
        train_share: Share of each fold's training groups used (for learning curves).

    Returns:
        ``(scores, decisions)``, each ``(n, n_codes)``; every row comes from a
        model that never saw the row's group.
    """
    groups = np.asarray(groups)
    scores = np.zeros(labels.shape, dtype=float)
    decisions = np.zeros(labels.shape, dtype=bool)
    rng = np.random.default_rng(random_state)
    for train, test in grouped_folds(groups, config.cv_folds):
        if train_share < 1.0:
            train_groups = np.unique(groups[train])
            keep = rng.choice(
                train_groups,
                size=max(2, round(train_share * len(train_groups))),
                replace=False,
            )
            train = train[np.isin(groups[train], keep)]
        features = FeatureBuilder(tfidf=config.tfidf)
        X_train = features.fit_transform(
            embeddings[train], texts=[texts[i] for i in train]
        )
        X_test = features.transform(embeddings[test], texts=[texts[i] for i in test])
        model = supervised_classifier(config, random_state).fit(
            X_train, labels[train], groups=groups[train]
        )
        scores[test] = model.score_codes(X_test)
        decisions[test] = model.predict_indicator(X_test, scores[test])
    return scores, decisions


def learning_curve(
    texts: Sequence[str],
    embeddings: np.ndarray,
    labels: np.ndarray,
    codes: Sequence[str],
    groups: Sequence,
    config: ClassifyConfig,
    *,
    random_state: int = 0,
    full_decisions: np.ndarray | None = None,
) -> pd.DataFrame:
    """Cross-validated kappa and F1 per code as the share of training documents grows.

    Args:
        texts: Segment texts.
        embeddings: Segment embeddings.
        labels: ``(n, n_codes)`` human codes.
        codes: Code ids of the columns.
        groups: Group of each segment.
        config: The ``classify`` section (``learning_curve`` shares).
        random_state: Seed.
        full_decisions: Out-of-fold decisions already computed with all the
            training data (reused for share 1.0).

    Returns:
        Rows of ``share, code, n_examples`` (human examples in the training
        part, averaged over folds), ``kappa``, ``f1``.
    """
    rows = []
    n_folds = len(grouped_folds(groups, config.cv_folds))
    for share in sorted(set(config.learning_curve)):
        if share >= 1.0 and full_decisions is not None:
            decisions = full_decisions
        else:
            _, decisions = cross_validate(
                texts,
                embeddings,
                labels,
                groups,
                config,
                random_state=random_state,
                train_share=min(share, 1.0),
            )

        for j, code in enumerate(codes):
            metrics = code_metrics(labels[:, j], decisions[:, j])
            rows.append(
                {
                    "share": share,
                    "code": code,
                    "n_examples": round(
                        labels[:, j].sum() * share * (n_folds - 1) / n_folds, 1
                    ),
                    "kappa": round(metrics["kappa"], 4),
                    "f1": round(metrics["f1"], 4),
                }
            )
    return pd.DataFrame(rows, columns=["share", "code", "n_examples", "kappa", "f1"])
