"""The ingest step: read the corpus, check it for identifiers, apply the policy.

``themes run`` writes the result into a step folder (:func:`write_ingest`);
``themes train`` and ``themes suggest`` use :func:`read_checked_corpus`
directly. Both read and check the corpus the same way, so a model is trained
only on what a run would analyse: redacted text under ``redact``, without the
blocked documents under ``block``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config.run import PipelineConfig
from pipeline.io.ingest import IngestResult, ingest_corpus
from pipeline.io.readers.parsed_cache import ParsedCache
from pipeline.records import transcripts_to_table
from pipeline.steps.summary import StepSummary
from pipeline.store import run_files
from pipeline.store.cache_keys import parsed_cache_dir
from pipeline.store.database import ResultsStore
from pipeline.store.manifest import ingest_manifest
from pipeline.store.run_folder import RunFolder
from pipeline.text.identifiers.policy import (
    AnonymiseResult,
    cached_checker,
    check_corpus,
)
from pipeline.text.identifiers.redaction import offset_map_from

DOCUMENT_ROW_GROUP = 256
"""Documents per Parquet row group of ``documents.parquet`` (segmentation
batches read their rows only)."""


@dataclass(frozen=True)
class CheckedCorpus:
    """A corpus read and checked under the anonymisation policy.

    Attributes:
        ingest: The documents for the next stages (redacted, or without the
            blocked ones) and every quarantined source, blocked ones included.
        findings: What the identifier check found (kinds and offsets).
        anonymisation: The report: policy, counts per document and kind, and
            the offset maps of redacted documents (numbers only).
    """

    ingest: IngestResult
    findings: AnonymiseResult
    anonymisation: dict[str, Any]

    def offset_maps(self) -> dict:
        """Document id to the ``OffsetMap`` of its redaction (none unless redact)."""
        maps = self.anonymisation.get("offset_maps") or {}
        return {document_id: offset_map_from(m) for document_id, m in maps.items()}

    def n_blocked(self) -> int:
        """How many documents the ``block`` policy left out."""
        return len(self.findings.quarantined)


def read_checked_corpus(
    config: PipelineConfig,
    *,
    store: ResultsStore | None = None,
    corpus: str | Path | None = None,
) -> CheckedCorpus:
    """Read the corpus and apply the anonymisation policy to it.

    Args:
        config: The run's settings (``ingest``, ``anonymise``, ``store``).
        store: Findings of documents checked before are reused from it.
        corpus: Another corpus than ``config.ingest.corpus``.

    Returns:
        The checked corpus.
    """
    # Parsed text is cached only when it is kept as it is: with redact or block,
    # nothing unchecked is written anywhere.
    parsed = (
        ParsedCache(parsed_cache_dir(config))
        if config.anonymise.policy == "report"
        else None
    )
    read = ingest_corpus(config.ingest, corpus, cache=parsed)
    kept, findings, anonymisation = check_corpus(
        read, config.anonymise, checker=cached_checker(config.anonymise), cache=store
    )
    return CheckedCorpus(kept, findings, anonymisation)


@dataclass(frozen=True)
class IngestSummary(StepSummary):
    """What the ingest step wrote (for the manifest and the console).

    Attributes:
        n_documents: Documents kept for the next steps.
        n_quarantined: Sources quarantined (unreadable, or blocked).
        n_speakers: Distinct speaker labels over the documents.
    """

    n_documents: int
    n_quarantined: int
    n_speakers: int


def write_ingest(checked: CheckedCorpus, folder: RunFolder) -> IngestSummary:
    """Write ``documents.parquet``, ``anonymisation.csv`` and ``ingest.json``.

    Returns:
        Counts: documents, quarantined sources, speakers.
    """
    result = checked.ingest
    folder.write_parquet(
        run_files.DOCUMENTS,
        transcripts_to_table(list(result.transcripts)),
        row_group_size=DOCUMENT_ROW_GROUP,
    )
    folder.write_csv(run_files.ANONYMISATION, checked.findings.findings_table())
    folder.write_json(
        run_files.INGEST,
        ingest_manifest(result) | {"anonymisation": checked.anonymisation},
    )
    speakers = {
        turn.speaker
        for transcript in result.transcripts
        for turn in transcript.turns
        if turn.speaker is not None
    }
    return IngestSummary(
        n_documents=len(result.transcripts),
        n_quarantined=len(result.quarantined),
        n_speakers=len(speakers),
    )
