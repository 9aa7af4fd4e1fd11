"""REFI-QDA: read codebooks (``.qdc``) and projects (``.qdpx``) safely.

A ``.qdpx`` is a ZIP holding ``project.qde`` (XML, namespace
``urn:QDA-XML:project:1.0``) and the sources under ``sources/``; a ``.qdc``
is a codebook (namespace ``urn:QDA-XML:codebook:1.0``). Both come from other
people's machines, so they are read defensively:

- the archive is never extracted to disk; entries are read into memory after
  checking the entry count, each entry's and the total uncompressed size, the
  compression ratio, and that no name is absolute or climbs out with ``..``;
- XML is parsed with ``defusedxml`` (no DTDs, no entity expansion, no
  external entities).

Positions (``startPosition``/``endPosition`` of a ``PlainTextSelection``) are
read as Unicode code points into the source's plain text. When that text has
``\\r\\n`` line endings, positions are mapped onto the project's normalised text
(``\\n`` only), assuming they count the text as stored.

:func:`write_project` writes the other way: documents, a codebook and codings
into a ``.qdpx`` that validates against the REFI-QDA 1.0 project schema, the
human coders first and the auto-coders marked so that :func:`is_auto_coder`
knows them when the project comes back as human codes.

A code read from a REFI-QDA codebook has its ``guid`` as its id and its
``name`` as its name.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import uuid
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from pipeline.coding.codebook import Code, Codebook
from pipeline.errors import (
    CodebookError,
    CodesError,
    InputFormatError,
    UnsafeInputError,
)
from pipeline.io.decode import decode_bytes

PROJECT_NS = "urn:QDA-XML:project:1.0"


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
    from xml.etree.ElementTree import ParseError

    import defusedxml.ElementTree as safe_tree
    from defusedxml import DefusedXmlException

    try:
        return safe_tree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise UnsafeInputError(
            f"{source}: the XML declares a DTD or entities ({type(error).__name__}); "
            "refused for safety"
        ) from error
    except ParseError as error:
        raise InputFormatError(f"{source}: malformed XML ({error})") from error


@dataclass(frozen=True, slots=True)
class RefiCode:
    """A code of a REFI-QDA codebook."""

    guid: str
    name: str
    parent_guid: str | None
    description: str = ""


@dataclass(frozen=True, slots=True)
class RefiCoding:
    """One coding: a span of a source, a code and the user who coded it."""

    source_guid: str
    start: int
    end: int
    code_guid: str
    user_guid: str | None


@dataclass(frozen=True, slots=True)
class RefiSource:
    """A text source: its name and normalised plain text."""

    guid: str
    name: str
    text: str


@dataclass(frozen=True)
class RefiProject:
    """What a ``.qdpx`` project holds that this pipeline uses."""

    name: str
    users: dict[str, str] = field(default_factory=dict)
    codes: list[RefiCode] = field(default_factory=list)
    sources: list[RefiSource] = field(default_factory=list)
    codings: list[RefiCoding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element, name: str):
    return [child for child in element if _local(child.tag) == name]


def _child(element, name: str):
    found = _children(element, name)
    return found[0] if found else None


def _walk_codes(codes_element, parent: str | None, out: list[RefiCode]) -> None:
    for element in _children(codes_element, "Code"):
        description = _child(element, "Description")
        code = RefiCode(
            guid=element.get("guid", ""),
            name=element.get("name", "").strip(),
            parent_guid=parent,
            description=(description.text or "").strip()
            if description is not None
            else "",
        )
        out.append(code)
        _walk_codes(element, code.guid, out)


def _codes_of(root) -> list[RefiCode]:
    codebook = root if _local(root.tag) == "CodeBook" else _child(root, "CodeBook")
    if codebook is None:
        return []
    codes_element = _child(codebook, "Codes")
    out: list[RefiCode] = []
    if codes_element is not None:
        _walk_codes(codes_element, None, out)
    return out


def codes_to_codebook_codes(codes: list[RefiCode]) -> list[Code]:
    """Turn REFI codes into codebook codes: the GUID is the id, the name is shown.

    The GUID is what stays when a code is renamed in a QDA tool, and what the
    codings of the same project point at. A code without a GUID (invalid, but
    seen) takes its name as its id, made unique with ``#2``, ``#3``, ...
    """
    ids: list[str] = []
    used: set[str] = set()
    by_guid: dict[str, str] = {}
    for index, code in enumerate(codes):
        base = code.guid or code.name or f"code {index + 1}"
        candidate, n = base, 2
        while candidate in used:
            candidate, n = f"{base} #{n}", n + 1
        ids.append(candidate)
        used.add(candidate)
        by_guid.setdefault(code.guid, candidate)
    return [
        Code(
            id=code_id,
            name=code.name or code.guid or f"code {index + 1}",
            parent=by_guid.get(code.parent_guid) if code.parent_guid else None,
            definition=code.description,
        )
        for index, (code, code_id) in enumerate(zip(codes, ids, strict=True))
    ]


def read_codebook(path: Path) -> list[Code]:
    """Read the codes of a ``.qdc`` codebook or of the codebook inside a ``.qdpx``.

    Raises:
        InputFormatError: Not a REFI-QDA file, or malformed.
        UnsafeInputError: A hostile archive or XML.
    """
    data = Path(path).read_bytes()
    if Path(path).suffix.lower() == ".qdpx":
        entries = read_archive(data, source=str(path))
        xml = _project_xml(entries, str(path))
    else:
        xml = data
    root = parse_xml(xml, source=str(path))
    codes = _codes_of(root)
    if not codes:
        raise InputFormatError(f"{path}: no codes found in the REFI-QDA codebook")
    return codes_to_codebook_codes(codes)


def _project_xml(entries: dict[str, bytes], source: str) -> bytes:
    for name, content in entries.items():
        if name.lower().endswith(".qde"):
            return content
    raise InputFormatError(f"{source}: no project.qde inside the .qdpx archive")


def read_project(
    path: str | Path, *, limits: ArchiveLimits = ArchiveLimits()
) -> RefiProject:
    """Read users, codes, text sources and codings of a ``.qdpx`` project.

    Args:
        path: The ``.qdpx`` file.
        limits: Archive safety limits.

    Returns:
        The project; ``notes`` lists what was skipped (non-text sources,
        selections outside their text).

    Raises:
        InputFormatError: Not a REFI-QDA project, or malformed.
        UnsafeInputError: A hostile archive or XML.
    """
    path = Path(path)
    entries = read_archive(path.read_bytes(), source=str(path), limits=limits)
    root = parse_xml(_project_xml(entries, str(path)), source=f"{path}:project.qde")
    if _local(root.tag) != "Project":
        raise InputFormatError(f"{path}: project.qde has no <Project> root element")
    project = RefiProject(name=root.get("name", path.stem))
    users = _child(root, "Users")
    if users is not None:
        for user in _children(users, "User"):
            project.users[user.get("guid", "")] = (
                user.get("name") or user.get("id") or user.get("guid", "")
            )
    project.codes.extend(_codes_of(root))
    sources = _child(root, "Sources")
    for element in sources if sources is not None else []:
        kind = _local(element.tag)
        if kind != "TextSource":
            project.notes.append(
                f"{kind} {element.get('name', '')!r} skipped: only text sources are "
                "read"
            )
            continue
        raw_text = _source_text(element, entries, str(path))
        text = raw_text.replace("\r\n", "\n").replace("\r", "\n")
        position = _position_map(raw_text)
        guid = element.get("guid", "")
        project.sources.append(
            RefiSource(guid=guid, name=element.get("name", guid), text=text)
        )
        for selection in _children(element, "PlainTextSelection"):
            try:
                start = int(selection.get("startPosition", "-1"))
                end = int(selection.get("endPosition", "-1"))
            except ValueError:
                start = end = -1  # reported below as outside the text

            if not 0 <= start <= end <= len(raw_text):
                project.skipped.append(
                    f"offsets out of range: selection {selection.get('guid')} in "
                    f"{element.get('name')!r} at {start}-{end}, text of "
                    f"{len(raw_text)} characters "
                    f"({len(_children(selection, 'Coding'))} codings)"
                )
                continue
            for coding in _children(selection, "Coding"):
                code_ref = _child(coding, "CodeRef")
                if code_ref is None:
                    continue
                project.codings.append(
                    RefiCoding(
                        source_guid=guid,
                        start=position(start),
                        end=position(end),
                        code_guid=code_ref.get("targetGUID", ""),
                        user_guid=coding.get("creatingUser")
                        or selection.get("creatingUser"),
                    )
                )
    return project


def _source_text(element, entries: dict[str, bytes], source: str) -> str:
    content = _child(element, "PlainTextContent")
    if content is not None and content.text is not None:
        return content.text
    path = element.get("plainTextPath", "")
    if path.startswith("internal://"):
        name = "sources/" + path[len("internal://") :]
        for entry, data in entries.items():
            if entry == name or entry.lower() == name.lower():
                return _decode_keeping_line_ends(data, f"{source}:{entry}")
        raise InputFormatError(f"{source}: source text {path!r} is not in the archive")
    if path:
        raise InputFormatError(
            f"{source}: source {element.get('name')!r} points at an external file "
            f"{path!r}; export the project with its sources embedded"
        )
    return ""


def _decode_keeping_line_ends(data: bytes, source: str) -> str:
    """Decode a source text as stored (positions may count its ``\\r\\n``)."""
    if not data.strip():
        return ""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return decode_bytes(data, source=source).text


def _position_map(raw_text: str):
    """Map positions in ``raw_text`` to positions once ``\\r\\n`` became ``\\n``."""
    if "\r" not in raw_text:
        return lambda position: position
    removed = []
    count = 0
    for index, char in enumerate(raw_text):
        removed.append(count)
        if char == "\r" and raw_text[index + 1 : index + 2] == "\n":
            count += 1
    removed.append(count)
    return lambda position: position - removed[position]


# ---------------------------------------------------------------------------
# Writing a project
# ---------------------------------------------------------------------------

#: Namespace of every GUID this module writes: the same inputs give the same GUIDs.
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:transcript-themes:refi-qda")

#: How the exporter names an auto-coder user: ``auto: <model> (run <run id>)``.
AUTO_CODER_NAME = re.compile(r"auto: .+ \(run [^()]+\)")
_GUID = re.compile(
    r"(\{)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}(?(1)\})"
)


def auto_coder_name(model: str, run_id: str) -> str:
    """The user name the exporter gives an auto-coder (see :func:`is_auto_coder`)."""
    return f"auto: {model} (run {run_id})"


def is_auto_coder(guid: str, name: str) -> bool:
    """Whether a project's user is an auto-coder that :func:`write_project` wrote.

    :func:`write_project` gives an auto-coder the GUID made from
    ``auto-coder`` and its name (a person's is made from ``user`` and the
    name, so a person is never taken for an auto-coder by GUID), and this
    tool names its auto-coders ``auto: <model> (run <run id>)``
    (:func:`auto_coder_name`). QDA tools keep user names but may make new
    GUIDs when they export the project again, so either is enough.

    Args:
        guid: The user's GUID.
        name: The user's name.

    Returns:
        True for an auto-coder of this tool.
    """
    return (
        guid.lower() == _guid("auto-coder", name)
        or AUTO_CODER_NAME.fullmatch(name) is not None
    )


def code_guid(code_id: str) -> str:
    """The GUID a code is exported with: its own when its id is one, else a UUID 5.

    A code read from a REFI-QDA codebook has its GUID as its id, which is
    kept, so a project exported and read back points at the same codes.
    """
    return code_id if _GUID.fullmatch(code_id) else _guid("code", code_id)


# Characters XML 1.0 cannot hold at all (C0 controls other than tab, line feed
# and carriage return; lone surrogates; U+FFFE and U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LABEL_LENGTH = 40
# A fixed timestamp and mode for every archive entry, so archives are reproducible.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class ExportDocument:
    """A document to export: its id, normalised text and metadata.

    Attributes:
        document_id: The document's id; becomes the source's and the case's name.
        text: Its normalised text (``\\n`` line endings), which the codings'
            offsets index.
        metadata: Metadata key to value; each key becomes a text variable.
    """

    document_id: str
    text: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExportCoding:
    """A code on a span of a document, by one user, to export.

    Attributes:
        document_id: The document coded.
        start: First character of the span (a Python ``str`` index).
        end: One past the last character of the span.
        code: The code's id in the codebook.
        user: Who coded it: a display name such as ``"Ann"`` or
            ``"auto: zero-shot (run 20261126-000000-abcd)"``.
    """

    document_id: str
    start: int
    end: int
    code: str
    user: str


def write_project(
    path: str | Path,
    *,
    name: str,
    documents: Sequence[ExportDocument],
    codebook: Codebook,
    codings: Sequence[ExportCoding],
    origin: str = "transcript-themes",
    auto_coders: Collection[str] = (),
) -> Path:
    """Write documents, a codebook and codings as a REFI-QDA project (``.qdpx``).

    The archive holds ``project.qde`` (namespace ``urn:QDA-XML:project:1.0``,
    valid against the QDA-XML 1.0 project schema) and one
    ``sources/<guid>.txt`` per document. The project has a ``User`` per
    distinct coding user, the codebook's codes nested by ``parent``, a text
    ``Variable`` per metadata key, a ``Case`` per document holding its
    metadata values, and a ``TextSource`` per document with one
    ``PlainTextSelection`` (holding one ``Coding``) per coding.

    Users: the human coders come first, in the order of their first coding,
    then the auto-coders (``auto_coders``). A QDA tool that makes the first
    user of a project its active coder (QualCoder does) so credits new
    codings to a person. An auto-coder's GUID is made from ``auto-coder`` and
    its name, a person's from ``user`` and the name, so :func:`is_auto_coder`
    tells them apart when the project is read back.

    Positions: ``startPosition`` and ``endPosition`` are Unicode code points
    into the stored plain text, that is Python ``str`` indices (U+1F642, an
    emoji, counts one, not two UTF-16 units nor four UTF-8 bytes; a combining
    accent counts one of its own). The standard does not say what a
    position counts, and tools disagree, notably on line endings (one counts
    ``\\r\\n`` as two characters, another as one). So the archive carries the
    exact text the positions refer to, UTF-8 without a byte-order mark and with
    ``\\n`` line endings only, and a reader can check a span against it.

    GUIDs are UUID 5 of stable names (user name, code id, document id, metadata
    key, a coding's index and content) in :data:`GUID_NAMESPACE`, a code read
    from a REFI-QDA codebook keeps its own GUID (see :func:`code_guid`), and the
    archive has fixed timestamps, so the same inputs give a byte-identical
    file. The file is written under a temporary name in the same folder and
    renamed into place, so a reader never sees half a project.

    Args:
        path: The ``.qdpx`` file to write (replaced if it exists).
        name: The project's name.
        documents: The documents, in the order their sources are written.
        codebook: The codes; every code is written, used or not.
        codings: The codings, in the order they are written.
        origin: The software named as the project's origin.
        auto_coders: The users of ``codings`` that are auto-coders, not people
            (named as :func:`auto_coder_name` makes them).

    Returns:
        The path written.

    Raises:
        CodesError: A coding names an unknown document or code, its offsets
            fall outside its document's text (or are empty), or its user is
            blank; a document id is blank or used twice, or a document's text
            cannot be stored as the positions need (a ``\\r``, a leading
            byte-order mark, a lone surrogate); a name or value holds a
            character XML cannot carry. The message names the item.
        CodebookError: A code's parent is not in the codebook, or the
            hierarchy loops.
    """
    path = Path(path)
    texts = _check_documents(documents)
    _check_codings(codings, texts, codebook)
    _check_xml_text("project name", name)
    _check_xml_text("origin", origin)
    source_guids = {
        document.document_id: _guid("source", document.document_id)
        for document in documents
    }

    def write_entries(archive: zipfile.ZipFile) -> None:
        with archive.open(_zip_info("project.qde"), "w") as handle:
            _write_project_xml(
                handle,
                name=name,
                origin=origin,
                documents=documents,
                codebook=codebook,
                codings=codings,
                source_guids=source_guids,
                auto_coders=frozenset(auto_coders),
            )
        for document in documents:
            info = _zip_info(f"sources/{source_guids[document.document_id]}.txt")
            archive.writestr(info, document.text.encode("utf-8"))

    _write_zip_atomically(path, write_entries)
    return path


def _write_project_xml(
    handle,
    *,
    name: str,
    origin: str,
    documents: Sequence[ExportDocument],
    codebook: Codebook,
    codings: Sequence[ExportCoding],
    source_guids: Mapping[str, str],
    auto_coders: frozenset[str],
) -> None:
    """Write ``project.qde`` from inputs already checked, one case or source at a time.

    The project is never held whole in memory (at 100,000 documents the tree
    and its text took about 1 GB): each element below ``Cases`` and
    ``Sources`` is built, indented at its depth, written and dropped.
    """
    texts = {document.document_id: document.text for document in documents}
    users = list(dict.fromkeys(coding.user for coding in codings))
    # people first: a QDA tool may make the first user its active coder
    users.sort(key=lambda user: user in auto_coders)
    user_guids = {
        user: _guid("auto-coder" if user in auto_coders else "user", user)
        for user in users
    }
    code_guids = {code.id: code_guid(code.id) for code in codebook.codes}
    variables = sorted({key for document in documents for key in document.metadata})
    variable_guids = {key: _guid("variable", key) for key in variables}

    def write(element: ElementTree.Element, level: int) -> None:
        ElementTree.indent(element, level=level)
        handle.write(
            ("\n" + "  " * level).encode("utf-8")
            + ElementTree.tostring(element, encoding="unicode").encode("utf-8")
        )

    # The namespace is written as a plain attribute: ElementTree's
    # register_namespace would change process-wide state.
    opening = ElementTree.tostring(
        ElementTree.Element("Project", xmlns=PROJECT_NS, name=name, origin=origin),
        encoding="unicode",
    ).removesuffix(" />")
    handle.write(
        b'<?xml version="1.0" encoding="UTF-8"?>\n' + opening.encode("utf-8") + b">"
    )
    # The element order below is the one ProjectType's xsd:sequence requires.
    if users:
        users_element = ElementTree.Element("Users")
        for user in users:
            ElementTree.SubElement(
                users_element, "User", guid=user_guids[user], name=user
            )
        write(users_element, 1)
    if codebook.codes:
        codebook_element = ElementTree.Element("CodeBook")
        _add_codes(
            ElementTree.SubElement(codebook_element, "Codes"), codebook, code_guids
        )
        write(codebook_element, 1)
    if variables:
        variables_element = ElementTree.Element("Variables")
        for key in variables:
            ElementTree.SubElement(
                variables_element,
                "Variable",
                guid=variable_guids[key],
                name=key,
                typeOfVariable="Text",
            )
        write(variables_element, 1)
    if documents:
        handle.write(b"\n  <Cases>")
        for document in documents:
            case = ElementTree.Element(
                "Case",
                guid=_guid("case", document.document_id),
                name=document.document_id,
            )
            for key in variables:
                if key in document.metadata:
                    value = ElementTree.SubElement(case, "VariableValue")
                    ElementTree.SubElement(
                        value, "VariableRef", targetGUID=variable_guids[key]
                    )
                    text_value = ElementTree.SubElement(value, "TextValue")
                    text_value.text = document.metadata[key]
            ElementTree.SubElement(
                case, "SourceRef", targetGUID=source_guids[document.document_id]
            )
            write(case, 2)
        handle.write(b"\n  </Cases>\n  <Sources>")
        by_document: dict[str, list[int]] = {}
        for index, coding in enumerate(codings):
            by_document.setdefault(coding.document_id, []).append(index)
        for document in documents:
            guid = source_guids[document.document_id]
            source = ElementTree.Element(
                "TextSource",
                guid=guid,
                name=document.document_id,
                plainTextPath=f"internal://{guid}.txt",
            )
            for index in by_document.get(document.document_id, ()):
                coding = codings[index]
                selection_name = _coding_name(index, coding)
                selection = ElementTree.SubElement(
                    source,
                    "PlainTextSelection",
                    guid=_guid("selection", selection_name),
                    name=_label(texts[coding.document_id][coding.start : coding.end]),
                    startPosition=str(coding.start),
                    endPosition=str(coding.end),
                    creatingUser=user_guids[coding.user],
                )
                coding_element = ElementTree.SubElement(
                    selection,
                    "Coding",
                    guid=_guid("coding", selection_name),
                    creatingUser=user_guids[coding.user],
                )
                ElementTree.SubElement(
                    coding_element, "CodeRef", targetGUID=code_guids[coding.code]
                )
            write(source, 2)
        handle.write(b"\n  </Sources>")
    handle.write(b"\n</Project>\n")


def _guid(kind: str, key: str) -> str:
    """A GUID for ``key`` among things of one ``kind``, as GUIDType wants it."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}\x1f{key}"))


