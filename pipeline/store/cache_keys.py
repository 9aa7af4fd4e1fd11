"""Every cache key and cache folder of the project, in one place.

A key is a content hash of what a cached result depends on, so that a change
to any of it (a corpus file, a config section, the codebook, the code itself)
gives another key, and nothing else does: each function says what its key
holds, and ``docs/operations.md`` has the table of what invalidates what.
Every run step's key (Prefect's task cache, and the step folders
``<runs>/.cache/steps/<step>-<key>/``) also holds :func:`code_version`, so
results made by other code are never reused.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from pipeline.config.base import hash_json
from pipeline.config.inputs import AnonymiseConfig
from pipeline.config.run import PipelineConfig
from pipeline.records import Transcript

_ROOT = Path(__file__).resolve().parents[1]  # the pipeline package


# --- helpers ---------------------------------------------------------------


def _source_hash(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(_ROOT.parent).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


@functools.cache
def code_version() -> str:
    """A hash of this project's source (``pipeline/`` and ``flows/``).

    Part of every step key: a cached result made by other code (an upgrade,
    a local change) is never reused.
    """
    return _source_hash(
        path
        for package in (_ROOT, _ROOT.parent / "flows")
        for path in package.rglob("*")
        if path.suffix in (".py", ".j2") and path.is_file()
    )


@functools.cache
def parser_version() -> str:
    """A hash of the code that turns files into documents.

    The readers, the speakers and the decoding.
    """
    return _source_hash(
        [_ROOT / "io" / "ingest.py", _ROOT / "text" / "speakers.py"]
        + [_ROOT / "io" / "decode.py"]
        + list((_ROOT / "io" / "readers").glob("*.py"))
    )


@functools.cache
def identifier_check_version() -> str:
    """A hash of the code of the identifier check (``pipeline/text/identifiers/``).

    Every module of the check is hashed, so a change to any of the code that
    decides findings (patterns, validators, allowlists, finders, merging, the
    checker) gives cached findings another key.
    """
    return _source_hash((_ROOT / "text" / "identifiers").glob("*.py"))


def file_hash(path: str | Path | None) -> str:
    """SHA-256 of a file, or of every file of a folder (names and bytes).

    '' for None.
    """
    if path is None or not Path(path).exists():
        return ""
    path = Path(path)
    digest = hashlib.sha256()
    files = (
        sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    )
    for file in files:
        digest.update(
            file.relative_to(path if path.is_dir() else path.parent).as_posix().encode()
        )
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _package_version(name: str) -> str:
    """An installed package's version (a spaCy model's), or ``unknown``."""
    try:
        return metadata.version(name)
    except (metadata.PackageNotFoundError, ValueError):
        return "unknown"


def corpus_name(corpus: str | Path | None) -> str:
    """A short name for a corpus (a label in folder names, never a key)."""
    if corpus is None:
        return "corpus"
    path = Path(corpus)
    return (path.stem if path.suffix else path.name) or "corpus"


# --- run steps ---------------------------------------------------------------


def step_key(name: str, *parts: object) -> str:
    """A 16-hex-digit key for a step from its name, its inputs and the code."""
    return hash_json([name, code_version(), *[str(part) for part in parts]])


def step_dir(config: PipelineConfig, name: str, key: str) -> Path:
    """Where a cached step writes its files: ``<runs>/.cache/steps/<name>-<key>``."""
    return Path(config.store.runs_dir) / ".cache" / "steps" / f"{name}-{key}"


def texts_key(keys: Iterable[str]) -> str:
    """A key for a list of texts, from their :func:`text_key` in order."""
    digest = hashlib.sha256()
    for key in keys:
        digest.update(key.encode())
    return digest.hexdigest()[:16]


def ingest_key(config: PipelineConfig, fingerprint: str) -> str:
    """The ingest step's key: the corpus fingerprint and the anonymise settings."""
    return step_key("ingest", fingerprint, config.section_hash("anonymise"))


def segment_batch_key(config: PipelineConfig, content_hashes: Iterable[str]) -> str:
    """A segmentation batch's key: the segment settings and its documents' contents."""
    return step_key("segment", config.section_hash("segment"), *content_hashes)


def embed_batch_key(model_id: str, text_keys: Sequence[str]) -> str:
    """An embedding batch's key: the model and its texts."""
    return step_key("embed", model_id, texts_key(text_keys))


