"""Keyword evidence for zero-shot coding: matches and models learnt from them.

Keywords and phrases of the codebook are found with spaCy's ``PhraseMatcher``
(case-insensitive, :func:`keyword_hits`). A code whose keywords occur in
enough segments of the corpus gets a logistic regression on the embeddings
trained with those matches as (weak) labels (:func:`keyword_trained_scores`),
cross-fitted by document so that no segment is scored by a model that saw its
own keyword match; :class:`KeywordModels` keeps the mean of the folds' models
for segments not seen yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from pipeline.coding.codebook_records import Codebook
from pipeline.coding.folds import grouped_folds
from pipeline.coding.multilabel import SCORE_CHUNK


def keyword_hits(
    texts: Sequence[str], codebook: Codebook, codes: Sequence[str]
) -> np.ndarray:
    """Which codes' keywords or phrases occur in each text (case-insensitive).

    Returns:
        ``(n_texts, n_codes)`` booleans.
    """
    # heavy: kept out of start-up
    import spacy
    from spacy.matcher import PhraseMatcher

    nlp = spacy.blank("en")
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    for code_id in codes:
        keywords = [k for k in codebook[code_id].keywords if k.strip()]
        if keywords:
            matcher.add(code_id, list(nlp.tokenizer.pipe(keywords)))
    column = {code: j for j, code in enumerate(codes)}
    hits = np.zeros((len(texts), len(codes)), dtype=bool)
    for i, doc in enumerate(nlp.tokenizer.pipe(texts, batch_size=1000)):
        for match_id, _, _ in matcher(doc):
            hits[i, column[nlp.vocab.strings[match_id]]] = True
    return hits


@dataclass
class KeywordModels:
    """Per code, a logistic regression on the embeddings learnt from keyword matches.

    Attributes:
        trained: ``(n_codes,)`` which codes have a model.
        coef: ``(n_codes, dimension)`` weights (zeros for untrained codes): the
            mean of the cross-fitting folds' models.
        intercept: ``(n_codes,)`` intercepts.
    """

    trained: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    @classmethod
    def untrained(cls, n_codes: int, dimension: int) -> KeywordModels:
        """No code has a model."""
        return cls(
            np.zeros(n_codes, dtype=bool),
            np.zeros((n_codes, dimension)),
            np.zeros(n_codes),
        )

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, n_codes)`` probabilities (0 for untrained codes)."""
        probabilities = np.empty((len(embeddings), len(self.trained)))
        # a chunk of rows at a time: a float64 copy of all the embeddings is
        # not made (rows of a multiple of 64: the same bits as one product,
        # see pipeline.coding.multilabel.SCORE_CHUNK)
        for start in range(0, len(embeddings), SCORE_CHUNK):
            rows = slice(start, start + SCORE_CHUNK)
            logits = (
                np.asarray(embeddings[rows], dtype=np.float64) @ self.coef.T
                + self.intercept
            )
            probabilities[rows] = 1.0 / (1.0 + np.exp(-logits))
        probabilities[:, ~self.trained] = 0.0
        return probabilities


WARM_START_ROWS = 10_000
"""Training folds larger than this start their fit from a fit on a sample."""


