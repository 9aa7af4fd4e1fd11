"""Human codes from REFI-QDA projects (``.qdpx``: NVivo, ATLAS.ti, MAXQDA, QualCoder).

Users, nested codes, text sources and their coded selections are read; sources
are matched to documents by name, then by text. The codings of an auto-coder
in a ``.qdpx`` this tool exported (see
:func:`pipeline.io.refi.guids.is_auto_coder`) are not human codes: they are
skipped, with a note, unless asked for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from pipeline.coding.codebook_records import Codebook
from pipeline.errors import CodesError, InputFormatError
from pipeline.io.codes.matching import CodeMatcher, make_import
from pipeline.io.codes.records import (
    DEFAULT_CODER,
    CodeAssignment,
    CodesImport,
    UnusedCode,
)
from pipeline.io.refi.guids import is_auto_coder
from pipeline.io.refi.read import RefiProject, read_project


def read_qdpx(
    path: Path,
    codebook: Codebook,
    documents: Mapping[str, str],
    offset_maps: Mapping,
    include_auto_coders: bool,
) -> CodesImport:
    """Read the human codings of a ``.qdpx`` project.

    See :func:`~pipeline.io.codes.read.read_codes`.

    Args:
        path: The ``.qdpx`` file.
        codebook: The codebook.
        documents: Document id to normalised text.
        offset_maps: Document id to the ``OffsetMap`` of its redaction.
        include_auto_coders: Read the codings of this tool's auto-coders too.

    Returns:
        The usable codes and the unused codings with reasons.
    """
    project = _read_project(path)
    code_names = {code.guid: code.name for code in project.codes}
    source_to_document, notes = match_sources(project.sources, documents)
    auto_coders = _auto_coder_users(project)
    matcher = CodeMatcher(codebook)
    assignments, unused = [], []
    skipped: Counter = Counter()
    sources = {source.guid: source for source in project.sources}
    for number, coding in enumerate(project.codings, start=1):
        coder = project.users.get(
            coding.user_guid or "", coding.user_guid or DEFAULT_CODER
        )
        if coding.user_guid in auto_coders and not include_auto_coders:
            skipped[coder] += 1
            continue
        source = sources.get(coding.source_guid)
        origin = f"{path.name}:coding {number}"
        name = code_names.get(coding.code_guid, coding.code_guid)
        found = matcher.match(name, guid=coding.code_guid)
        if found is None:
            unused.append(UnusedCode(origin, matcher.unknown(name)))
            continue
        document_id = source_to_document.get(coding.source_guid)
        if document_id is None:
            label = source.name if source else coding.source_guid
            unused.append(
                UnusedCode(origin, f"unknown document: source {label!r} matches none")
            )
            continue
        assignments.append(
            CodeAssignment(
                document_id,
                found.code,
                coder,
                *_mapped(offset_maps, document_id, coding),
                origin,
            )
        )
    unused.extend(
        UnusedCode(f"{path.name}:selection", reason) for reason in project.skipped
    )
    skipped_notes = [
        f"{n} codings by {coder!r} skipped: an auto-coder of this tool (from an "
        "exported auto_codes.qdpx), not a human coder"
        for coder, n in skipped.items()
    ]
    return make_import(
        assignments,
        unused,
        str(path),
        "qdpx",
        [*project.notes, *notes, *skipped_notes],
        matcher=matcher,
        skipped_auto_coders=dict(skipped),
    )


def _auto_coder_users(project) -> set[str]:
    """GUIDs of the project's users that are auto-coders this tool exported."""
    return {guid for guid, name in project.users.items() if is_auto_coder(guid, name)}


def _mapped(offset_maps: Mapping, document_id: str, coding) -> tuple[int, int]:
    if document_id in offset_maps:
        return tuple(offset_maps[document_id].map_span(coding.start, coding.end))
    return coding.start, coding.end


def match_sources(
    sources, documents: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Match REFI-QDA text sources to documents: by name (stem), then by same text."""
    by_text = {text: document_id for document_id, text in documents.items()}
    matched, notes = {}, []
    for source in sources:
        stem = Path(source.name).stem
        if source.name in documents:
            matched[source.guid] = source.name
        elif stem in documents:
            matched[source.guid] = stem
        elif source.text in by_text:
            matched[source.guid] = by_text[source.text]
        else:
            notes.append(f"source {source.name!r} matches no document by name or text")
            continue
        if documents[matched[source.guid]] != source.text:
            notes.append(
                f"source {source.name!r} matched {matched[source.guid]!r} by name but "
                "its text differs; its offsets may not point at the same words"
            )
    return matched, notes


def unknown_project_codes(path: Path, matcher: CodeMatcher) -> dict[str, list[str]]:
    """Codes of a project's codings that match no code, with their codings.

    The codings of an auto-coder this tool exported are not checked.
    """
    missing: dict[str, list[str]] = {}
    project = _read_project(path)
    names = {code.guid: code.name for code in project.codes}
    auto_coders = _auto_coder_users(project)
    for number, coding in enumerate(project.codings, start=1):
        if coding.user_guid in auto_coders:
            continue
        name = names.get(coding.code_guid, coding.code_guid)
        if matcher.match(name, guid=coding.code_guid) is None:
            missing.setdefault(name, []).append(f"coding {number}")
    return missing


def _read_project(path: Path) -> RefiProject:
    """Read a ``.qdpx`` project; a malformed one is a :class:`CodesError`."""
    try:
        return read_project(path)
    except InputFormatError as error:
        raise CodesError(str(error)) from error
