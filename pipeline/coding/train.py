"""Train the supervised classifier on human codes.

Training data are segments with human codes aligned to them. Each code's
quality is measured by grouped cross-validation
(:mod:`pipeline.coding.cross_validation`): every segment of a document (or of
a respondent, with ``classify.group_by``) falls in the same fold, so no text
is in both the training and the test part of a fold. The out-of-fold
predictions give each code's precision, recall, F1 and kappa, and are kept
with the model so that when the model is later applied to the documents it
was trained on, those documents get their out-of-fold predictions, never
in-sample ones.

A code with fewer than ``classify.min_examples`` human examples is not trained
and is reported as "not enough human examples".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.coding.cross_validation import (
    code_metrics,
    cross_validate,
    learning_curve,
    supervised_classifier,
)
from pipeline.coding.features import FeatureBuilder
from pipeline.coding.trained_model import CodeReport, TrainedModel
from pipeline.config.analysis import ClassifyConfig
from pipeline.errors import ModelError

logger = logging.getLogger(__name__)


def train_supervised(
    texts: Sequence[str],
    embeddings: np.ndarray,
    labels: np.ndarray,
    codes: Sequence[str],
    groups: Sequence,
    config: ClassifyConfig,
    *,
    segment_keys: Sequence[str],
    random_state: int = 0,
) -> TrainedModel:
    """Train one classifier on the codes that have enough human examples.

    Args:
        texts: Segment texts.
        embeddings: Segment embeddings, aligned with ``texts``.
        labels: ``(n, len(codes))`` human codes (combined over coders).
        codes: Code ids of the label columns.
        groups: Group (document or respondent) of each segment.
        config: The ``classify`` section.
        segment_keys: Stable keys of the segments (for the saved out-of-fold scores).
        random_state: Seed.

    Returns:
        The fitted model with its cross-validated reports and learning curve.

    Raises:
        ModelError: No code has enough examples, or fewer than two groups.
    """
    labels = np.asarray(labels, dtype=bool)
    counts = labels.sum(axis=0)
    eligible = [
        j for j, n in enumerate(counts) if n >= config.min_examples and n < len(labels)
    ]
    reports = {
        code: CodeReport(
            code,
            int(counts[j]),
            False,
            reason=(
                f"not enough human examples ({int(counts[j])} < {config.min_examples})"
            ),
        )
        for j, code in enumerate(codes)
        if j not in eligible
    }
    if not eligible:
        raise ModelError(
            f"no code has at least {config.min_examples} human examples "
            "(classify.min_examples); code more segments, or lower the minimum"
        )
    trained_codes = [codes[j] for j in eligible]
    Y = labels[:, eligible]
    logger.info(
        "train: %d codes with enough examples, %d segments", len(eligible), len(Y)
    )
    oof_scores, oof_decisions = cross_validate(
        texts, embeddings, Y, groups, config, random_state=random_state
    )
    features = FeatureBuilder(tfidf=config.tfidf)
    X = features.fit_transform(embeddings, texts=texts)
    classifier = supervised_classifier(config, random_state).fit(
        X, Y, groups=np.asarray(groups)
    )
    for j, code in enumerate(trained_codes):
        metrics = code_metrics(Y[:, j], oof_decisions[:, j])
        reports[code] = CodeReport(
            code,
            int(Y[:, j].sum()),
            True,
            threshold=float(classifier.thresholds_[j]),
            **metrics,
        )
    curve = learning_curve(
        texts,
        embeddings,
        Y,
        trained_codes,
        groups,
        config,
        random_state=random_state,
        full_decisions=oof_decisions,
    )
    oof = pd.DataFrame(oof_scores, columns=trained_codes)
    oof.insert(0, "segment_key", list(segment_keys))
    return TrainedModel(
        classifier=classifier,
        features=features,
        codes=trained_codes,
        reports=[reports[code] for code in codes],
        learning_curve=curve,
        oof=oof,
    )
