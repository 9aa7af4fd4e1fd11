"""Saved topic models: where they live, and which one a run may reuse.

A fitted topic model is saved (BERTopic's safetensors serialisation, the
centroids that assign new segments, a card) in
``<topics.model_dir>/<name>-<hash>/``, where ``model_dir`` defaults to
``<store.runs_dir>/topic_models`` (never a tracked folder) and ``<hash>`` is
the hash of the segment texts it was fitted on. Beside them,
``fitted_texts.npy`` holds 64-bit digests of those texts: numbers, no text.

Which saved model a run reuses (``topics.update: transform``) is decided by
content, never by folder name: the model fitted with the same settings whose
fitted segments are most present in this corpus, if at least
``topics.lineage_overlap`` of them are. So a corpus with new interviews
reuses its own topics, and another corpus in a folder of the same name does
not get them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import ModelError
from pipeline.store.cache_keys import (
    corpus_name,
    topic_models_dir,
    topics_data_hash,
    topics_settings_hash,
)
from pipeline.store.checksums import seal_folder, verify_folder
from pipeline.store.folders import replacing_folder

logger = logging.getLogger(__name__)

FITTED_TEXTS = "fitted_texts.npy"


@dataclass(frozen=True)
class SavedTopicModel:
    """A saved topic model chosen for a run.

    Attributes:
        folder: Its folder.
        card: Its card (``card.json``).
        overlap: Share of the segments it was fitted on that are in this corpus.
    """

    folder: Path
    card: dict
    overlap: float

    def describe(self) -> str:
        """One line for the console and the report.

        Which model, fitted when, on what.
        """
        return (
            f"the saved model {self.folder.name} (fitted {self.card.get('created_at')} "
            f"on {self.card.get('n_segments')} segments, {self.overlap:.0%} of them "
            "in this corpus)"
        )


def text_digests(texts: Sequence[str]) -> np.ndarray:
    """Sorted, distinct 64-bit digests of texts (to compare corpora without text)."""
    digests = np.fromiter(
        (
            int.from_bytes(
                hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little"
            )
            for text in texts
        ),
        dtype=np.uint64,
        count=len(texts),
    )
    return np.unique(digests)


def saved_model_to_apply(config, texts: Sequence[str]) -> SavedTopicModel | None:
    """The saved topic model a run should apply (``transform``), or None to fit.

    A saved model is applied when ``topics.update`` is ``transform``, it was
    fitted with the same settings and embeddings, and at least
    ``topics.lineage_overlap`` of the segments it was fitted on are in this
    corpus (the model with the most overlap wins). Fitted on these very
    segments, fitting again gives the same model (every step is seeded), so
    the run fits: a rerun on unchanged input gives what the first run gave.
    A damaged or unfinished saved model is never used.

    Returns:
        The model to apply, or None.
    """
    folder = topic_models_dir(config)
    if config.topics.update != "transform" or not folder.is_dir():
        return None
    settings = topics_settings_hash(config)
    data_hash = topics_data_hash(texts)
    current = text_digests(texts)
    best: SavedTopicModel | None = None
    for candidate in sorted(folder.iterdir()):
        card_path = candidate / "card.json"
        if candidate.name.startswith(".") or not card_path.is_file():
            continue
        problem = verify_folder(candidate)
        if problem is not None:
            logger.warning(
                "topics: the saved model %s cannot be trusted (%s); not used",
                candidate.name,
                problem,
            )
            continue
        card = json.loads(card_path.read_text(encoding="utf-8"))
        if card.get("settings_hash") != settings:
            continue
        fitted = np.load(candidate / FITTED_TEXTS, allow_pickle=False)
        overlap = float(np.isin(fitted, current).mean()) if fitted.size else 0.0
        if overlap >= config.topics.lineage_overlap and (
            best is None or overlap > best.overlap
        ):
            best = SavedTopicModel(candidate, card, overlap)
    if best is None or best.card.get("data_hash") == data_hash:
        return None
    return best


def saved_model_folder(config, texts: Sequence[str]) -> Path:
    """Where a model fitted on ``texts`` is saved: ``<model_dir>/<name>-<hash>``."""
    name = config.topics.name or corpus_name(config.ingest.corpus)
    return topic_models_dir(config) / f"{name}-{topics_data_hash(texts)[:12]}"


def save_topic_model(modeler, folder, *, card: dict, texts: Sequence[str]) -> None:
    """Save a fitted topic model with safetensors serialisation, and its card.

    Args:
        modeler: A fitted :class:`~pipeline.topics.estimator.TopicModeler` with a
            BERTopic model.
        folder: Target folder (replaced when complete; refused when it holds
            files this tool did not write).
        card: The model card (library versions, config hash, data hash, seed, ...).
        texts: The segment texts it was fitted on (only their digests are kept).
    """
    with replacing_folder(
        folder, kind="topic model", option="topics.model_dir"
    ) as staging:
        modeler.save(staging, embedding_model=card.get("embedding_model") or False)
        (staging / "card.json").write_text(
            json.dumps(card, indent=2, default=str), encoding="utf-8"
        )
        with open(staging / FITTED_TEXTS, "wb") as handle:
            np.save(handle, text_digests(texts), allow_pickle=False)
        seal_folder(staging)


def load_topic_centroids(folder) -> dict[int, np.ndarray]:
    """Load the centroids of a saved topic model (what assigning new segments needs)."""
    path = Path(folder) / "centroids.json"
    if not path.is_file():
        raise ModelError(f"{folder}: not a saved topic model (no centroids.json)")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {int(t): np.asarray(v, dtype=np.float32) for t, v in raw.items()}