def keyword_trained_scores(
    embeddings: np.ndarray,
    hits: np.ndarray,
    *,
    groups: Sequence | None = None,
    min_positives: int = 8,
    folds: int = 5,
    random_state: int = 0,
    warm_start_rows: int | None = WARM_START_ROWS,
) -> tuple[np.ndarray, KeywordModels]:
    """Cross-fitted probabilities of each code from models trained on keyword matches.

    Each fold's model is a logistic regression on the fold's training rows. On
    a large fold (more than ``warm_start_rows`` rows) L-BFGS needs more
    iterations the more rows there are (32 at 80,000 rows against 20 at 8,000),
    so the fit grew faster than the corpus. There it starts instead from a fit
    on a sample of the fold (:func:`_sample_rows`, with ``C`` scaled so that
    the sample's objective estimates the fold's), and reaches the fold's own
    solution in a few iterations (3-10 at 80,000 rows). The model is the same
    as a fit from zero within the solver's tolerance: the difference is of the
    size of the difference between the fit from zero and one at 100 times
    tighter tolerance (``benchmarks/classify_scale.py``).

    Args:
        embeddings: Segment embeddings ``(n, d)``.
        hits: Keyword matches ``(n, n_codes)``, the weak labels.
        groups: Each segment's document; folds keep groups together.
        min_positives: Codes with fewer matching segments are not trained.
        folds: Cross-fitting folds.
        random_state: Seed of the logistic regressions and of the samples.
        warm_start_rows: Size of the sample a large fold's fit starts from;
            None: every fit starts from zero.

    Returns:
        ``(probabilities, models)``: ``(n, n_codes)`` out-of-fold
        probabilities (0 for untrained codes), and the models for segments
        not seen yet (``models.trained`` says which codes were trained).
    """
    n, k = hits.shape
    dimension = embeddings.shape[1] if embeddings.ndim == 2 else 0
    probabilities = np.zeros((n, k))
    models = KeywordModels(
        np.zeros(k, dtype=bool), np.zeros((k, dimension)), np.zeros(k)
    )
    if n == 0:
        return probabilities, models
    groups = np.arange(n) if groups is None else np.asarray(groups)
    if len(np.unique(groups)) < 2:
        return probabilities, models
    splits = grouped_folds(groups, folds)
    weak = np.asarray(hits, dtype=bool)
    # a code is trained when it has enough matches and non-matches, and every
    # fold's training rows hold both
    trainable = [
        j
        for j in range(k)
        if min_positives <= weak[:, j].sum() <= n - min_positives
        and all(weak[tr, j].any() and not weak[tr, j].all() for tr, _ in splits)
    ]
    # one BLAS thread: faster for these fits on a few cores (80,000 x 384:
    # 1.3 s with one thread, 1.7 s with two)
    with threadpool_limits(limits=1, user_api="blas"):
        for fold, (train, test) in enumerate(splits):
            # each fold's rows are copied once, not once per code (float32
            # embeddings stay float32: scikit-learn fits them as they are)
            train_x, test_x = embeddings[train], embeddings[test]
            for j in trainable:
                model = _fit_fold(
                    train_x,
                    weak[train, j],
                    warm_start_rows=warm_start_rows,
                    seed=(random_state, fold, j),
                    random_state=random_state,
                )
                probabilities[test, j] = model.predict_proba(test_x)[:, 1]
                models.coef[j] += model.coef_[0] / len(splits)
                models.intercept[j] += float(model.intercept_[0]) / len(splits)
    models.trained[trainable] = True
    return probabilities, models


def _logistic(*, C: float, random_state: int, warm_start: bool = False):
    # heavy: kept out of start-up
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=C,
        class_weight="balanced",
        max_iter=1000,
        random_state=random_state,
        warm_start=warm_start,
    )


def _fit_fold(
    x: np.ndarray,
    y: np.ndarray,
    *,
    warm_start_rows: int | None,
    seed: tuple[int, ...],
    random_state: int,
):
    """One fold's logistic regression: from zero, or from a fit on a sample."""
    model = _logistic(C=1.0, random_state=random_state, warm_start=True)
    if warm_start_rows is not None and len(y) > warm_start_rows:
        rows = _sample_rows(y, warm_start_rows, np.random.default_rng(seed))
        # C scaled: the sample's penalised loss then estimates the fold's
        # (class weights are balanced, so the sample's class shares do not matter)
        start = _logistic(C=len(y) / len(rows), random_state=random_state)
        start.fit(x[rows], y[rows])
        model.coef_, model.intercept_ = start.coef_.copy(), start.intercept_.copy()
    return model.fit(x, y)


def _sample_rows(y: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` rows, sorted: all positives up to half of them, negatives the rest."""
    positives, negatives = np.flatnonzero(y), np.flatnonzero(~y)
    n_positives = min(len(positives), size // 2)
    n_negatives = min(len(negatives), size - n_positives)
    return np.sort(
        np.concatenate(
            [
                rng.choice(positives, n_positives, replace=False),
                rng.choice(negatives, n_negatives, replace=False),
            ]
        )
    )
