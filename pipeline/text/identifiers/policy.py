"""Apply the corpus policy to the identifier check: report, redact or block.

``report`` keeps every document unchanged, ``redact`` replaces identifiers
with placeholders, ``block`` quarantines documents with findings;
``check_corpus`` runs the check on what ingest read and builds the report.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pipeline.config.inputs import AnonymiseConfig
from pipeline.records import Quarantined, Transcript
from pipeline.text.identifiers.checker import IdentifierChecker
from pipeline.text.identifiers.findings import (
    FINDING_COLUMNS,
    Finding,
    FindingsCache,
    Policy,
    describe_counts,
)
from pipeline.text.identifiers.redaction import (
    offset_map_to_numbers,
    redact,
    redact_transcript,
)

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnonymiseResult:
    """What the check found and what the policy did.

    Attributes:
        policy: The policy applied.
        transcripts: The documents for the next stages: unchanged (``report``),
            redacted (``redact``) or without the blocked ones (``block``).
        quarantined: The blocked documents and why (counts per kind only).
        findings: Every finding, in document order (offsets into the original
            texts).
        document_ids: Every document checked, in order.

    """

    policy: Policy
    transcripts: tuple[Transcript, ...]
    quarantined: tuple[Quarantined, ...]
    findings: tuple[Finding, ...]
    document_ids: tuple[str, ...]

    def counts(self) -> dict[str, dict[str, int]]:
        """Findings per document and kind; every document checked is a key."""
        counts: dict[str, dict[str, int]] = {doc_id: {} for doc_id in self.document_ids}
        for finding in self.findings:
            per_kind = counts.setdefault(finding.document_id, {})
            per_kind[finding.kind] = per_kind.get(finding.kind, 0) + 1
        return counts

    def findings_table(self) -> pd.DataFrame:
        """The findings as a DataFrame with the columns of ``FINDING_COLUMNS``."""
        import pandas as pd  # heavy: kept out of start-up

        frame = pd.DataFrame(
            [[getattr(f, name) for name in FINDING_COLUMNS] for f in self.findings],
            columns=list(FINDING_COLUMNS),
        )
        return frame.astype(
            {
                "document_id": "string",
                "kind": "string",
                "start": "int64",
                "end": "int64",
                "detector": "string",
            }
        )


def apply_policy(
    transcripts: Iterable[Transcript],
    checker: IdentifierChecker,
    policy: Policy | None = None,
    *,
    cache: FindingsCache | None = None,
) -> AnonymiseResult:
    """Check a corpus and report, redact or block what is found.

    Args:
        transcripts: The documents (never changed in place).
        checker: The configured checker; its rules follow ``policy`` (see
            :meth:`IdentifierChecker.for_policy`).
        policy: ``report``, ``redact`` or ``block``; defaults to
            ``checker.config.policy``.
        cache: Findings of earlier checks (see :class:`FindingsCache`).

    Returns:
        The documents to carry on with, the quarantined ones and the findings.

    Raises:
        ValueError: The policy is not one of the three.
    """
    policy = policy if policy is not None else checker.config.policy
    if policy not in ("report", "redact", "block"):
        raise ValueError(
            f"policy must be 'report', 'redact' or 'block', got {policy!r}"
        )
    checker = checker.for_policy(policy)
    transcripts = tuple(transcripts)
    findings = checker.check_many(transcripts, cache=cache)
    by_document = _group_by_document(findings)
    kept: list[Transcript] = []
    quarantined: list[Quarantined] = []
    for transcript in transcripts:
        own = by_document.get(transcript.document_id, [])
        if not own or policy == "report":
            kept.append(transcript)
        elif policy == "redact":
            kept.append(redact_transcript(transcript, own))
        else:
            quarantined.append(
                Quarantined(
                    source=transcript.source,
                    reason=(
                        f"blocked by the anonymisation check: {len(own)} possible "
                        f"identifiers in the speech ({describe_counts(own)}); "
                        "anonymise the transcript, add false alarms to "
                        "anonymise.allowlist, or set anonymise.policy to redact"
                    ),
                )
            )
    n_flagged = len(by_document)
    logger.info(
        "anonymise: %d possible identifiers in %d of %d documents%s; policy %s",
        len(findings),
        n_flagged,
        len(transcripts),
        f" ({describe_counts(findings)})" if findings else "",
        policy,
    )
    if policy == "block" and quarantined:
        logger.warning(
            "anonymise: %d documents blocked for possible identifiers", len(quarantined)
        )
    return AnonymiseResult(
        policy=policy,
        transcripts=tuple(kept),
        quarantined=tuple(quarantined),
        findings=tuple(findings),
        document_ids=tuple(t.document_id for t in transcripts),
    )


def offset_maps(
    result: AnonymiseResult, originals: Mapping[str, int]
) -> dict[str, dict]:
    """The offset maps of redacted documents as numbers, for ``anonymisation.json``.

    Args:
        result: A ``redact`` result.
        originals: Document id to the length of its original text.

    Returns:
        Document id to ``old_starts, old_ends, new_starts, new_ends, old_length``;
        only numbers, never text.
    """
    if result.policy != "redact":
        return {}
    maps = {}
    for document_id, findings in _group_by_document(result.findings).items():
        length = originals[document_id]
        offsets = redact(
            " " * length, findings
        ).offsets  # the same parts as the real text
        maps[document_id] = offset_map_to_numbers(offsets)
    return maps


def check_corpus(
    ingested,
    config: AnonymiseConfig,
    *,
    checker: IdentifierChecker | None = None,
    cache: FindingsCache | None = None,
):
    """Run the identifier check on what ingest read and apply the policy.

    Args:
        ingested: An :class:`~pipeline.io.ingest.IngestResult`.
        config: The ``anonymise`` section.
        checker: A checker to reuse (its model stays loaded).
        cache: Findings of earlier checks: only new or changed documents are checked.

    Returns:
        ``(ingest result for the next stages, AnonymiseResult, report)``: the
        transcripts unchanged, redacted or without the blocked ones, blocked
        documents added to the quarantine; the report holds the policy,
        counts per document and kind, and offset maps of redacted documents.
    """
    checker = checker or IdentifierChecker(config)
    result = apply_policy(ingested.transcripts, checker, config.policy, cache=cache)
    lengths = {t.document_id: len(t.text) for t in ingested.transcripts}
    report = {
        "policy": result.policy,
        "n_findings": len(result.findings),
        "documents_with_findings": sum(1 for c in result.counts().values() if c),
        "counts": {d: c for d, c in result.counts().items() if c},
        "offset_maps": offset_maps(result, lengths),
    }
    kept = replace(
        ingested,
        transcripts=result.transcripts,
        quarantined=ingested.quarantined + result.quarantined,
    )
    return kept, result, report


_CHECKERS: dict[AnonymiseConfig, IdentifierChecker] = {}


def cached_checker(config: AnonymiseConfig) -> IdentifierChecker:
    """One checker (and spaCy model) per process and setting."""
    if config not in _CHECKERS:
        _CHECKERS[config] = IdentifierChecker(config)
    return _CHECKERS[config]


def _group_by_document(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Findings by document id, documents in order of their first finding."""
    by_document: dict[str, list[Finding]] = {}
    for finding in findings:
        by_document.setdefault(finding.document_id, []).append(finding)
    return by_document
