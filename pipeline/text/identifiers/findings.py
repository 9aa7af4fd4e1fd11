"""What the identifier check finds: kinds, findings, candidates and their merging.

A ``Finding`` records where an identifier is and what kind it is, never the
identifier itself, so findings can be logged, stored and shown safely. The
finders propose ``Candidate`` findings; :func:`merge_candidates` merges the
overlapping ones and decides their kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, get_args

from pipeline.config.inputs import IdentifierKind

Kind = IdentifierKind
KINDS: tuple[str, ...] = get_args(IdentifierKind)
Detector = Literal["pattern", "ner"]
Policy = Literal["report", "redact", "block"]

NAME_KINDS: frozenset[str] = frozenset({"PERSON", "PLACE", "ORGANISATION"})
# When two pattern findings overlap, the longer wins; on a tie the kind that
# comes first here (an NHS number written 3-3-4 can also parse as a phone
# number; an e-mail address contains a domain name).
_PRIORITY = {
    kind: rank
    for rank, kind in enumerate(
        (
            "EMAIL",
            "URL",
            "NHS_NUMBER",
            "NI_NUMBER",
            "SSN",
            "SIN",
            "PHONE",
            "POSTCODE",
            "DATE_OF_BIRTH",
            "PERSON",
            "PLACE",
            "ORGANISATION",
        )
    )
}

# Ranks: which finding decides the kind when findings overlap (lowest wins).
RANK_PATTERN = 0  # e-mail, phone, NHS number and the other pattern kinds
RANK_NAME_CONTEXT = 1  # a name in a telling context: "Dr Patel", "worked at X"
RANK_NER = 2
RANK_GUESS = 3  # capitalised words mid-sentence


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """Where a possible identifier is, and what kind it is; never its text.

    Attributes:
        document_id: The transcript it was found in (``""`` from
            ``IdentifierChecker.find``, which checks a bare string).
        kind: One of ``KINDS``: ``PERSON``, ``PLACE``, ``ORGANISATION``,
            ``EMAIL``, ``PHONE``, ``POSTCODE``, ``NHS_NUMBER``, ``NI_NUMBER``,
            ``SSN``, ``SIN``, ``DATE_OF_BIRTH`` or ``URL``.
        start: Offset of its first character in the document text.
        end: Offset one past its last character.
        detector: ``pattern`` (regular expressions) or ``ner`` (spaCy).

    """

    document_id: str
    kind: Kind
    start: int
    end: int
    detector: Detector

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Finding.kind must be one of {KINDS}, got {self.kind!r}")
        if self.detector not in ("pattern", "ner"):
            raise ValueError(
                f"Finding.detector must be 'pattern' or 'ner', got {self.detector!r}"
            )
        if not 0 <= self.start < self.end:
            raise ValueError(
                f"Finding offsets out of order: start={self.start}, end={self.end}"
            )


FINDING_COLUMNS: tuple[str, ...] = ("document_id", "kind", "start", "end", "detector")
"""Columns of ``AnonymiseResult.findings_table()``."""

CachedFinding = tuple[str, int, int, str]
"""A finding without its document: ``(kind, start, end, detector)``."""


class FindingsCache(Protocol):
    """Findings of documents checked before, by check key (offsets and kinds only)."""

    def get_identifier_checks(
        self, keys: Sequence[str]
    ) -> dict[str, list[CachedFinding]]:
        """The findings stored under those of ``keys`` that were checked before."""
        ...

    def put_identifier_checks(self, checks: Mapping[str, list[CachedFinding]]) -> None:
        """Store findings by check key (a document with none has an empty list)."""
        ...


class Candidate(NamedTuple):
    """A possible identifier before overlapping ones are merged."""

    kind: str
    start: int
    end: int
    detector: Detector
    rank: int = RANK_PATTERN


def merge_candidates(candidates: list[Candidate]) -> list[Candidate]:
    """Merge overlapping findings into one over their union.

    The merged finding takes the kind of the best-ranked finding: pattern kinds
    (e-mail, phone, ...) over names in a telling context ("Dr Patel") over
    spaCy's entities over capitalised words; then of the longer finding; then
    of the kind listed first in ``_PRIORITY``.
    """
    merged: list[Candidate] = []
    cluster: list[Candidate] = []
    cluster_end = -1
    for candidate in sorted(candidates, key=lambda c: (c.start, -c.end)):
        if cluster and candidate.start >= cluster_end:
            merged.append(_resolve(cluster))
            cluster = []
        if not cluster:
            cluster_end = candidate.end
        cluster.append(candidate)
        cluster_end = max(cluster_end, candidate.end)
    if cluster:
        merged.append(_resolve(cluster))
    return merged


def _resolve(cluster: list[Candidate]) -> Candidate:
    winner = min(cluster, key=lambda c: (c.rank, -(c.end - c.start), _PRIORITY[c.kind]))
    start = min(c.start for c in cluster)
    end = max(c.end for c in cluster)
    return winner._replace(start=start, end=end)


def describe_counts(findings: Iterable[Finding]) -> str:
    """Counts per kind as text, e.g. ``"PERSON 2, EMAIL 1"`` (never the text)."""
    counts = Counter(finding.kind for finding in findings)
    return ", ".join(f"{kind} {counts[kind]}" for kind in KINDS if counts[kind])
