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
        logits = np.asarray(embeddings, dtype=np.float64) @ self.coef.T + self.intercept
        probabilities = 1.0 / (1.0 + np.exp(-logits))
        probabilities[:, ~self.trained] = 0.0
        return probabilities


def keyword_trained_scores(
    embeddings: np.ndarray,
    hits: np.ndarray,
    *,
    groups: Sequence | None = None,
    min_positives: int = 8,
    folds: int = 5,
    random_state: int = 0,
) -> tuple[np.ndarray, KeywordModels]:
    """Cross-fitted probabilities of each code from models trained on keyword matches.

    Args:
        embeddings: Segment embeddings ``(n, d)``.
        hits: Keyword matches ``(n, n_codes)``, the weak labels.
        groups: Each segment's document; folds keep groups together.
        min_positives: Codes with fewer matching segments are not trained.
        folds: Cross-fitting folds.
        random_state: Seed of the logistic regressions.

    Returns:
        ``(probabilities, models)``: ``(n, n_codes)`` out-of-fold
        probabilities (0 for untrained codes), and the models for segments
        not seen yet (``models.trained`` says which codes were trained).
    """
    # heavy: kept out of start-up
    from sklearn.linear_model import LogisticRegression

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
    # one BLAS thread: faster for these fits on a few cores (80,000 x 384:
    # 1.3 s with one thread, 1.7 s with two)
    with threadpool_limits(limits=1, user_api="blas"):
        for j in range(k):
            weak = hits[:, j].astype(bool)
            if weak.sum() < min_positives or (~weak).sum() < min_positives:
                continue
            column = np.zeros(n)
            coef, intercept = np.zeros(dimension), 0.0
            for train, test in splits:
                if weak[train].all() or not weak[train].any():
                    break
                model = LogisticRegression(
                    C=1.0,
                    class_weight="balanced",
                    max_iter=1000,
                    random_state=random_state,
                )
                model.fit(embeddings[train], weak[train])
                column[test] = model.predict_proba(embeddings[test])[:, 1]
                coef += model.coef_[0] / len(splits)
                intercept += float(model.intercept_[0]) / len(splits)
            else:
                probabilities[:, j] = column
                models.trained[j] = True
                models.coef[j] = coef
                models.intercept[j] = intercept
    return probabilities, models
