"""The embedders by name: ``embed.backend`` picks one from :data:`EMBEDDERS`.

An embedder turns texts into L2-normalised float32 vectors:
``embed(texts) -> ndarray`` of shape ``(len(texts), dimension)``. The backends:

- ``onnx`` (default): all-MiniLM-L6-v2 exported to ONNX from the local weights
  and run with ONNX Runtime; same vectors as sentence-transformers, faster.
- ``onnx-int8``: the same graph calibrated and quantised to int8
  (SmoothQuant, :mod:`pipeline.embed.smoothquant`); faster, slightly
  different vectors, never mixed with fp32 ones in the cache (see
  ``benchmarks/README.md``).
- ``sentence-transformers``: the model run by sentence-transformers (torch).
- ``hashing``: a deterministic bag-of-words hashing embedder for fast tests;
  no model at all.

Nothing is downloaded unless ``embed.allow_download`` is true:
``HF_HUB_OFFLINE=1`` is set otherwise.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from pipeline.config.analysis import EmbedConfig
from pipeline.embed.base import BaseEmbedder
from pipeline.embed.encoders import HashingEmbedder, SentenceTransformerEmbedder
from pipeline.embed.model_files import resolve_model
from pipeline.embed.onnx_runtime import OnnxEmbedder, backend_tag
from pipeline.errors import ConfigError


def embedder_id(config: EmbedConfig) -> str:
    """The ``model_id`` the configured embedder will have, without loading the model."""
    if config.backend == "hashing":
        return f"hashing-{config.hashing_dimension}"
    model = _resolved(config)
    if config.backend == "sentence-transformers":
        return f"{model.name}@{model.version}/torch"
    quantized = config.backend == "onnx-int8"
    return f"{model.name}@{model.version}/{backend_tag(model.name, quantized)}"


def encoder_card(config: EmbedConfig, model_id: str) -> dict[str, str]:
    """What a model card says of the encoder: its id, backend and content hash.

    The hash is the sha256 of the model folder's files (names and bytes), so
    two folders with the same name but other weights are told apart.
    """
    if config.backend == "hashing":
        return {"id": model_id, "backend": "hashing", "sha256": model_id}
    model = _resolved(config)
    return {
        "id": model_id,
        "model": model.name,
        "version": model.version,
        "backend": config.backend,
        "sha256": folder_hash(model.path),
    }


def folder_hash(folder: Path) -> str:
    """sha256 over a folder's file names and contents, in name order."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _resolved(config: EmbedConfig):
    """The configured model's folder.

    A model shipped in parts is assembled in ``models/`` beside the ONNX cache
    (``runs/.cache/models`` by default).
    """
    return resolve_model(
        config.model,
        allow_download=config.allow_download,
        models_dir=Path(config.onnx_cache_dir).parent / "models",
    )


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
    model = _resolved(config)
    return SentenceTransformerEmbedder(
        model.path,
        model_name=model.name,
        model_version=model.version,
        batch_size=config.batch_size,
        threads=config.threads,
    )


def _make_onnx(config: EmbedConfig, *, quantized: bool) -> BaseEmbedder:
    model = _resolved(config)
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


@functools.lru_cache(maxsize=4)
def cached_embedder(config: EmbedConfig) -> BaseEmbedder:
    """One embedder per process and setting.

    Tasks on a worker reuse the loaded model.
    """
    return make_embedder(config)
