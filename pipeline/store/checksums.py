"""Cached artefacts that verify themselves: a checksum file per cached folder.

A cached step writes its files into its own folder, then :func:`seal_folder`
writes :data:`SEAL`, the SHA-256 of every file in it. Before a cached folder
is reused, :func:`verify_folder` checks every file against the seal: a folder
with a missing, truncated or changed file, or without a seal (a step killed
before it finished), is recomputed, never trusted.

Files go from the cache into a run folder by :func:`copy_into` (a copy, or a
reflink where the filesystem makes one), never by a hard link, so damage to
one run folder's file cannot travel to the cache or to other runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from pipeline.store.permissions import file_mode

SEAL = ".checksums.json"
"""The checksum file of a cached folder (hidden: it is not copied into runs)."""


def _digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _sealed_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and not path.name.startswith(".")
    )


def seal_folder(folder: str | Path) -> Path:
    """Write the checksums of every file of ``folder`` (hidden files aside).

    Returns:
        The seal's path.
    """
    folder = Path(folder)
    checksums = {
        path.name: {"sha256": _digest(path), "bytes": path.stat().st_size}
        for path in _sealed_files(folder)
    }
    handle, tmp = tempfile.mkstemp(prefix=f"{SEAL}.", suffix=".tmp", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(checksums, stream, indent=1, sort_keys=True)
    os.chmod(tmp, file_mode())
    os.replace(tmp, folder / SEAL)
    return folder / SEAL


def verify_folder(folder: str | Path) -> str | None:
    """Check a sealed folder's files against its seal.

    Returns:
        None when every file is as sealed; otherwise what is wrong, in a few
        words (for a one-line note), e.g. ``"auto_codes.parquet changed"``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return "missing"
    try:
        checksums = json.loads((folder / SEAL).read_text(encoding="utf-8"))
        expected = {
            name: (v["sha256"], int(v["bytes"])) for name, v in checksums.items()
        }
    except FileNotFoundError:
        return "no checksums: unfinished, or made by an earlier version"
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return "checksums unreadable"
    for name, (sha256, size) in expected.items():
        path = folder / name
        if not path.is_file():
            return f"{name} missing"
        if path.stat().st_size != size or _digest(path) != sha256:
            return f"{name} changed"
    return None


def sealed_digest(folder: str | Path, name: str) -> str | None:
    """The SHA-256 a folder's seal records for one of its files, or None.

    Read from the seal, not recomputed: call it after :func:`verify_folder`.
    """
    try:
        checksums = json.loads((Path(folder) / SEAL).read_text(encoding="utf-8"))
        return str(checksums[name]["sha256"])
    except (OSError, ValueError, TypeError, KeyError):
        return None


def discard_folder(folder: str | Path) -> None:
    """Delete a damaged cache folder (only ever one under the cache)."""
    shutil.rmtree(folder, ignore_errors=True)


def copy_into(source: str | Path, target: str | Path) -> Path:
    """Copy a file atomically, as a reflink where the filesystem can make one.

    ``os.copy_file_range`` shares the blocks copy-on-write on filesystems
    that support it (Btrfs, XFS) and copies them elsewhere.
    """
    source, target = Path(source), Path(target)
    handle, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with open(source, "rb") as src, os.fdopen(handle, "wb") as dst:
            size = os.fstat(src.fileno()).st_size
            try:
                copied = 0
                while copied < size:
                    sent = os.copy_file_range(src.fileno(), dst.fileno(), size - copied)
                    if sent == 0:
                        break
                    copied += sent
                if copied != size:
                    raise OSError("short copy")
            except OSError:
                src.seek(0)
                dst.seek(0)
                dst.truncate()
                shutil.copyfileobj(src, dst, length=1 << 20)
        os.chmod(tmp, file_mode())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target
