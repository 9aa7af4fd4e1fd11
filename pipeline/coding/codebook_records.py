"""The codebook record: codes, their hierarchy, and how a code as written matches.

A codebook is a list of codes. Each code has an ``id``, a ``name``, an optional
``parent`` (codes form a hierarchy), a ``definition``, ``include`` and
``exclude`` notes, ``examples`` (quotes that are this code),
``counter_examples`` (quotes that look like it but are not), ``keywords`` and,
for wide tables of human codes, the ``columns`` that mean the code.

A code's identity (its ``id``) is the string the researcher wrote (see
:mod:`pipeline.coding.codebook` for each format); its ``name`` is what people
read. A code written in a codes file is matched to the codebook by
:meth:`Codebook.match`: as written (its id), then by name, then ignoring case,
spacing and punctuation, and the match says which rule found it.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal

from pipeline.errors import CodebookError

MatchRule = Literal["exact", "name", "normalised"]
"""How a code as written matched: its id as written, its name, or normalised."""

MATCH_RULES: dict[str, str] = {
    "exact": "as written in the codebook",
    "name": "by name",
    "normalised": "ignoring case, spacing and punctuation",
}
"""Each match rule, in the order they are tried, as messages describe it."""

_WORD = re.compile(r"[^\W_]+")


def normalise_code(text: str) -> str:
    """A code as :meth:`Codebook.match` compares it when nothing else matched.

    Case, spacing and punctuation are dropped; numbers stay apart, so
    ``"1.10"`` and ``"11.0"`` differ while ``"1.8 - Past Experience"`` and
    ``"1.8 past experience"`` agree.

    Args:
        text: A code's id or name, or a code as a codes file writes it.

    Returns:
        The normalised text (empty when it has no letter or digit).
    """
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    normalised = ""
    for word in words:
        if normalised[-1:].isdigit() and word[0].isdigit():
            normalised += "_"
        normalised += word
    return normalised


@dataclass(frozen=True, slots=True)
class Code:
    """One code of a codebook."""

    id: str
    name: str
    parent: str | None = None
    definition: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()

    def prototype_texts(self) -> list[str]:
        """Texts that describe the code: name and definition, includes, examples."""
        head = (
            f"{self.name}. {self.definition}".strip() if self.definition else self.name
        )
        return [head, *self.include, *self.examples]


@dataclass(frozen=True, slots=True)
class CodeMatch:
    """The codebook code a code as written matched, and the rule that found it.

    Attributes:
        code: The code's id.
        rule: ``exact`` (its id as written), ``name`` (its name as written) or
            ``normalised`` (ignoring case, spacing and punctuation).
    """

    code: str
    rule: MatchRule


@dataclass(frozen=True)
class Codebook:
    """A validated codebook.

    Attributes:
        name: The codebook's name.
        codes: Codes in file order.
        source: Where it was read from.
        version: Its version, if given.
        description: What it is for.
        licence: Its licence notice, if any.
    """

    name: str
    codes: tuple[Code, ...]
    source: str = ""
    version: str = ""
    description: str = ""
    licence: str = ""
    # lookups built from ``codes``; not arguments, so dataclasses.replace rebuilds them
    _ids: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    _by_name: dict[str, list[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _by_normal: dict[str, list[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for code in self.codes:
            self._ids.add(code.id)
            self._by_name.setdefault(code.name, []).append(code.id)
            for key in {normalise_code(code.id), normalise_code(code.name)} - {""}:
                self._by_normal.setdefault(key, []).append(code.id)

    @property
    def ids(self) -> list[str]:
        """Code ids in file order."""
        return [code.id for code in self.codes]

    @property
    def names(self) -> dict[str, str]:
        """Code id to name, in file order."""
        return {code.id: code.name for code in self.codes}

    def display_names(self) -> dict[str, str]:
        """Code id to the label people read: its name, with the id if two share it."""
        counts: dict[str, int] = {}
        for code in self.codes:
            counts[code.name] = counts.get(code.name, 0) + 1
        return {
            code.id: code.name if counts[code.name] == 1 else f"{code.name} [{code.id}]"
            for code in self.codes
        }

    def label(self, code_id: str) -> str:
        """A code for messages: its name, and its id when that differs."""
        name = self[code_id].name
        return repr(name) if name == code_id else f"{name!r} (id {code_id!r})"

    def __getitem__(self, code_id: str) -> Code:
        for code in self.codes:
            if code.id == code_id:
                return code
        raise KeyError(code_id)

    def match(self, reference: str) -> CodeMatch | None:
        """Find the code a codes file means by ``reference``, and say how.

        Rules, in order: the code's id exactly as written (surrounding white
        space aside); its name exactly; then either ignoring case, spacing and
        punctuation (:func:`normalise_code`). A rule that fits two codes
        matches neither: the reference is ambiguous (see :meth:`candidates`).

        Args:
            reference: A code as a codes file writes it.

        Returns:
            The code and the rule that matched, or None.
        """
        reference = str(reference).strip()
        if reference in self._ids:
            return CodeMatch(reference, "exact")
        named = self._by_name.get(reference, [])
        if len(named) == 1:
            return CodeMatch(named[0], "name")
        normal = self.candidates(reference)
        if len(normal) == 1 and not named:
            return CodeMatch(normal[0], "normalised")
        return None

    def candidates(self, reference: str) -> list[str]:
        """Ids of the codes ``reference`` is once normalised (two: it is ambiguous)."""
        key = normalise_code(str(reference))
        return list(dict.fromkeys(self._by_normal.get(key, []))) if key else []

    def resolve(self, reference: str) -> str | None:
        """Return the id of the code ``reference`` means (see :meth:`match`) or None."""
        found = self.match(reference)
        return None if found is None else found.code

    def children(self, code_id: str) -> list[str]:
        """Ids of the codes whose parent is ``code_id``."""
        return [code.id for code in self.codes if code.parent == code_id]

    def leaves(self) -> list[str]:
        """Ids of the codes without children: the ones segments are coded with."""
        parents = {code.parent for code in self.codes if code.parent}
        return [code.id for code in self.codes if code.id not in parents]

    def ancestors(self, code_id: str) -> list[str]:
        """Ids of a code's parent, grandparent, ... (nearest first)."""
        chain = []
        parent = self[code_id].parent
        while parent is not None:
            chain.append(parent)
            parent = self[parent].parent
        return chain

    def content_hash(self) -> str:
        """A hash of the codes' content (for model cards and caches)."""
        payload = json.dumps([asdict(code) for code in self.codes], sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def validate_codes(
    codes: Iterable[Code],
    *,
    source: str,
    name: str,
    version: str = "",
    description: str = "",
    licence: str = "",
) -> Codebook:
    """Check ids are unique and parents exist without cycles; build the codebook.

    Raises:
        CodebookError: A duplicate id, an unknown parent or a cycle, naming the code.
    """
    codes = list(codes)
    seen: set[str] = set()
    for code in codes:
        if code.id in seen:
            raise CodebookError(f"{source}: code {code.id!r}: field 'id': used twice")
        seen.add(code.id)
    for code in codes:
        if code.parent is not None and code.parent not in seen:
            raise CodebookError(
                f"{source}: code {code.id!r}: field 'parent': no code has the id "
                f"{code.parent!r}"
            )
    parents = {code.id: code.parent for code in codes}
    for code in codes:
        chain, parent = {code.id}, code.parent
        while parent is not None:
            if parent in chain:
                raise CodebookError(
                    f"{source}: code {code.id!r}: field 'parent': the hierarchy loops "
                    f"back to {parent!r}"
                )
            chain.add(parent)
            parent = parents[parent]
    return Codebook(
        name=name,
        codes=tuple(codes),
        source=source,
        version=version,
        description=description,
        licence=licence,
    )
