"""ZIP archives and XML from other people's machines, read safely; ZIPs written.

Archives (``.qdpx``, and ``.docx``/``.xlsx`` alike) are never extracted to
disk: entries are read into memory after checking the entry count, each
entry's and the total uncompressed size, the compression ratio, and that no
name is absolute or climbs out with ``..``. XML is parsed with ``defusedxml``
(no DTDs, no entity expansion, no external entities). Archives this tool
writes are reproducible (fixed timestamps and modes) and appear whole.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_tree
from defusedxml import DefusedXmlException

from pipeline.errors import InputFormatError, UnsafeInputError

# A fixed timestamp and mode for every archive entry, so archives are reproducible.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Safety limits for ZIP archives (``.qdpx``, and ``.docx`` alike)."""

    max_entries: int = 10_000
    max_entry_bytes: int = 200_000_000
    max_total_bytes: int = 1_000_000_000
    max_ratio: float = 200.0


def read_archive(
    data: bytes, *, source: str, limits: ArchiveLimits = ArchiveLimits()
) -> dict[str, bytes]:
    """Read every file entry of a ZIP archive into memory, within safety limits.

    Args:
        data: The archive's bytes.
        source: Its name, for messages.
        limits: Entry count, sizes and compression ratio allowed.

    Returns:
        Entry name to content.

    Raises:
        UnsafeInputError: Too many entries, an entry too large or compressed
            too much (a zip bomb), or a name that is absolute or climbs out.
        InputFormatError: Not a ZIP archive.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise InputFormatError(f"{source}: not a ZIP archive ({error})") from error
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise UnsafeInputError(
            f"{source}: {len(entries):,} entries in the archive, over the limit of "
            f"{limits.max_entries:,}"
        )
    total = 0
    contents: dict[str, bytes] = {}
    for entry in entries:
        name = entry.filename
        normalised = posixpath.normpath(name.replace("\\", "/"))
        if (
            name.startswith(("/", "\\"))
            or re.match(r"^[A-Za-z]:", name)
            or normalised.startswith("..")
        ):
            raise UnsafeInputError(
                f"{source}: archive entry {name!r} points outside the archive"
            )
        if entry.is_dir():
            continue
        if entry.file_size > limits.max_entry_bytes:
            raise UnsafeInputError(
                f"{source}: archive entry {name!r} unpacks to {entry.file_size:,} "
                f"bytes, over the limit of {limits.max_entry_bytes:,}"
            )
        ratio = entry.file_size / max(entry.compress_size, 1)
        if ratio > limits.max_ratio and entry.file_size > 1_000_000:
            raise UnsafeInputError(
                f"{source}: archive entry {name!r} is compressed {ratio:,.0f} to 1; "
                "this looks like a zip bomb"
            )
        total += entry.file_size
        if total > limits.max_total_bytes:
            raise UnsafeInputError(
                f"{source}: the archive unpacks to more than "
                f"{limits.max_total_bytes:,} bytes"
            )
        with archive.open(entry) as handle:
            # read at most the declared size plus one byte: a lying header is caught
            content = handle.read(entry.file_size + 1)
        if len(content) > entry.file_size:
            raise UnsafeInputError(
                f"{source}: archive entry {name!r} is larger than declared"
            )
        contents[normalised] = content
    return contents


def parse_xml(data: bytes, *, source: str):
    """Parse XML with entity expansion, DTDs and external entities refused.

    Raises:
        UnsafeInputError: The XML declares a DTD or entities.
        InputFormatError: The XML is malformed.
    """
    try:
        return safe_tree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise UnsafeInputError(
            f"{source}: the XML declares a DTD or entities ({type(error).__name__}); "
            "refused for safety"
        ) from error
    except ParseError as error:
        raise InputFormatError(f"{source}: malformed XML ({error})") from error


def zip_info(entry_name: str) -> zipfile.ZipInfo:
    """A reproducible archive entry: fixed time, mode 644, deflated (zlib level 6)."""
    info = zipfile.ZipInfo(entry_name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever the platform
    info.external_attr = 0o644 << 16
    return info


SPOOL_BYTES = 64 * 2**20
"""An entry written by :func:`write_sized_entry` is held in memory up to this
size, then in a temporary file beside the archive."""


def write_sized_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, write, *, spool_dir: Path
) -> None:
    """Add an entry whose size is known only once it is written (the project XML).

    A streamed entry (``archive.open(info, "w")``) cannot grow past 2 GiB:
    zipfile decides on ZIP64 fields when the entry opens and raises "File
    size too large" when it closes (a million-segment project's XML). So the
    entry is written to a spooled temporary file first (in memory up to
    :data:`SPOOL_BYTES`, then in ``spool_dir``), then copied in with its size
    known: ZIP64 fields when it needs them, and the same bytes as a streamed
    entry when it does not.

    Args:
        archive: The archive being written.
        info: The entry (from :func:`zip_info`).
        write: Called with a binary file to write the entry's bytes to.
        spool_dir: Where a large entry waits (the archive's folder: its data
            stays with the run's files, with their permissions).
    """
    import shutil
    import tempfile

    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, dir=spool_dir) as spool:
        write(spool)
        info.file_size = spool.tell()
        spool.seek(0)
        with archive.open(info, "w") as handle:
            shutil.copyfileobj(spool, handle, 2**20)


def write_zip_atomically(path: Path, write_entries) -> None:
    """Write a reproducible ZIP under a temporary name, then rename it into place.

    Args:
        path: The archive to write.
        write_entries: Called with the open :class:`zipfile.ZipFile`; adds the
            entries (made with :func:`zip_info`).
    """
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    # os.open with mode 0o666 lets the umask decide the final file's permissions,
    # as for any ordinary file (tempfile would leave it private to the owner).
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            with zipfile.ZipFile(handle, "w") as archive:
                write_entries(archive)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