def segments_key(config: PipelineConfig, ingest: str, texts: str) -> str:
    """What the run's segments are: its ingest key, the segment settings, the texts."""
    return step_key("segments", ingest, config.section_hash("segment"), texts)


def topics_key(
    config: PipelineConfig,
    segments: str,
    model_id: str,
    saved_model: Path | None,
    *,
    codebook_hash: str,
) -> str:
    """The topics step's key (``saved_model``: the one applied, None to fit)."""
    return step_key(
        "topics",
        segments,
        model_id,
        topics_settings_hash(config),
        "fit"
        if saved_model is None
        else f"transform:{file_hash(saved_model / 'card.json')}",
        codebook_hash if config.topics.guided else "",
    )


def classify_key(
    config: PipelineConfig,
    segments: str,
    model_id: str,
    *,
    codebook_hash: str,
    model_hash: str,
) -> str:
    """The classify step's key: segments, settings, codebook and trained model."""
    return step_key(
        "classify",
        segments,
        model_id,
        config.section_hash("classify"),
        codebook_hash,
        model_hash,
    )


def network_key(config: PipelineConfig, segments: str) -> str:
    """The network step's key: segments, settings, the gazetteer and corrections."""
    return step_key(
        "network",
        segments,
        config.section_hash("network"),
        *(file_hash(path) for path in config.network.input_files),
    )


@functools.cache
def network_version() -> str:
    """A hash of the network step's code (``pipeline/network/``)."""
    return _source_hash((_ROOT / "network").glob("*.py"))


def mention_finder_key(config: PipelineConfig) -> str:
    """What found mentions depend on besides the speech: gazetteer, model, code.

    Not the score threshold, corrections or grouping: they apply after finding.
    """
    model = config.network.spacy_model
    return hash_json(
        {
            "gazetteer": file_hash(config.network.gazetteer_path),
            "model": [model, _package_version(model)],
            "code": network_version(),
        }
    )


def network_mentions_dir(config: PipelineConfig) -> Path:
    """Found mentions, a file per document: ``<runs>/.cache/network/<finder key>/``."""
    return (
        Path(config.store.runs_dir) / ".cache" / "network" / mention_finder_key(config)
    )


def compare_key(
    config: PipelineConfig, classify: str, *, codes_hash: str, codebook_hash: str
) -> str:
    """The compare step's key: the auto-codes, the human codes and the codebook."""
    return step_key(
        "compare",
        classify,
        config.section_hash("compare"),
        codes_hash,
        codebook_hash,
    )


# --- caches beside the steps ---------------------------------------------------


def parse_key(file_sha256: str, settings: str, suffix: str) -> str:
    """A parsed-transcript cache entry: the file's bytes, ingest settings, parser."""
    return f"{file_sha256[:32]}-{settings}-{suffix.lstrip('.')}"


def parse_settings_key(ingest_settings: dict) -> str:
    """The ``ingest`` settings (but the corpus path) and the parser's code."""
    return hashlib.sha256(
        hash_json([ingest_settings, parser_version()]).encode()
    ).hexdigest()[:16]


def parsed_cache_dir(config: PipelineConfig) -> Path:
    """Parsed transcripts: ``<runs>/.cache/parsed``."""
    return Path(config.store.runs_dir) / ".cache" / "parsed"


def identifier_settings_key(config: AnonymiseConfig, *, recall_first: bool) -> str:
    """What identifier findings depend on besides the speech.

    The ``anonymise`` settings, the installed spaCy model's version and the
    check's code (:func:`identifier_check_version`): a change to any of them
    changes the key, so cached findings are not reused. Of the policy only what
    changes the rules counts: ``redact`` and ``block`` share findings
    (``recall_first``), ``report`` has its own.

    Args:
        config: The ``anonymise`` section.
        recall_first: Whether cue rules apply (``redact`` and ``block``).

    Returns:
        A 16-hex-digit key.
    """
    model_version = _package_version(config.spacy_model)
    return hash_json(
        {
            "config": config.model_dump(mode="json", exclude={"policy"}),
            "recall_first": recall_first,
            "model": [config.spacy_model, model_version],
            "code": identifier_check_version(),
        }
    )


