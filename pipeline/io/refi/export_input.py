"""What a REFI-QDA export takes (documents and codings), and its checks.

Every input is checked before anything is written, and a problem names the
item: a document, a coding or a code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipeline.coding.codebook_records import Codebook
from pipeline.errors import CodesError

# Characters XML 1.0 cannot hold at all (C0 controls other than tab, line feed
# and carriage return; lone surrogates; U+FFFE and U+FFFF).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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


def check_xml_text(what: str, value: object) -> None:
    """Refuse a value that is not a string or holds a character XML cannot carry."""
    if not isinstance(value, str):
        raise CodesError(
            f"REFI-QDA export: {what} must be a string, got {type(value).__name__} "
            f"{value!r}"
        )
    bad = NOT_XML.search(value)
    if bad is not None:
        raise CodesError(
            f"REFI-QDA export: {what} holds the character U+{ord(bad.group()):04X} at "
            f"position {bad.start()}, which XML cannot carry; remove it"
        )


def check_documents(documents: Sequence[ExportDocument]) -> dict[str, str]:
    """Check document ids, texts and metadata; return document id to text."""
    texts: dict[str, str] = {}
    for number, document in enumerate(documents):
        label = f"document {number} ({document.document_id!r})"
        check_xml_text(f"{label}: document_id", document.document_id)
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
            check_xml_text(f"{label}: metadata key", key)
            check_xml_text(f"{label}: metadata {key!r}", value)
        texts[document.document_id] = text
    return texts


def check_codings(
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
        check_xml_text(f"{label}: user", coding.user)
        if not coding.user.strip():
            raise CodesError(
                f"REFI-QDA export: {label}: user is blank; give a display name"
            )
    for code in codebook.codes:
        check_xml_text(f"code {code.id!r}: name", code.name)
        check_xml_text(f"code {code.id!r}: definition", code.definition)
