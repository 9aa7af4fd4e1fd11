"""Office files (``.docx``, ``.xlsx``): ZIP archives of XML, checked before reading.

Both come from other people's machines, so the archive is read within the
configured limits (``ingest.limits.archive_*``) and its XML is checked before
any XML library opens it.
"""

from __future__ import annotations

from pipeline.config.inputs import LimitsConfig
from pipeline.errors import UnsafeInputError
from pipeline.io.refi.archive import ArchiveLimits, parse_xml, read_archive


def archive_limits(limits: LimitsConfig) -> ArchiveLimits:
    """The configured ZIP limits (``ingest.limits.archive_*``)."""
    return ArchiveLimits(
        max_entries=limits.archive_entries,
        max_entry_bytes=int(limits.archive_entry_mb * 1_000_000),
        max_total_bytes=int(limits.archive_total_mb * 1_000_000),
        max_ratio=limits.archive_ratio,
    )


def check_office_archive(data: bytes, *, source: str, limits: LimitsConfig) -> None:
    """Refuse a hostile Office file before any XML library opens it.

    The archive is read within the configured limits (entry count, sizes,
    compression ratio, no names leaving the archive), and no XML part may
    declare a DTD or entities (billion laughs, external entities); the main
    document part must be well-formed XML.

    Raises:
        UnsafeInputError: Over a limit, or XML with a DTD or entities.
        InputFormatError: Broken XML in the document part.
    """
    entries = read_archive(data, source=source, limits=archive_limits(limits))
    for name, content in entries.items():
        if name.endswith((".xml", ".rels")) and (
            b"<!DOCTYPE" in content or b"<!ENTITY" in content
        ):
            raise UnsafeInputError(
                f"{source}: {name} declares a DTD or entities; refused for safety "
                "(an Office file never needs them)"
            )
    for name in ("word/document.xml", "xl/workbook.xml"):
        if name in entries:
            parse_xml(entries[name], source=f"{source}: {name}")