def identifier_check_key(settings_key: str, transcript: Transcript) -> str:
    """A document's identifier check: its text, its turns and the settings key.

    Args:
        settings_key: The checker's :func:`identifier_settings_key`.
        transcript: The document checked.

    Returns:
        The SHA-256 hex digest (the key of the store's ``identifier_checks``).
    """
    digest = hashlib.sha256(settings_key.encode())
    digest.update(transcript.text.encode("utf-8", "surrogatepass"))
    digest.update(repr([(t.start, t.end) for t in transcript.turns]).encode())
    return digest.hexdigest()


def text_key(text: str) -> str:
    """A text's key in the embedding cache: SHA-256 of its words joined by one space."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def segment_keys(segments, documents, settings_hash: str) -> list[str]:
    """``<content hash>:<segment settings hash>:<segment id>`` for each segment.

    The same segment of the same document text cut with the same settings has
    the same key in every run (out-of-fold scores of trained models, saved
    zero-shot codings).
    """
    hashes = dict(
        zip(
            documents.column("document_id").to_pylist(),
            documents.column("content_hash").to_pylist(),
            strict=True,
        )
    )
    return [
        f"{hashes[d]}:{settings_hash}:{s}"
        for d, s in zip(
            segments.column("document_id").to_pylist(),
            segments.column("segment_id").to_pylist(),
            strict=True,
        )
    ]


def segment_digest(document_ids: Sequence[str], keys: Sequence[str]) -> np.ndarray:
    """Fixed-width digests (``S32``) of each segment's document id and segment key."""
    return np.array(
        [
            hashlib.sha256(f"{d}\x1f{k}".encode()).hexdigest()[:32].encode()
            for d, k in zip(document_ids, keys, strict=True)
        ],
        dtype="S32",
    )


def saved_coding_dir(config: PipelineConfig, embedding_model_id: str) -> Path:
    """Where a corpus's saved zero-shot coding lives: ``<runs>/.cache/zero_shot/...``.

    The key hashes what the scores depend on: the codebook file, the
    ``classify`` settings (but how to update), the embedding model, the
    segmentation settings and the seed. Anything else gives another folder.
    """
    key = hash_json(
        {
            "codebook": file_hash(config.classify.codebook),
            "classify": config.classify.model_dump(
                mode="json", exclude={"update", "refit_growth"}
            ),
            "embeddings": embedding_model_id,
            "segment": config.section_hash("segment"),
            "seed": config.random_state,
        }
    )
    name = corpus_name(config.ingest.corpus)
    return Path(config.store.runs_dir) / ".cache" / "zero_shot" / f"{name}-{key}"


def topic_models_dir(config: PipelineConfig) -> Path:
    """Where topic models are saved: ``topics.model_dir`` or ``<runs>/topic_models``."""
    if config.topics.model_dir is not None:
        return Path(config.topics.model_dir)
    return Path(config.store.runs_dir) / "topic_models"


def topics_data_hash(texts: Sequence[str]) -> str:
    """Hash of the segment texts a topic model is fitted on (order does not matter)."""
    return hashlib.sha256("\n".join(sorted(texts)).encode("utf-8")).hexdigest()


def topics_settings_hash(config: PipelineConfig) -> str:
    """Hash of what shapes a topic model: its settings (not updating), embeddings."""
    topics = config.topics.model_dump(
        mode="json", exclude={"update", "name", "model_dir", "lineage_overlap"}
    )
    return hash_json(
        {
            "topics": topics,
            "embed": config.section_hash("embed"),
            "seed": config.random_state,
        }
    )


def onnx_export_dir(cache_dir: str | Path, model_name: str, version: str) -> Path:
    """A model's ONNX export: ``<embed.onnx_cache_dir>/<name>@<version>``."""
    return Path(cache_dir) / f"{model_name}@{version}"


def smoothquant_recipe_key(
    *, alpha: float, skip_layers: int, calibration_sha256: str, quantiser: str
) -> str:
    """What an int8 graph depends on besides its fp32 graph.

    In the graph's file name and the embedder's ``model_id``: int8 vectors never
    mix with fp32 ones or with another recipe's.
    """
    return hash_json([alpha, skip_layers, calibration_sha256, quantiser])[:10]


def int8_graph_name(recipe: str, fp32_sha256: str) -> str:
    """The int8 graph's file name beside its fp32 export."""
    return f"model.int8-sq-{recipe}-{fp32_sha256[:12]}.onnx"
