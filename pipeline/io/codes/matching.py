"""Codes as a codes file writes them, matched to the codebook once each.

A code is matched to the codebook as written (its id: the CSV codebook's
``code``, the YAML ``id``, the REFI-QDA ``guid``), then by name, then ignoring
case, spacing and punctuation
(:meth:`~pipeline.coding.codebook_records.Codebook.match`); the import says
which codes matched by a rule other than as written.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence

from pipeline.coding.codebook_records import MATCH_RULES, Codebook, CodeMatch
from pipeline.io.codes.records import (
    CodeAssignment,
    CodesImport,
    MatchedCode,
    UnusedCode,
)
from pipeline.io.refi.guids import code_guid

logger = logging.getLogger(__name__)


class CodeMatcher:
    """Matches codes as written to the codebook, once each, and remembers how.

    Args:
        codebook: The codebook.
    """

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        self._found: dict[str, CodeMatch | None] = {}
        self._rows: Counter = Counter()

    def match(self, written: str, *, guid: str | None = None) -> CodeMatch | None:
        """The code ``written`` means (a ``.qdpx`` coding: its code's GUID first)."""
        written = str(written).strip()
        key = written if guid is None else f"{guid}\x1f{written}"
        if key not in self._found:
            found = None
            if guid is not None:
                found = guid_match(self.codebook, guid)
            self._found[key] = found or self.codebook.match(written)
        found = self._found[key]
        if found is not None:
            self._rows[(written, found.code, found.rule)] += 1
        return found

    def unknown(self, written: str) -> str:
        """Why ``written`` matched no code: unknown, or ambiguous between codes."""
        written = str(written).strip()
        candidates = self.codebook.candidates(written)
        named = [c.id for c in self.codebook.codes if c.name == written]
        if len(named) > 1 or len(candidates) > 1:
            labels = ", ".join(self.codebook.label(c) for c in named or candidates)
            return (
                f"ambiguous code: {written!r} could be any of {labels}; write it "
                "as the codebook's code column (or id) writes it"
            )
        return f"unknown code: {written!r} is not in the codebook"

    def matched(self) -> tuple[MatchedCode, ...]:
        """Every code as written that matched, with its rule and row count."""
        return tuple(
            MatchedCode(written, code, rule, n)
            for (written, code, rule), n in self._rows.items()
        )

    def notes(self) -> list[str]:
        """One note per rule other than ``exact`` that matched any code."""
        notes = []
        for rule in ("name", "normalised"):
            found = [m for m in self.matched() if m.rule == rule]
            if not found:
                continue
            listed = "; ".join(
                f"{m.written!r} -> {self.codebook.label(m.code)} "
                f"({m.n_rows} row{'' if m.n_rows == 1 else 's'})"
                for m in found[:10]
            )
            more = f"; and {len(found) - 10} more" if len(found) > 10 else ""
            notes.append(
                f"{len(found)} code(s) matched {MATCH_RULES[rule]}, not as the "
                f"codebook writes them: {listed}{more}"
            )
        return notes


def guid_match(codebook: Codebook, guid: str) -> CodeMatch | None:
    """The code a ``.qdpx`` coding's code GUID is: its id, or the GUID it exports as."""
    if guid in codebook.ids:
        return CodeMatch(guid, "exact")
    for code in codebook.codes:
        if code_guid(code.id).lower() == guid.lower():
            return CodeMatch(code.id, "exact")
    return None


def make_import(
    assignments: list[CodeAssignment],
    unused: list[UnusedCode],
    source: str,
    layout: str,
    notes: Sequence[str] = (),
    *,
    matcher: CodeMatcher | None = None,
    matched: tuple[MatchedCode, ...] = (),
    skipped_auto_coders: Mapping[str, int] | None = None,
) -> CodesImport:
    """Gather an import's results; the coders are taken from the assignments.

    Args:
        assignments: Usable codes.
        unused: Rows not used, with reasons.
        source: The file read.
        layout: ``long``, ``wide`` or ``qdpx``.
        notes: Things the user should know.
        matcher: The matcher used, whose matches and notes are added.
        matched: The matches, when no matcher was used.
        skipped_auto_coders: Auto-coders whose codings were skipped.

    Returns:
        The import.
    """
    coders = tuple(dict.fromkeys(a.coder for a in assignments))
    if matcher is not None:
        matched = matcher.matched()
        notes = [*notes, *matcher.notes()]
    if unused:
        logger.info("codes: %d rows of %s not used", len(unused), source)
    return CodesImport(
        tuple(assignments),
        tuple(unused),
        coders,
        source,
        layout,
        tuple(notes),
        matched,
        dict(skipped_auto_coders or {}),
    )
