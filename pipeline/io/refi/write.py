"""Write documents, a codebook and codings as a REFI-QDA project (``.qdpx``).

The project validates against the REFI-QDA 1.0 project schema; the human
coders come first and the auto-coders are marked so that
:func:`~pipeline.io.refi.guids.is_auto_coder` knows them when the project
comes back as human codes.
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from xml.etree import ElementTree

from pipeline.coding.codebook_records import Code, Codebook
from pipeline.errors import CodebookError
from pipeline.io.refi.archive import write_sized_entry, write_zip_atomically, zip_info
from pipeline.io.refi.export_input import (
    NOT_XML,
    ExportCoding,
    ExportDocument,
    check_codings,
    check_documents,
    check_xml_text,
)
from pipeline.io.refi.guids import code_guid, stable_guid
from pipeline.io.refi.project_xml import (
    BlockWriter,
    SelectionXml,
    case_xml,
    fast_stable_guid,
    text_source_xml,
)

PROJECT_NS = "urn:QDA-XML:project:1.0"
_LABEL_LENGTH = 40


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
    its name, a person's from ``user`` and the name, so
    :func:`~pipeline.io.refi.guids.is_auto_coder` tells them apart when the
    project is read back.

    Positions: ``startPosition`` and ``endPosition`` are Unicode code points
    into the stored plain text, that is Python ``str`` indices (U+1F642, an
    emoji, counts one, not two UTF-16 units nor four UTF-8 bytes; a combining
    accent counts one of its own). The standard does not say what a
    position counts, and tools disagree, notably on line endings (one counts
    ``\\r\\n`` as two characters, another as one). So the archive carries the
    exact text the positions refer to, UTF-8 without a byte-order mark and with
    ``\\n`` line endings only, and a reader can check a span against it.

    GUIDs are UUID 5 of stable names (user name, code id, document id, metadata
    key, a coding's index and content) in
    :data:`~pipeline.io.refi.guids.GUID_NAMESPACE`, a code read from a REFI-QDA
    codebook keeps its own GUID (see :func:`~pipeline.io.refi.guids.code_guid`),
    and the archive has fixed timestamps, so the same inputs give a
    byte-identical file. The file is written under a temporary name in the
    same folder and renamed into place, so a reader never sees half a project.

    Args:
        path: The ``.qdpx`` file to write (replaced if it exists).
        name: The project's name.
        documents: The documents, in the order their sources are written.
        codebook: The codes; every code is written, used or not.
        codings: The codings, in the order they are written.
        origin: The software named as the project's origin.
        auto_coders: The users of ``codings`` that are auto-coders, not people
            (named as :func:`~pipeline.io.refi.guids.auto_coder_name` makes
            them).

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
    texts = check_documents(documents)
    check_codings(codings, texts, codebook)
    check_xml_text("project name", name)
    check_xml_text("origin", origin)
    source_guids = {
        document.document_id: fast_stable_guid("source", document.document_id)
        for document in documents
    }

    def write_entries(archive: zipfile.ZipFile) -> None:
        write_sized_entry(
            archive,
            zip_info("project.qde"),
            lambda handle: _write_project_xml(
                handle,
                name=name,
                origin=origin,
                documents=documents,
                codebook=codebook,
                codings=codings,
                source_guids=source_guids,
                auto_coders=frozenset(auto_coders),
            ),
            spool_dir=path.parent,
        )
        for document in documents:
            info = zip_info(f"sources/{source_guids[document.document_id]}.txt")
            archive.writestr(info, document.text.encode("utf-8"))

    write_zip_atomically(path, write_entries)
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
    ``Sources`` is made as text (:mod:`pipeline.io.refi.project_xml`), the
    same bytes ElementTree would write, and written a block at a time.
    """
    texts = {document.document_id: document.text for document in documents}
    users = list(dict.fromkeys(coding.user for coding in codings))
    # people first: a QDA tool may make the first user its active coder
    users.sort(key=lambda user: user in auto_coders)
    user_guids = {
        user: stable_guid("auto-coder" if user in auto_coders else "user", user)
        for user in users
    }
    code_guids = {code.id: code_guid(code.id) for code in codebook.codes}
    variables = sorted({key for document in documents for key in document.metadata})
    variable_guids = {key: stable_guid("variable", key) for key in variables}

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
        # Cases and sources are written as text (project_xml), a block at a time
        blocks = BlockWriter(handle)
        blocks.write("\n  <Cases>")
        for document in documents:
            blocks.write(
                case_xml(
                    guid=fast_stable_guid("case", document.document_id),
                    name=document.document_id,
                    values=[
                        (variable_guids[key], document.metadata[key])
                        for key in variables
                        if key in document.metadata
                    ],
                    source_guid=source_guids[document.document_id],
                )
            )
        blocks.write("\n  </Cases>\n  <Sources>")
        by_document: dict[str, list[int]] = {}
        for index, coding in enumerate(codings):
            by_document.setdefault(coding.document_id, []).append(index)
        for document in documents:
            guid = source_guids[document.document_id]
            blocks.write(
                text_source_xml(
                    guid=guid,
                    name=document.document_id,
                    path=f"internal://{guid}.txt",
                    selections=[
                        _selection(
                            index,
                            codings[index],
                            texts,
                            user_guid=user_guids[codings[index].user],
                            code_guid=code_guids[codings[index].code],
                        )
                        for index in by_document.get(document.document_id, ())
                    ],
                )
            )
        blocks.write("\n  </Sources>")
        blocks.flush()
    handle.write(b"\n</Project>\n")


def _selection(
    index: int,
    coding: ExportCoding,
    texts: Mapping[str, str],
    *,
    user_guid: str,
    code_guid: str,
) -> SelectionXml:
    """The selection of a coding: its GUIDs from its index and content, its label."""
    selection_name = _coding_name(index, coding)
    return SelectionXml(
        guid=fast_stable_guid("selection", selection_name),
        name=_label(texts[coding.document_id][coding.start : coding.end]),
        start=coding.start,
        end=coding.end,
        user_guid=user_guid,
        coding_guid=fast_stable_guid("coding", selection_name),
        code_guid=code_guid,
    )


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
    label = " ".join(NOT_XML.sub(" ", quote).split())
    if len(label) > _LABEL_LENGTH:
        label = label[: _LABEL_LENGTH - 1].rstrip() + "…"
    return label


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