def _coding_name(index: int, coding: ExportCoding) -> str:
    """A stable name for a coding: its index and content."""
    return "\x1f".join(
        [
            str(index),
            coding.document_id,
            coding.code,
            str(coding.start),
            str(coding.end),
            coding.user,
        ]
    )


def _label(quote: str) -> str:
    """A short label for a selection: its quote, on one line, cut short."""
    label = " ".join(_NOT_XML.sub(" ", quote).split())
    if len(label) > _LABEL_LENGTH:
        label = label[: _LABEL_LENGTH - 1].rstrip() + "…"
    return label


def _check_xml_text(what: str, value: object) -> None:
    """Refuse a value that is not a string or holds a character XML cannot carry."""
    if not isinstance(value, str):
        raise CodesError(
            f"REFI-QDA export: {what} must be a string, got {type(value).__name__} "
            f"{value!r}"
        )
    bad = _NOT_XML.search(value)
    if bad is not None:
        raise CodesError(
            f"REFI-QDA export: {what} holds the character U+{ord(bad.group()):04X} at "
            f"position {bad.start()}, which XML cannot carry; remove it"
        )


def _check_documents(documents: Sequence[ExportDocument]) -> dict[str, str]:
    """Check document ids, texts and metadata; return document id to text."""
    texts: dict[str, str] = {}
    for number, document in enumerate(documents):
        label = f"document {number} ({document.document_id!r})"
        _check_xml_text(f"{label}: document_id", document.document_id)
        if not document.document_id.strip():
            raise CodesError(f"REFI-QDA export: {label}: document_id is blank")
        if document.document_id in texts:
            raise CodesError(
                f"REFI-QDA export: {label}: document_id is used by an earlier document"
            )
        text = document.text
        if not isinstance(text, str):
            raise CodesError(
                f"REFI-QDA export: {label}: text must be a string, got "
                f"{type(text).__name__}"
            )
        # Readers turn \r\n into \n and drop a leading byte-order mark, which
        # would move every position after it: the text must be stored as is.
        if "\r" in text:
            raise CodesError(
                f"REFI-QDA export: {label}: the text holds a carriage return at "
                f"position {text.index(chr(13))}; normalise line endings to \\n "
                "before coding, as ingest does"
            )
        if text.startswith("\ufeff"):
            raise CodesError(
                f"REFI-QDA export: {label}: the text starts with a byte-order mark "
                "(U+FEFF), which readers drop; remove it before coding"
            )
        surrogate = re.search("[\ud800-\udfff]", text)
        if surrogate is not None:
            raise CodesError(
                f"REFI-QDA export: {label}: the text holds a lone surrogate at "
                f"position {surrogate.start()}, which UTF-8 cannot store"
            )
        for key, value in document.metadata.items():
            _check_xml_text(f"{label}: metadata key", key)
            _check_xml_text(f"{label}: metadata {key!r}", value)
        texts[document.document_id] = text
    return texts


