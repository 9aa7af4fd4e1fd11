"""Zero-shot coding from a codebook: prototypes, keyword evidence, decisions.

For a study with only a codebook. Each code's prototype texts (name and
definition, include notes, examples) and counter-examples are embedded with the
same model as the segments; a
:class:`~pipeline.coding.prototypes.PrototypeClassifier` scores segments
against them and chooses a threshold per code from the codebook alone. Keywords
and phrases of the codebook, found with spaCy's ``PhraseMatcher``
(case-insensitive), add ``keyword_bonus`` to a code's score (by default enough
to lift the code over its threshold: on real comments the keywords are the
stronger evidence, see ``docs/classifiers.md``).

With ``keyword_training`` (the default), a code whose keywords occur in at
least ``min_examples`` segments of the corpus is decided by a classifier
trained on the corpus itself with those keyword matches as (weak) labels: a
logistic regression on the embeddings, cross-fitted by document so that no
segment is scored by a model that saw its own keyword match
(:mod:`pipeline.coding.keywords`). It finds the segments that say the same
thing in other words. A segment gets the code when its keywords occur or the
model's probability reaches ``keyword_training_threshold``. No human codes are
used.

On a rerun with new documents (``classify.update: transform``, the default) the
corpus's keyword models are not trained again:
:class:`~pipeline.coding.saved_coding.SavedCoding` keeps every segment's scores
and the models (the mean of the cross-fitting folds' logistic regressions), so
earlier segments keep their scores and new ones are scored by models that never
saw them. The models are trained again when ``classify.update`` is ``refit``,
when the settings or codebook change, or when the segments added since the last
training reach ``refit_growth`` times those it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from pipeline.coding.codebook_records import Codebook
from pipeline.coding.keywords import (
    WARM_START_ROWS,
    KeywordModels,
    keyword_hits,
    keyword_trained_scores,
)
from pipeline.coding.multilabel import decide
from pipeline.coding.prototypes import PrototypeClassifier
from pipeline.config.analysis import ClassifyConfig


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


class ZeroShotCoder(BaseEstimator):
    """A codebook turned into a zero-shot coder, in scikit-learn's shape.

    ``__init__`` stores settings only. :meth:`fit` learns from the corpus to
    code, without human codes: it embeds the codebook's prototypes (with
    ``embedder``), learns each code's keyword model from the corpus's keyword
    matches (cross-fitted by document), or takes ``keyword_models`` saved from
    an earlier training, sets the thresholds of codes with definitions only
    from the corpus, and keeps the scores of the segments it was given in
    ``fit_scores_``. :meth:`score` scores segments the keyword models have not
    seen and :meth:`decide` turns scores into codes; neither changes the coder.

    Args:
        codebook: The codebook.
        embedder: Embeds the prototype texts (the segments' model).
        threshold: ``"auto"`` (per code, from its prototypes) or one number.
        margin: A code is kept only within this distance of the best score.
        max_labels: At most this many codes per segment.
        counter_weight: How much nearness to a counter-example lowers a score.
        keyword_bonus: Added to a code's score when its keywords occur.
        keyword_training: Learn codes from their keyword matches in the corpus.
        keyword_training_threshold: The probability those models need.
        keyword_warm_start_rows: A cross-fitting fold larger than this starts
            its keyword model from a fit on a sample this size (see
            :func:`~pipeline.coding.keywords.keyword_trained_scores`); None:
            from zero.
        min_examples: Fewer keyword matches: the code is not keyword-trained.
        corpus_threshold_z: Codes with definitions only take the corpus's
            median score plus this many robust SDs as threshold; None keeps
            the prototype classifier's default. 2.5 (1.5 before) measured best
            on both real sets with definitions only (see
            :meth:`_corpus_thresholds`).
        random_state: Seed of the keyword models.

    Attributes:
        codes_: Code ids, in score-column order (the codebook's leaf codes).
        classifier_: The fitted prototype classifier.
        model_id_: Embedding model of the prototypes.
        keyword_models_: The keyword models (for segments not seen yet).
        keyword_trained_: Which codes are decided by their keyword model.
        corpus_thresholds_: Per code, the threshold taken from the corpus
            (NaN where the codebook's own is kept).
        fit_scores_: ``(n_segments, n_codes)`` scores of the segments given to
            :meth:`fit`, cross-fitted where a keyword model trained on them
            decides.
    """

    def __init__(
        self,
        codebook: Codebook,
        embedder,
        *,
        threshold: float | str = "auto",
        margin: float = 0.15,
        max_labels: int = 3,
        counter_weight: float = 0.5,
        keyword_bonus: float = 1.0,
        keyword_training: bool = True,
        keyword_training_threshold: float = 0.8,
        keyword_warm_start_rows: int | None = WARM_START_ROWS,
        min_examples: int = 8,
        corpus_threshold_z: float | None = 2.5,
        random_state: int = 0,
    ) -> None:
        self.codebook = codebook
        self.embedder = embedder
        self.threshold = threshold
        self.margin = margin
        self.max_labels = max_labels
        self.counter_weight = counter_weight
        self.keyword_bonus = keyword_bonus
        self.keyword_training = keyword_training
        self.keyword_training_threshold = keyword_training_threshold
        self.keyword_warm_start_rows = keyword_warm_start_rows
        self.min_examples = min_examples
        self.corpus_threshold_z = corpus_threshold_z
        self.random_state = random_state

    @classmethod
    def from_config(
        cls,
        codebook: Codebook,
        embedder,
        config: ClassifyConfig,
        *,
        random_state: int = 0,
        **overrides,
    ) -> ZeroShotCoder:
        """An unfitted coder with the ``classify`` settings (and any overrides)."""
        settings = dict(
            threshold=config.zero_shot_threshold,
            margin=config.margin,
            max_labels=config.max_labels,
            counter_weight=config.counter_weight,
            keyword_bonus=config.keyword_bonus,
            keyword_training=config.keyword_training,
            keyword_training_threshold=config.keyword_training_threshold,
            keyword_warm_start_rows=config.keyword_warm_start_rows,
            min_examples=config.min_examples,
            corpus_threshold_z=config.corpus_threshold_z,
            random_state=random_state,
        )
        return cls(codebook, embedder, **(settings | overrides))

    def fit(
        self,
        texts: Sequence[str],
        embeddings: np.ndarray,
        *,
        groups: Sequence | None = None,
        keyword_models: KeywordModels | None = None,
        earlier_scores: np.ndarray | None = None,
    ) -> ZeroShotCoder:
        """Fit the coder to a corpus (no human codes are used).

        Args:
            texts: Segment texts of the corpus (or, with ``keyword_models``,
                its segments not scored before).
            embeddings: Their embeddings.
            groups: Each segment's document (cross-fitting keeps a document's
                segments together); by default each segment is its own group.
            keyword_models: Keyword models saved from an earlier training, to
                use instead of training them again.
            earlier_scores: Scores of the corpus's other segments (saved from
                an earlier run), counted when the thresholds are set.

        Returns:
            self
        """
        self.codes_ = self.codebook.leaves()
        X, Y, counter_X, counter_Y = prototype_training_set(
            self.codebook, self.codes_, self.embedder
        )
        self.classifier_ = PrototypeClassifier(
            threshold=self.threshold,
            margin=self.margin,
            max_labels=self.max_labels,
            counter_weight=self.counter_weight,
        ).fit(X, Y, counter_X=counter_X, counter_y=counter_Y)
        self.model_id_ = self.embedder.model_id
        scores, hits = self._evidence(texts, embeddings)
        if keyword_models is not None:
            probabilities = keyword_models.probabilities(embeddings)
        elif self.keyword_training:
            probabilities, keyword_models = keyword_trained_scores(
                embeddings,
                hits,
                groups=groups,
                min_positives=self.min_examples,
                random_state=self.random_state,
                warm_start_rows=self.keyword_warm_start_rows,
            )
        else:
            probabilities = np.zeros_like(scores)
            keyword_models = KeywordModels.untrained(
                len(self.codes_), embeddings.shape[1] if embeddings.ndim == 2 else 0
            )
        trained = keyword_models.trained
        scores[:, trained] = np.maximum(probabilities[:, trained], hits[:, trained])
        self.keyword_models_ = keyword_models
        self.keyword_trained_ = trained.copy()
        self.fit_scores_ = scores
        corpus = (
            scores if earlier_scores is None else np.vstack([earlier_scores, scores])
        )
        self.corpus_thresholds_ = self._corpus_thresholds(corpus)
        return self

    def _corpus_thresholds(self, scores: np.ndarray) -> np.ndarray:
        """Thresholds from the corpus for codes with definitions only (else NaN).

        A code with fewer than two prototype texts (no examples) has no
        examples to check a threshold on, and a fixed one does not fit every
        embedding model and corpus (cosine similarities of a sentence to a
        definition are low and vary from code to code). Its threshold becomes
        the median of its scores over the corpus plus ``corpus_threshold_z``
        robust standard deviations, so it is given to the segments that stand
        out for it. Keyword-trained codes keep theirs.

        Why 2.5 robust SDs: a sentence's cosine to a one-line definition is a
        weak signal; at 1.5 the coder gave a code to 69% of the think-aloud
        sentences and 79% of the World after Covid ones, at 2.5 to 40% and
        45%. Mean per-code kappa went from 0.34 to 0.41 at turns (think-aloud)
        and from 0.23 to 0.31 at answers (World after Covid, definitions
        only; ``benchmarks/world_after_covid.py``); choosing the value on half
        of either set's documents picked 2.5 or 3 and held up on the other
        half. Sentence-level kappa drops a little (0.11 to 0.10; 0.15 to 0.13).
        Scoring a turn by its best sentence, the interviewer's question as
        context, thresholds per question and self-training from the most
        confident segments were measured beside it and did not help both sets.
        """
        adapted = np.full(len(self.codes_), np.nan)
        unchecked = self.classifier_.unchecked_ & ~self.keyword_trained_
        if self.corpus_threshold_z is None or not len(scores) or not unchecked.any():
            return adapted
        columns = scores[:, unchecked]
        median = np.median(columns, axis=0)
        spread = 1.4826 * np.median(np.abs(columns - median), axis=0)
        adapted[unchecked] = median + self.corpus_threshold_z * np.maximum(spread, 1e-6)
        return adapted

    @property
    def thresholds_(self) -> np.ndarray:
        """Each code's threshold.

        The keyword-trained codes': ``keyword_training_threshold``; codes whose
        threshold could not be checked on their own examples: the corpus's;
        the others': chosen on the codebook.
        """
        check_is_fitted(self)
        thresholds = np.asarray(self.classifier_.thresholds_, dtype=float).copy()
        adapted = ~np.isnan(self.corpus_thresholds_)
        thresholds[adapted] = self.corpus_thresholds_[adapted]
        thresholds[self.keyword_trained_] = self.keyword_training_threshold
        return thresholds

    def score(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """Scores of segments the keyword models were not trained on.

        Prototype similarity plus keyword evidence; for the keyword-trained
        codes, the probability of the keyword models (1 where the keywords
        occur).

        Returns:
            ``(n_segments, n_codes)`` scores.
        """
        check_is_fitted(self)
        if not len(texts):
            return np.zeros((0, len(self.codes_)))
        scores, hits = self._evidence(texts, embeddings)
        trained = self.keyword_trained_
        if trained.any():
            probabilities = self.keyword_models_.probabilities(embeddings)
            scores[:, trained] = np.maximum(probabilities[:, trained], hits[:, trained])
        return scores

    def _evidence(
        self, texts: Sequence[str], embeddings: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if not len(texts):
            empty = np.zeros((0, len(self.codes_)))
            return empty, empty.astype(bool)
        scores = self.classifier_.score_codes(embeddings)
        hits = keyword_hits(texts, self.codebook, self.codes_)
        if self.keyword_bonus:
            scores = scores + self.keyword_bonus * hits
        return scores, hits

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """Multi-label decisions from scores (abstention allowed)."""
        check_is_fitted(self)
        trained = self.keyword_trained_
        decisions = np.zeros(scores.shape, dtype=bool)
        decisions[:, trained] = scores[:, trained] >= self.keyword_training_threshold
        others = ~trained
        if others.any():
            decisions[:, others] = decide(
                scores[:, others],
                self.thresholds_[others],
                margin=self.classifier_.margin,
                max_labels=self.classifier_.max_labels,
            )
        return decisions
