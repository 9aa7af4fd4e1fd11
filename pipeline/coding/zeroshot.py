"""Zero-shot coding from a codebook: prototypes, keyword evidence, decisions.

For a study with only a codebook. Each code's prototype texts (name and
definition, include notes, examples) and counter-examples are embedded with
the same model as the segments; a :class:`~pipeline.coding.classify.PrototypeClassifier`
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

On a rerun with new documents (``classify.update: transform``, the default)
the corpus's keyword models are not trained again: :class:`SavedCoding` keeps
every segment's scores and the models (the mean of the cross-fitting folds'
logistic regressions), so earlier segments keep their scores and new ones are
scored by models that never saw them. The models are trained again when
``classify.update`` is ``refit``, when the settings or codebook change, or
when the segments added since the last training reach ``refit_growth`` times
those it was trained on.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.coding.classify import PrototypeClassifier, decide
from pipeline.coding.codebook import Codebook
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


class ZeroShotCoder:
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
        min_examples: Fewer keyword matches: the code is not keyword-trained.
        corpus_threshold_z: Codes with definitions only take the corpus's
            median score plus this many robust SDs as threshold; None keeps
            the prototype classifier's default.
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
        min_examples: int = 8,
        corpus_threshold_z: float | None = 1.5,
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
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    from pipeline.coding.train import grouped_folds

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


@dataclass
class SavedCoding:
    """A corpus's zero-shot coding kept between runs: scores and keyword models.

    Holds the scores of every segment coded so far (by a digest of its
    segment key: document text, segmentation settings, segment id; never the
    text) and the keyword models, so a rerun scores only new segments.

    Attributes:
        codes: Code ids (score columns).
        keys: ``(n,)`` segment key digests (``S32``).
        scores: ``(n, n_codes)`` scores.
        models: The keyword models of the last training.
        n_trained_on: Segments the models were trained on.
    """

    codes: list[str]
    keys: np.ndarray
    scores: np.ndarray
    models: KeywordModels
    n_trained_on: int

    FILE = "zero_shot_coding.npz"

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(found, rows)``: which keys are held, and their row in :attr:`scores`."""
        if not len(self.keys):
            return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=int)
        order = np.argsort(self.keys)
        sorted_keys = self.keys[order]
        where = np.clip(np.searchsorted(sorted_keys, keys), 0, len(sorted_keys) - 1)
        found = sorted_keys[where] == keys
        return found, order[where]

    def add(self, keys: np.ndarray, scores: np.ndarray) -> SavedCoding:
        """A copy that also holds these segments' scores."""
        return SavedCoding(
            self.codes,
            np.concatenate([self.keys, keys]),
            np.concatenate([self.scores, scores]),
            self.models,
            self.n_trained_on,
        )

    def save(self, folder: str | Path) -> Path:
        """Write the coding to ``folder`` (atomically: a temporary file renamed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            np.savez(
                stream,
                codes=np.array(json.dumps(self.codes)),
                keys=self.keys,
                scores=self.scores,
                trained=self.models.trained,
                coef=self.models.coef,
                intercept=self.models.intercept,
                n_trained_on=np.array(self.n_trained_on),
            )
        target = folder / self.FILE
        os.replace(tmp, target)
        return target

    @classmethod
    def load(cls, folder: str | Path) -> SavedCoding | None:
        """The coding saved in ``folder``, or None (none saved, or unreadable)."""
        path = Path(folder) / cls.FILE
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as saved:
                return cls(
                    json.loads(str(saved["codes"])),
                    saved["keys"],
                    saved["scores"],
                    KeywordModels(saved["trained"], saved["coef"], saved["intercept"]),
                    int(saved["n_trained_on"]),
                )
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
            return None  # a damaged file means training again, never a failed run


def score_with_saved_coding(
    coder: ZeroShotCoder,
    texts: Sequence[str],
    embeddings: np.ndarray,
    *,
    groups: Sequence[str],
    digests: np.ndarray,
    folder: str | Path,
    update: str = "transform",
    refit_growth: float = 0.5,
) -> tuple[np.ndarray, dict]:
    """Score a corpus, reusing its :class:`SavedCoding` in ``folder`` when allowed.

    With ``update="transform"`` and a saved coding of the same codes, segments
    it holds keep their scores and the others are scored by its keyword
    models, unless they are ``refit_growth`` times the segments those models
    were trained on or more. Otherwise the keyword models are trained on the
    whole corpus (:meth:`ZeroShotCoder.fit`). The coding is saved either way.

    Returns:
        ``(scores, how)``: scores ``(n, n_codes)`` and what was done:
        ``action`` (``trained``, ``reused``, or ``off`` without keyword
        training), ``trained_on`` (segments) and ``scored`` (segments).
    """
    n = len(texts)
    saved = SavedCoding.load(folder) if update == "transform" else None
    if (
        saved is not None
        and saved.codes == coder.codebook.leaves()
        and coder.keyword_training
    ):
        found, rows = saved.lookup(digests)
        new = np.flatnonzero(~found)
        if len(new) < refit_growth * saved.n_trained_on:
            # earlier segments keep their (cross-fitted) scores; the saved
            # models score the new ones, which they never saw
            coder.fit(
                [texts[i] for i in new],
                embeddings[new],
                keyword_models=saved.models,
                earlier_scores=saved.scores[rows[found]],
            )
            scores = np.zeros((n, len(coder.codes_)))
            scores[found] = saved.scores[rows[found]]
            if len(new):
                scores[new] = coder.fit_scores_
                saved.add(digests[new], coder.fit_scores_).save(folder)
            return scores, {
                "action": "reused",
                "trained_on": saved.n_trained_on,
                "scored": int(len(new)),
            }
    scores = coder.fit(texts, embeddings, groups=groups).fit_scores_
    if coder.keyword_training:
        SavedCoding(coder.codes_, digests, scores, coder.keyword_models_, n).save(
            folder
        )
    return scores, {
        "action": "trained" if coder.keyword_training else "off",
        "trained_on": n if coder.keyword_training else 0,
        "scored": n,
    }