def _check_codings(
    codings: Sequence[ExportCoding], texts: Mapping[str, str], codebook: Codebook
) -> None:
    """Check each coding's document, code, offsets and user; name the bad one."""
    code_ids = set(codebook.ids)
    for index, coding in enumerate(codings):
        label = (
            f"coding {index} (document {coding.document_id!r}, code {coding.code!r}, "
            f"{coding.start}-{coding.end}, user {coding.user!r})"
        )
        if coding.document_id not in texts:
            raise CodesError(
                f"REFI-QDA export: {label}: unknown document; add it to the documents "
                "exported"
            )
        if coding.code not in code_ids:
            known = ", ".join(repr(code_id) for code_id in codebook.ids[:20])
            more = " ..." if len(code_ids) > 20 else ""
            raise CodesError(
                f"REFI-QDA export: {label}: code {coding.code!r} is not a code id of "
                f"the codebook (ids: {known}{more})"
            )
        length = len(texts[coding.document_id])
        offsets_are_ints = all(
            isinstance(value, int) and not isinstance(value, bool)
            for value in (coding.start, coding.end)
        )
        if not offsets_are_ints or not 0 <= coding.start < coding.end <= length:
            raise CodesError(
                f"REFI-QDA export: {label}: offsets outside the text; need whole "
                f"numbers with 0 <= start < end <= {length} (the document's length)"
            )
        _check_xml_text(f"{label}: user", coding.user)
        if not coding.user.strip():
            raise CodesError(
                f"REFI-QDA export: {label}: user is blank; give a display name"
            )
    for code in codebook.codes:
        _check_xml_text(f"code {code.id!r}: name", code.name)
        _check_xml_text(f"code {code.id!r}: definition", code.definition)


