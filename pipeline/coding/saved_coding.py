"""A corpus's zero-shot coding kept between runs, so a rerun scores only new segments.

:class:`SavedCoding` keeps every segment's scores (by a digest of its segment
key, never the text) and the keyword models; :func:`score_with_saved_coding`
reuses them with ``classify.update: transform`` and trains again when the
settings or codebook change, on ``refit``, or when the new segments reach
``refit_growth`` times those the models were trained on.
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

from pipeline.coding.keywords import KeywordModels
from pipeline.coding.zeroshot import ZeroShotCoder


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
