"""Cache keys: content hashes of each step's real inputs.

A step's key hashes its name, the version of the code (a hash of its
source), the hash of its config section(s) and the keys (or file hashes) of
what it reads, so that a changed config section, corpus
file, codebook or codes file invalidates exactly the steps downstream of it,
and nothing else.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path

from pipeline.config import PipelineConfig, hash_json


@functools.cache
def code_version() -> str:
    """A hash of this project's source (``pipeline/`` and ``flows/``).

    Part of every step key: a cached result made by other code (an upgrade,
    a local change) is never reused.
    """
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for package in ("pipeline", "flows"):
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".j2") and path.is_file():
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def step_key(name: str, *parts: object) -> str:
    """A 16-hex-digit key for a step from its name, its inputs and the code."""
    return hash_json([name, code_version(), *[str(part) for part in parts]])


def file_hash(path: str | Path | None) -> str:
    """SHA-256 of a file, or of every file of a folder (names and bytes); '' for None."""
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


def texts_key(keys: Iterable[str]) -> str:
    """A key for a list of texts, from their cache keys in order."""
    digest = hashlib.sha256()
    for key in keys:
        digest.update(key.encode())
    return digest.hexdigest()[:16]


def step_dir(config: PipelineConfig, name: str, key: str) -> Path:
    """Where a cached step writes its files: ``<runs>/.cache/steps/<name>-<key>``."""
    return Path(config.store.runs_dir) / ".cache" / "steps" / f"{name}-{key}"