def _add_codes(
    codes_element: ElementTree.Element,
    codebook: Codebook,
    code_guids: Mapping[str, str],
) -> None:
    """Add the codebook's codes, each inside its parent, in codebook order."""
    children: dict[str | None, list[Code]] = {}
    for code in codebook.codes:
        if code.parent is not None and code.parent not in code_guids:
            raise CodebookError(
                f"{codebook.source or codebook.name}: code {code.id!r}: field "
                f"'parent': no code has the id {code.parent!r}"
            )
        children.setdefault(code.parent, []).append(code)
    n_written = 0
    pending = [(codes_element, code) for code in reversed(children.get(None, []))]
    while pending:
        parent_element, code = pending.pop()
        element = ElementTree.SubElement(
            parent_element,
            "Code",
            guid=code_guids[code.id],
            name=code.name,
            isCodable="true",
        )
        if code.definition:
            ElementTree.SubElement(element, "Description").text = code.definition
        n_written += 1
        pending.extend(
            (element, child) for child in reversed(children.get(code.id, []))
        )
    if n_written < len(codebook.codes):
        looping = sorted(set(code_guids) - _reachable(children))
        raise CodebookError(
            f"{codebook.source or codebook.name}: codes {', '.join(looping)}: field "
            "'parent': the hierarchy loops, so they have no root"
        )


def _reachable(children: Mapping[str | None, list[Code]]) -> set[str]:
    """Ids of the codes reachable from the roots of the hierarchy."""
    seen: set[str] = set()
    pending = list(children.get(None, []))
    while pending:
        code = pending.pop()
        seen.add(code.id)
        pending.extend(children.get(code.id, []))
    return seen


def _zip_info(entry_name: str) -> zipfile.ZipInfo:
    """A reproducible archive entry: fixed time, mode 644, deflated (zlib level 6)."""
    info = zipfile.ZipInfo(entry_name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever the platform
    info.external_attr = 0o644 << 16
    return info


def _write_zip_atomically(path: Path, write_entries) -> None:
    """Write a reproducible ZIP under a temporary name, then rename it into place.

    Args:
        path: The archive to write.
        write_entries: Called with the open :class:`zipfile.ZipFile`; adds the
            entries (made with :func:`_zip_info`).
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
