"""Zero-shot coding from a codebook: prototypes, keyword evidence, decisions.

For a study with only a codebook. Each code's prototype texts (name and
definition, include notes, examples) and counter-examples are embedded with
the same model as the segments; a :class:`~pipeline.classify.PrototypeClassifier`
scores segments against them and chooses a threshold per code from the
codebook alone. Keywords and phrases of the codebook, found with spaCy's
``PhraseMatcher`` (case-insensitive), add ``keyword_bonus`` to a code's score
(by default enough to lift the code over its threshold: on real comments the
keywords are the stronger evidence, see ``docs/classifiers.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.classify import PrototypeClassifier
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

    @classmethod
    def fit(cls, codebook: Codebook, embedder, config: ClassifyConfig) -> ZeroShotCoder:
        """Embed the codebook's prototypes and choose a threshold per code."""
        codes = codebook.leaves()
        X, Y, counter_X, counter_Y = prototype_training_set(codebook, codes, embedder)
        classifier = PrototypeClassifier(
            threshold=config.zero_shot_threshold,
            margin=config.margin,
            max_labels=config.max_labels,
            counter_weight=config.counter_weight,
        ).fit(X, Y, counter_X=counter_X, counter_y=counter_Y)
        return cls(codebook, codes, classifier, config.keyword_bonus, embedder.model_id)

    def score(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """Scores ``(n_segments, n_codes)``: prototype similarity plus keyword evidence."""
        scores = self.classifier.score_codes(embeddings)
        if self.keyword_bonus:
            scores = scores + self.keyword_bonus * keyword_hits(
                texts, self.codebook, self.codes
            )
        return scores

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """Multi-label decisions from scores (abstention allowed)."""
        return self.classifier.predict_indicator(None, scores)
