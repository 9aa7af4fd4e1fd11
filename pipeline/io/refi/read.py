"""Read REFI-QDA codebooks (``.qdc``) and projects (``.qdpx``) safely.

A ``.qdpx`` is a ZIP holding ``project.qde`` (XML, namespace
``urn:QDA-XML:project:1.0``) and the sources under ``sources/``; a ``.qdc``
is a codebook (namespace ``urn:QDA-XML:codebook:1.0``). Both come from other
people's machines, so they are read defensively (see
:mod:`pipeline.io.refi.archive`).

Positions (``startPosition``/``endPosition`` of a ``PlainTextSelection``) are
read as Unicode code points into the source's plain text. When that text has
``\\r\\n`` line endings, positions are mapped onto the project's normalised text
(``\\n`` only), assuming they count the text as stored.

A code read from a REFI-QDA codebook has its ``guid`` as its id and its
``name`` as its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.coding.codebook_records import Code
from pipeline.errors import InputFormatError
from pipeline.io.decode import decode_bytes
from pipeline.io.refi.archive import ArchiveLimits, parse_xml, read_archive


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
