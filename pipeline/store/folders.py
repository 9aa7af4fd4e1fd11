"""Output folders the tool may write to, and the rule that keeps users' files safe.

A folder the tool writes (a run folder, a model folder, a saved topic model)
holds a marker file, :data:`MARKER`, that says the tool made it. The tool
writes into, or replaces, only

- a folder that does not exist yet (it is created with the marker),
- an empty folder (nothing in it can be lost), or
- a folder that holds the marker (or, for folders made before the marker
  existed, the files only this tool writes there: see :data:`LEGACY_FILES`).

Any other folder is refused with :class:`~pipeline.errors.OutputFolderError`
before any work starts, and nothing in it is touched. A folder is replaced by
building the new one in a temporary sibling and moving it into place only
when it is complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pipeline.errors import OutputFolderError
from pipeline.store.permissions import folder_mode

MARKER = ".themes-output.json"
"""The file that marks a folder as written by this tool."""

FolderKind = Literal["run", "model", "topic model"]

LEGACY_FILES: dict[str, tuple[tuple[str, ...], ...]] = {
    "run": (("manifest.json",),),
    "model": (("card.json", "classifier.joblib"),),
    "topic model": (("card.json", "centroids.json"),),
}
"""Files that identify a folder of each kind written before the marker existed."""


def is_ours(folder: str | Path, kind: FolderKind) -> bool:
    """Whether ``folder`` was written by this tool (marker, or a legacy signature)."""
    folder = Path(folder)
    if (folder / MARKER).is_file():
        return True
    return any(
        all((folder / name).is_file() for name in names) for names in LEGACY_FILES[kind]
    )


def check_output_folder(path: str | Path, *, kind: FolderKind, option: str) -> Path:
    """Check that ``path`` can be written as an output folder, without creating it.

    Args:
        path: The folder asked for.
        kind: What will be written there (``run``, ``model``, ``topic model``).
        option: How the user named it (``--out``, ``topics.model_dir``), for
            the message.

    Returns:
        The path.

    Raises:
        OutputFolderError: ``path`` is a file, cannot be created (a file on its
            way, or no write permission), or is a folder that holds files this
            tool did not write.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputFolderError(
            f"{option} {path}: is a file, not a folder; name a new folder"
        )
    if path.is_dir():
        if any(path.iterdir()) and not is_ours(path, kind):
            raise OutputFolderError(
                f"{option} {path}: the folder exists and was not made by themes "
                f"(no {MARKER}); nothing was written. Name a new or empty folder"
            )
        if not os.access(path, os.W_OK | os.X_OK):
            raise OutputFolderError(f"{option} {path}: no permission to write there")
        return path
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputFolderError(
            f"{option} {path}: cannot be created, {parent} is a file"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputFolderError(
            f"{option} {path}: cannot be created, no permission to write in {parent}"
        )
    return path


def check_output_file(path: str | Path, *, option: str) -> Path:
    """Check that a file named by the user (``--out findings.csv``) can be written.

    The file is written whole under a temporary name and renamed, so an
    existing file of that name is replaced only by a complete one.

    Raises:
        OutputFolderError: ``path`` is a folder, or its folder cannot be created.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputFolderError(f"{option} {path}: is a folder; name a file")
    if not path.parent.is_dir():  # a file on the way, or no permission to make it
        check_output_folder(path.parent, kind="run", option=option)
    elif not os.access(path.parent, os.W_OK | os.X_OK):
        raise OutputFolderError(f"{option} {path}: no permission to write there")
    return path


def claim_output_folder(path: str | Path, *, kind: FolderKind, option: str) -> Path:
    """Create (or reuse) an output folder after :func:`check_output_folder`; mark it.

    Returns:
        The folder.

    Raises:
        OutputFolderError: As :func:`check_output_folder`.
    """
    path = check_output_folder(path, kind=kind, option=option)
    path.mkdir(parents=True, exist_ok=True, mode=folder_mode())
    if not (path / MARKER).is_file():
        _write_marker(path, kind)
    return path


@contextlib.contextmanager
def replacing_folder(
    path: str | Path, *, kind: FolderKind, option: str
) -> Iterator[Path]:
    """Build a folder in a temporary sibling; move it into ``path`` when complete.

    The block writes into the yielded staging folder. When it ends without an
    error, the old folder at ``path`` (one of ours, see :func:`is_ours`) is
    replaced; when it raises, the staging folder is removed and ``path`` is
    left as it was.

    Raises:
        OutputFolderError: ``path`` cannot be written (see
            :func:`check_output_folder`); checked before the block runs.
    """
    path = check_output_folder(path, kind=kind, option=option)
    path.parent.mkdir(parents=True, exist_ok=True, mode=folder_mode())
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    os.chmod(staging, folder_mode())
    try:
        yield staging
        _write_marker(staging, kind)
        # checked again: another process may have put something there meanwhile
        check_output_folder(path, kind=kind, option=option)
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(staging, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_if_empty(path: str | Path) -> None:
    """Remove a folder this run created when it holds nothing but its marker."""
    path = Path(path)
    if not path.is_dir():
        return
    names = {child.name for child in path.iterdir()}
    if names <= {MARKER}:
        with contextlib.suppress(OSError):
            (path / MARKER).unlink(missing_ok=True)
            path.rmdir()


def _write_marker(folder: Path, kind: str) -> None:
    created = datetime.now(UTC).isoformat(timespec="seconds")
    (folder / MARKER).write_text(
        json.dumps({"written_by": "themes", "kind": kind, "created_at": created})
        + "\n",
        encoding="utf-8",
    )
