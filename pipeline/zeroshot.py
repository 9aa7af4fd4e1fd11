"""Zero-shot coding from a codebook: prototypes, keyword evidence, decisions.

For a study with only a codebook. Each code's prototype texts (name and
definition, include notes, examples) and counter-examples are embedded with
the same model as the segments; a :class:`~pipeline.classify.PrototypeClassifier`
scores segments against them and chooses a threshold per code from the
codebook alone. Keywords and phrases of the codebook, found with spaCy's
``PhraseMatcher`` (case-insensitive), add ``keyword_bonus`` to a code's score
(by default enough to lift the code over its threshold: on real comments the
keywords are the stronger evidence, see ``docs/classifiers.md``).

With ``keyword_training`` (the default), a code whose keywords occur in at
least ``min_examples`` segments of the corpus is decided by a classifier
trained on the corpus itself with those keyword matches as (weak) labels: a
logistic regression on the embeddings, cross-fitted by document so that no
segment is scored by a model that saw its own keyword match. It finds the
segments that say the same thing in other words. A segment gets the code when
its keywords occur or the model's probability reaches
``keyword_training_threshold``. No human codes are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.classify import PrototypeClassifier, decide
from pipeline.codebook import Codebook
from pipeline.config import ClassifyConfig


def prototype_training_set(
    codebook: Codebook, codes: Sequence[str], embedder
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Embed each code's prototype texts and counter-examples.

    Returns:
        ``(X, Y, counter_X, counter_Y)``: embeddings and indicator matrices
        (one column per code in ``codes``).
    """
    texts, owners, counter_texts, counter_owners = [], [], [], []
    for j, code_id in enumerate(codes):
        code = codebook[code_id]
        for text in code.prototype_texts():
            texts.append(text)
            owners.append(j)
        for text in code.counter_examples:
            counter_texts.append(text)
            counter_owners.append(j)
    embedded = embedder.embed(texts + counter_texts)
    X, counter_X = embedded[: len(texts)], embedded[len(texts) :]
    Y = np.zeros((len(texts), len(codes)), dtype=int)
    Y[np.arange(len(texts)), owners] = 1
    counter_Y = np.zeros((len(counter_texts), len(codes)), dtype=int)
    counter_Y[np.arange(len(counter_texts)), counter_owners] = 1
    return X, Y, counter_X, counter_Y


