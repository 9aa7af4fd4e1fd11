"""Few human examples: the encoder fine-tuned contrastively on them (SetFit's recipe).

When a team has coded only a handful of segments per code (8-32), the
sentence encoder itself can learn what the codes have in common.
:class:`FewShotCoder` does what SetFit does, with sentence-transformers alone
(no ``setfit``, ``datasets`` or ``accelerate``): it samples pairs of the
human examples (two segments sharing a code are similar, a coded segment and
one sharing none of its codes are not, :func:`sample_pairs`), fine-tunes a
copy of the encoder on them for one epoch with a cosine-similarity loss, then
fits one logistic regression per code on the fine-tuned embeddings.

The encoder is loaded from its folder into memory for each fit and never
written back: the shared model folder is left as it was. The fine-tuned
encoder is saved only when asked (:meth:`FewShotCoder.save_encoder`), to a
folder the caller gives. A fit is reproducible: the same ``random_state``
gives the same pairs, the same batches, the same dropout and so the same
probabilities (with the same number of torch threads).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.coding.multilabel import MultiLabelMixin, as_indicator
from pipeline.embed.model_files import DEFAULT_MODEL, resolve_model

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PairSample:
    """Pairs of training examples for contrastive fine-tuning.

    Attributes:
        first: Index of each pair's first example.
        second: Index of each pair's second example.
        similar: 1.0 when the two share a code, 0.0 when they share none.
    """

    first: np.ndarray
    second: np.ndarray
    similar: np.ndarray

    def __len__(self) -> int:
        return len(self.first)


def sample_pairs(
    indicator: np.ndarray,
    *,
    pairs_per_example: int,
    max_pairs: int,
    random_state: int | None,
) -> PairSample:
    """Sample similar and dissimilar pairs of multi-label examples.

    In each round every coded example, in a random order, is paired once with
    an example sharing one of its codes (similar) and once with an example
    sharing none of them, uncoded examples included (dissimilar). Two uncoded
    examples are never paired: they need not be alike. Rounds stop after
    ``pairs_per_example`` or when ``max_pairs`` are reached; the pairs are
    then shuffled. The same seed gives the same pairs.

    Args:
        indicator: ``(n_examples, n_codes)`` 0/1 human codes.
        pairs_per_example: Rounds (each gives a coded example up to two pairs).
        max_pairs: Cap on the number of pairs.
        random_state: Seed.

    Returns:
        The pairs, shuffled.
    """
    labels = np.asarray(indicator, dtype=bool)
    rng = np.random.default_rng(random_state)
    shares = (labels.astype(np.int32) @ labels.T.astype(np.int32)) > 0
    np.fill_diagonal(shares, False)
    others = ~shares
    np.fill_diagonal(others, False)
    coded = np.flatnonzero(labels.any(axis=1))
    first: list[int] = []
    second: list[int] = []
    similar: list[float] = []
    for _ in range(pairs_per_example):
        for anchor in rng.permutation(coded):
            for partners, value in (
                (np.flatnonzero(shares[anchor]), 1.0),
                (np.flatnonzero(others[anchor]), 0.0),
            ):
                if len(partners) and len(first) < max_pairs:
                    first.append(int(anchor))
                    second.append(int(rng.choice(partners)))
                    similar.append(value)
        if len(first) >= max_pairs:
            break
    order = rng.permutation(len(first))
    return PairSample(
        first=np.asarray(first, dtype=np.int64)[order],
        second=np.asarray(second, dtype=np.int64)[order],
        similar=np.asarray(similar, dtype=np.float32)[order],
    )


class FewShotCoder(MultiLabelMixin, ClassifierMixin, BaseEstimator):
    """Contrastive fine-tuning of the encoder, then a logistic regression per code.

    Unlike the other coders it takes texts, not embeddings: the encoder it
    fine-tunes is part of the model. Fit it on the few human-coded segments
    (and, as negatives, some segments with none of the codes).

    Args:
        model: The sentence-transformers model to start from: the packaged
            default (``all-MiniLM-L6-v2``) or a local folder. Never modified.
        pairs_per_example: Sampling rounds (:func:`sample_pairs`).
        max_pairs: Cap on the pairs; with ``batch_size`` it bounds the time
            (about 25 pairs a second on one core for MiniLM and sentences).
        epochs: Passes over the pairs.
        batch_size: Pairs per optimiser step.
        learning_rate: AdamW learning rate (10% warm-up, then linear decay).
        max_seq_length: Tokens kept per segment, in training and embedding.
        C: Inverse regularisation strength of the per-code regressions.
        threshold: Probability at which a code is given.
        threads: torch threads during fit and embedding (None: leave as is).
        random_state: Seed of the pairs, the dropout and the initialisation.

    Attributes:
        encoder_: The fine-tuned ``SentenceTransformer`` (in memory only).
        encoder_id_: ``name@version`` of the model it started from.
        classes_: Codes (column indices for an indicator ``y``).
        estimators_: Per code, the fitted logistic regression, or None for a
            code with a single class in the data.
        constant_: Per code, the class given when there is no model.
        thresholds_: Per code, the probability threshold.
        n_pairs_: Pairs trained on (``n_similar_pairs_`` of them similar).
        train_loss_: Mean loss over the last 10% of steps.
        fit_seconds_: Time taken by the fine-tuning and embedding the examples.
    """

    def __init__(
        self,
        *,
        model: str | Path = DEFAULT_MODEL,
        pairs_per_example: int = 10,
        max_pairs: int = 640,
        epochs: int = 1,
        batch_size: int = 16,
        learning_rate: float = 2e-5,
        max_seq_length: int = 128,
        C: float = 1.0,
        threshold: float = 0.5,
        threads: int | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.model = model
        self.pairs_per_example = pairs_per_example
        self.max_pairs = max_pairs
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_seq_length = max_seq_length
        self.C = C
        self.threshold = threshold
        self.threads = threads
        self.random_state = random_state

    def fit(self, X: Sequence[str], y) -> FewShotCoder:
        """Fine-tune a copy of the encoder on pairs of examples, then fit the heads.

        Args:
            X: The examples' texts.
            y: Labels, or an ``(n_examples, n_codes)`` 0/1 indicator matrix.

        Returns:
            self

        Raises:
            ValueError: Texts that are not strings, not one per row of ``y``,
                or fewer than two examples.
        """
        texts = _checked_texts(X)
        indicator, self.classes_, self._multilabel = as_indicator(y)
        if len(texts) != len(indicator):
            raise ValueError(
                f"FewShotCoder.fit: {len(texts)} texts for {len(indicator)} rows "
                "of y; give one row of codes per text"
            )
        if len(texts) < 2:
            raise ValueError(
                f"FewShotCoder.fit needs at least two examples; got {len(texts)}"
            )
        resolved = resolve_model(str(self.model), allow_download=False)
        self.encoder_id_ = f"{resolved.name}@{resolved.version}"
        pairs = sample_pairs(
            indicator,
            pairs_per_example=self.pairs_per_example,
            max_pairs=self.max_pairs,
            random_state=self.random_state,
        )
        self.n_pairs_ = len(pairs)
        self.n_similar_pairs_ = int(pairs.similar.sum())
        started = time.perf_counter()
        with _torch_threads(self.threads):
            self.encoder_, self.train_loss_ = _fine_tune(
                self, resolved.path, texts, pairs
            )
            embeddings = self._encode(texts)
        self.fit_seconds_ = time.perf_counter() - started
        logger.info(
            "few-shot: fine-tuned on %d pairs of %d examples in %.0f s",
            self.n_pairs_,
            len(texts),
            self.fit_seconds_,
        )
        self.estimators_, self.constant_ = [], []
        for j in range(indicator.shape[1]):
            truth = indicator[:, j]
            if truth.all() or not truth.any():
                self.estimators_.append(None)
                self.constant_.append(bool(truth.all()))
                continue
            self.estimators_.append(_logistic(self.C).fit(embeddings, truth))
            self.constant_.append(False)
        self.thresholds_ = np.full(indicator.shape[1], float(self.threshold))
        self.n_features_in_ = embeddings.shape[1]
        return self

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of texts by the fine-tuned encoder, ``(n, dim)``."""
        check_is_fitted(self)
        texts = _checked_texts(texts)
        with _torch_threads(self.threads):
            return self._encode(texts)

    def score_codes(self, X: Sequence[str]) -> np.ndarray:
        """Probability of each code for each text, ``(n, n_codes)``."""
        embeddings = self.embed(X)
        columns = [
            np.full(len(embeddings), float(constant))
            if model is None
            else model.predict_proba(embeddings)[:, 1]
            for model, constant in zip(self.estimators_, self.constant_, strict=True)
        ]
        return np.column_stack(columns) if columns else np.zeros((len(X), 0))

    def predict_indicator(self, X, scores: np.ndarray | None = None) -> np.ndarray:
        """Codes whose probability reaches the threshold, ``(n, n_codes)`` booleans."""
        scores = self.score_codes(X) if scores is None else scores
        return scores >= self.thresholds_[None, :]

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Probabilities: per code for a multi-label fit, per class otherwise."""
        scores = self.score_codes(X)
        if self._multilabel:
            return scores
        total = scores.sum(axis=1, keepdims=True)
        total[total == 0] = 1.0
        return scores / total

    def save_encoder(self, folder: str | Path) -> Path:
        """Save the fine-tuned encoder as a sentence-transformers model folder.

        Args:
            folder: Where to write it (created; must not be the source model's).

        Returns:
            The folder.

        Raises:
            ValueError: ``folder`` is the folder of the model it started from.
        """
        check_is_fitted(self)
        folder = Path(folder)
        source = resolve_model(str(self.model), allow_download=False).path
        if folder.resolve() == Path(source).resolve():
            raise ValueError(
                f"FewShotCoder.save_encoder: {folder} is the source model's folder; "
                "give another folder (the shared model is never overwritten)"
            )
        folder.mkdir(parents=True, exist_ok=True)
        self.encoder_.save(str(folder))
        return folder

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.encoder_.get_embedding_dimension()), np.float32)
        vectors = self.encoder_.encode(
            texts,
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


def _checked_texts(texts) -> list[str]:
    texts = list(texts)
    bad = [i for i, text in enumerate(texts) if not isinstance(text, str)]
    if bad:
        raise ValueError(
            f"FewShotCoder takes texts (strings); item {bad[0]} is "
            f"{type(texts[bad[0]]).__name__}"
        )
    return texts


def _logistic(C: float):
    # heavy: kept out of start-up
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", max_iter=2000)


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run a block with ``threads`` torch threads, then restore the setting."""
    # heavy: kept out of start-up
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fine_tune(coder: FewShotCoder, path: Path, texts: list[str], pairs: PairSample):
    """A fine-tuned copy of the encoder at ``path`` and its final mean loss."""
    # heavy: kept out of start-up
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import (
        CosineSimilarityLoss,
    )

    # fork_rng: the seed governs this fit only, not the caller's torch state
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0 if coder.random_state is None else coder.random_state)
        encoder = SentenceTransformer(str(path), device="cpu")
        encoder.max_seq_length = min(
            encoder.max_seq_length or coder.max_seq_length, coder.max_seq_length
        )
        if not len(pairs):
            logger.info("few-shot: no pairs to train on (one code, no negatives)")
            encoder.eval()
            return encoder, float("nan")
        loss = CosineSimilarityLoss(encoder)
        optimizer = torch.optim.AdamW(encoder.parameters(), lr=coder.learning_rate)
        n_steps = coder.epochs * -(-len(pairs) // coder.batch_size)
        warmup = max(1, round(0.1 * n_steps))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: min(
                (step + 1) / warmup, max(0.0, (n_steps - step) / (n_steps - warmup + 1))
            ),
        )
        losses = []
        encoder.train()
        for _ in range(coder.epochs):
            # fixed order: the pairs were shuffled by the seeded sampler
            for start in range(0, len(pairs), coder.batch_size):
                batch = slice(start, start + coder.batch_size)
                features = [
                    encoder.preprocess([texts[i] for i in pairs.first[batch]]),
                    encoder.preprocess([texts[i] for i in pairs.second[batch]]),
                ]
                value = loss(features, torch.from_numpy(pairs.similar[batch]))
                optimizer.zero_grad()
                value.backward()
                optimizer.step()
                schedule.step()
                losses.append(float(value.detach()))
        encoder.eval()
    tail = losses[-max(1, len(losses) // 10) :]
    return encoder, float(np.mean(tail))
