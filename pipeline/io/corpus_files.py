"""Which files of a corpus are read, and a fingerprint of them all.

A corpus is a folder of transcripts (without hidden files, the metadata table
and what ``ingest.exclude`` names), or one ``.csv``/``.xlsx`` table.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from pathlib import Path

from pipeline.config.inputs import IngestConfig
from pipeline.errors import ConfigError


def corpus_root(config: IngestConfig, corpus: str | Path | None) -> Path:
    """The corpus to read: ``corpus`` if given, else ``ingest.corpus``.

    Raises:
        ConfigError: No corpus was given, or it does not exist.
    """
    root = Path(corpus) if corpus is not None else config.corpus
    if root is None:
        raise ConfigError(
            "no corpus given: pass --corpus PATH or set ingest.corpus in the config"
        )
    if not root.exists():
        raise ConfigError(
            f"corpus not found: {root} "
            "(give a folder of transcripts or a .csv/.xlsx table)"
        )
    return root


def list_corpus_files(root: Path, config: IngestConfig) -> tuple[list[Path], Path]:
    """The files of a corpus to read, and the folder their names are relative to."""
    if root.is_file():
        return [root], root.parent
    return list(_corpus_files(root, config)), root


def fingerprint_corpus(config: IngestConfig, corpus: str | Path | None = None) -> str:
    """A content hash of everything ingest would read, with the ingest settings.

    Two calls give the same fingerprint exactly when the corpus files (names
    and bytes), the metadata table and the ``ingest`` settings are the same:
    the cache key of the ingest step.

    Raises:
        ConfigError: No corpus was given, or it does not exist.
    """
    root = corpus_root(config, corpus)
    files, base = list_corpus_files(root, config)
    if root.is_dir() and (root / config.metadata_file).is_file():
        files.append(root / config.metadata_file)
    digest = hashlib.sha256()
    settings = config.model_dump(mode="json", exclude={"corpus"})
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for path in sorted(files):
        digest.update(path.relative_to(base).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _corpus_files(root: Path, config: IngestConfig):
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if not path.is_file():
            continue
        if relative.as_posix() == config.metadata_file:
            continue
        if any(fnmatch.fnmatch(path.name, pattern) for pattern in config.exclude):
            continue
        yield path