def keyword_hits(
    texts: Sequence[str], codebook: Codebook, codes: Sequence[str]
) -> np.ndarray:
    """Which codes' keywords or phrases occur in each text (case-insensitive).

    Returns:
        ``(n_texts, n_codes)`` booleans.
    """
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
class ZeroShotCoder:
    """A codebook turned into a fitted zero-shot classifier.

    Attributes:
        codebook: The codebook.
        codes: Code ids, in score-column order (the codebook's leaf codes).
        classifier: The fitted prototype classifier.
        keyword_bonus: Added to a code's score when its keywords occur.
        model_id: Embedding model of the prototypes.
    """

    codebook: Codebook
    codes: list[str]
    classifier: PrototypeClassifier
    keyword_bonus: float
    model_id: str
    keyword_training: bool = False
    keyword_training_threshold: float = 0.8
    min_examples: int = 8
    random_state: int = 0
    keyword_trained_: np.ndarray | None = None

    @property
    def thresholds_(self) -> np.ndarray:
        """Each code's threshold (the keyword-trained codes': ``keyword_training_threshold``)."""
        thresholds = np.asarray(self.classifier.thresholds_, dtype=float).copy()
        if self.keyword_trained_ is not None:
            thresholds[self.keyword_trained_] = self.keyword_training_threshold
        return thresholds

    @classmethod
    def fit(
        cls,
        codebook: Codebook,
        embedder,
        config: ClassifyConfig,
        *,
        random_state: int = 0,
    ) -> ZeroShotCoder:
        """Embed the codebook's prototypes and choose a threshold per code."""
        codes = codebook.leaves()
        X, Y, counter_X, counter_Y = prototype_training_set(codebook, codes, embedder)
        classifier = PrototypeClassifier(
            threshold=config.zero_shot_threshold,
            margin=config.margin,
            max_labels=config.max_labels,
            counter_weight=config.counter_weight,
        ).fit(X, Y, counter_X=counter_X, counter_y=counter_Y)
        return cls(
            codebook,
            codes,
            classifier,
            config.keyword_bonus,
            embedder.model_id,
            keyword_training=config.keyword_training,
            keyword_training_threshold=config.keyword_training_threshold,
            min_examples=config.min_examples,
            random_state=random_state,
        )

    def score(
        self,
        texts: Sequence[str],
        embeddings: np.ndarray,
        groups: Sequence | None = None,
    ) -> np.ndarray:
        """Scores ``(n_segments, n_codes)``.

        Prototype similarity plus keyword evidence; for the keyword-trained
        codes, the cross-fitted probability (1 where the keywords occur).

        Args:
            texts: Segment texts.
            embeddings: Their embeddings.
            groups: Each segment's document (cross-fitting keeps a document's
                segments together); by default each segment is its own group.
        """
        scores = self.classifier.score_codes(embeddings)
        hits = keyword_hits(texts, self.codebook, self.codes)
        if self.keyword_bonus:
            scores = scores + self.keyword_bonus * hits
        self.keyword_trained_ = np.zeros(len(self.codes), dtype=bool)
        if self.keyword_training:
            probabilities, trained = keyword_trained_scores(
                embeddings,
                hits,
                groups=groups,
                min_positives=self.min_examples,
                random_state=self.random_state,
            )
            scores[:, trained] = np.maximum(probabilities[:, trained], hits[:, trained])
            self.keyword_trained_ = trained
        return scores

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """Multi-label decisions from scores (abstention allowed)."""
        trained = (
            self.keyword_trained_
            if self.keyword_trained_ is not None
            else np.zeros(scores.shape[1], dtype=bool)
        )
        decisions = np.zeros(scores.shape, dtype=bool)
        decisions[:, trained] = scores[:, trained] >= self.keyword_training_threshold
        others = ~trained
        if others.any():
            decisions[:, others] = decide(
                scores[:, others],
                np.asarray(self.classifier.thresholds_, dtype=float)[others],
                margin=self.classifier.margin,
                max_labels=self.classifier.max_labels,
            )
        return decisions


def keyword_trained_scores(
    embeddings: np.ndarray,
    hits: np.ndarray,
    *,
    groups: Sequence | None = None,
    min_positives: int = 8,
    folds: int = 5,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-fitted probabilities of each code from models trained on keyword matches.

    Args:
        embeddings: Segment embeddings ``(n, d)``.
        hits: Keyword matches ``(n, n_codes)``, the weak labels.
        groups: Each segment's document; folds keep groups together.
        min_positives: Codes with fewer matching segments are not trained.
        folds: Cross-fitting folds.
        random_state: Seed of the logistic regressions.

    Returns:
        ``(probabilities, trained)``: ``(n, n_codes)`` out-of-fold
        probabilities (0 for untrained codes) and which codes were trained.
    """
    from sklearn.linear_model import LogisticRegression

    from pipeline.train import grouped_folds

    n, k = hits.shape
    probabilities = np.zeros((n, k))
    trained = np.zeros(k, dtype=bool)
    if n == 0:
        return probabilities, trained
    groups = np.arange(n) if groups is None else np.asarray(groups)
    if len(np.unique(groups)) < 2:
        return probabilities, trained
    splits = grouped_folds(groups, folds)
    for j in range(k):
        weak = hits[:, j].astype(bool)
        if weak.sum() < min_positives or (~weak).sum() < min_positives:
            continue
        column = np.zeros(n)
        for train, test in splits:
            if weak[train].all() or not weak[train].any():
                break
            model = LogisticRegression(
                C=1.0, class_weight="balanced", max_iter=1000, random_state=random_state
            )
            model.fit(embeddings[train], weak[train])
            column[test] = model.predict_proba(embeddings[test])[:, 1]
        else:
            probabilities[:, j] = column
            trained[j] = True
    return probabilities, trained
