"""What an import of human codes gives: usable codes, unused rows, and matches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from pipeline.coding.codebook_records import MATCH_RULES

DEFAULT_CODER = "coder"
"""The coder of codes whose file names none."""


@dataclass(frozen=True, slots=True)
class CodeAssignment:
    """A human code on a span of a document (or on the whole document).

    Attributes:
        document_id: The document.
        code: The code's id in the codebook.
        coder: Who coded it.
        start: First character of the span, or None for the whole document.
        end: One past the last character, or None for the whole document.
        origin: Where it came from (``codes.csv:row 12``), for messages.
    """

    document_id: str
    code: str
    coder: str
    start: int | None
    end: int | None
    origin: str = ""


@dataclass(frozen=True, slots=True)
class UnusedCode:
    """A row of a codes file that could not be used, and why."""

    origin: str
    reason: str


@dataclass(frozen=True, slots=True)
class MatchedCode:
    """A code as a codes file writes it, and the codebook code it matched.

    Attributes:
        written: The code as written (a ``.qdpx`` code's name).
        code: The codebook code's id.
        rule: ``exact``, ``name`` or ``normalised`` (see
            :meth:`~pipeline.coding.codebook_records.Codebook.match`).
        n_rows: Rows (or codings) that wrote it so.
    """

    written: str
    code: str
    rule: str
    n_rows: int


@dataclass(frozen=True)
class CodesImport:
    """The human codes read from a file.

    Attributes:
        assignments: Usable codes.
        unused: Rows not used, each with its reason.
        coders: Coders, in order of first appearance.
        source: The file read.
        format: ``long``, ``wide`` or ``qdpx``.
        notes: Things the user should know (codes matched other than as
            written, auto-coders skipped, sources matched by text).
        matched: Each code as written that matched a code, and how.
        skipped_auto_coders: Auto-coder users of a ``.qdpx`` whose codings
            were skipped, with their number of codings.
    """

    assignments: tuple[CodeAssignment, ...]
    unused: tuple[UnusedCode, ...]
    coders: tuple[str, ...]
    source: str
    format: str
    notes: tuple[str, ...] = ()
    matched: tuple[MatchedCode, ...] = ()
    skipped_auto_coders: Mapping[str, int] = field(default_factory=dict)

    def summary(self) -> dict:
        """Counts for manifests and reports."""
        reasons = Counter(u.reason.split(":")[0] for u in self.unused)
        rules = {rule: 0 for rule in MATCH_RULES}
        rows = dict(rules)
        for match in self.matched:
            rules[match.rule] += 1
            rows[match.rule] += match.n_rows
        return {
            "source": self.source,
            "format": self.format,
            "n_assignments": len(self.assignments),
            "n_unused": len(self.unused),
            "coders": list(self.coders),
            "unused_reasons": dict(reasons),
            "code_matches": rules,
            "code_match_rows": rows,
            "skipped_auto_coders": dict(self.skipped_auto_coders),
        }


ASSIGNMENT_SCHEMA = pa.schema(
    [
        ("document_id", pa.string()),
        ("code", pa.string()),
        ("coder", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("origin", pa.string()),
    ]
)
"""The columns of a table of human codes (``human_codes.parquet``)."""


def assignments_to_table(assignments: Sequence[CodeAssignment]) -> pa.Table:
    """Human codes as a table (null ``start``/``end``: the whole document).

    Args:
        assignments: The codes.

    Returns:
        A table with :data:`ASSIGNMENT_SCHEMA`.
    """
    return pa.Table.from_pylist(
        [
            {
                "document_id": a.document_id,
                "code": a.code,
                "coder": a.coder,
                "start": a.start,
                "end": a.end,
                "origin": a.origin,
            }
            for a in assignments
        ],
        schema=ASSIGNMENT_SCHEMA,
    )


def assignments_from_table(table: pa.Table) -> tuple[CodeAssignment, ...]:
    """The human codes of a table written by :func:`assignments_to_table`."""
    return tuple(CodeAssignment(**row) for row in table.to_pylist())
