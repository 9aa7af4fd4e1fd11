"""The network step: the knowledge sources each participant draws on.

Reads the run's participant segments and documents, finds and resolves the
knowledge-source mentions (:mod:`pipeline.network`), applies the
researchers' corrections, and writes ``knowledge_sources.csv``/``.parquet``,
``knowledge_sources_dismissed.csv``, ``network.graphml``,
``network_by_group.csv`` and ``network.json`` (``docs/networks.md``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa

from pipeline.config.network import NetworkConfig
from pipeline.network.by_group import network_by_group, network_group_columns
from pipeline.network.corrections import read_corrections
from pipeline.network.extract import (
    KNOWLEDGE_SOURCES_SCHEMA,
    extract_knowledge_sources,
)
from pipeline.network.gazetteer import KINDS, load_gazetteer
from pipeline.network.graph import build_network, graphml_text
from pipeline.network.mentions import MentionFinder, load_parser
from pipeline.network.report_data import participants_table
from pipeline.steps.network_mentions import CachedMentionFinder
from pipeline.steps.summary import StepSummary
from pipeline.store import run_files
from pipeline.store.run_folder import DEFAULT_CSV_ENCODING, CsvEncoding, RunFolder

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkSummary(StepSummary):
    """What the network step found (for the manifest and the report).

    Attributes:
        n_participants: Documents (participants), with or without sources.
        n_mentions: Kept mentions.
        n_sources: Distinct sources (nodes other than participants).
        n_ties: Participant-source edges.
        n_dismissed: Mentions found and not kept.
        n_corrections: Corrections applied.
        n_unmatched_corrections: Corrections that matched no mention.
        mentions_by_kind: Kept mentions per kind, ``(kind, count)`` in kind order.
        grouped_by: The metadata columns of ``network_by_group.csv``.
    """

    n_participants: int
    n_mentions: int
    n_sources: int
    n_ties: int
    n_dismissed: int
    n_corrections: int = 0
    n_unmatched_corrections: int = 0
    mentions_by_kind: tuple[tuple[str, int], ...] = ()
    grouped_by: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        """A JSON-ready dictionary (``mentions_by_kind`` as a mapping)."""
        values = asdict(self)
        values["mentions_by_kind"] = dict(self.mentions_by_kind)
        values["grouped_by"] = list(self.grouped_by)
        return values


def run_network_step(
    config: NetworkConfig,
    run: RunFolder,
    out: RunFolder,
    *,
    random_state: int = 42,
    csv_encoding: CsvEncoding = DEFAULT_CSV_ENCODING,
    mentions_cache: Path | None = None,
) -> NetworkSummary | None:
    """Find the run's knowledge sources and write the network's files.

    Args:
        config: The ``network`` section.
        run: The run folder (``segments.parquet``, ``documents.parquet``).
        out: Where the step's files go (its cache folder).
        random_state: Seed of the bootstrap intervals (the run's).
        csv_encoding: ``store.csv_encoding``.
        mentions_cache: Where each document's found mentions are kept
            (:mod:`pipeline.steps.network_mentions`); None parses every document.

    Returns:
        The step's counts, or None when ``network.enabled`` is false.

    Raises:
        ConfigError: The gazetteer or corrections file is missing or invalid,
            or the spaCy model is not installed.
    """
    if not config.enabled:
        return None
    gazetteer = load_gazetteer(config.gazetteer_path)
    corrections = read_corrections(config.corrections) if config.corrections else []
    segments = run.segments()
    documents = run.documents()
    participants = participants_table(documents)
    metadata = [c for c in participants.columns if c != "document_id"]
    texts = dict(
        zip(
            documents.column("document_id").to_pylist(),
            documents.column("text").to_pylist(),
            strict=True,
        )
    )

    def make_finder() -> MentionFinder:
        return MentionFinder(load_parser(config.spacy_model), gazetteer)

    finder = (
        make_finder()
        if mentions_cache is None
        else CachedMentionFinder(make_finder, mentions_cache)
    )
    found = extract_knowledge_sources(
        segments,
        finder=finder,
        min_score=config.min_score,
        batch_size=config.batch_size,
        corrections=corrections,
        texts=texts,
    )
    sources = found.sources
    out.write_parquet(
        run_files.KNOWLEDGE_SOURCES,
        pa.Table.from_pandas(
            sources, schema=KNOWLEDGE_SOURCES_SCHEMA, preserve_index=False
        ),
    )
    out.write_csv(run_files.KNOWLEDGE_SOURCES_CSV, sources, encoding=csv_encoding)
    out.write_csv(
        run_files.DISMISSED_MENTIONS_CSV, found.dismissed, encoding=csv_encoding
    )
    graph = build_network(sources, participants, metadata=metadata)
    out.write_text(run_files.NETWORK_GRAPHML, graphml_text(graph))
    columns = network_group_columns(participants, metadata, config.group_by)
    by_group = network_by_group(
        sources, participants, columns, n_boot=config.n_boot, random_state=random_state
    )
    out.write_csv(run_files.NETWORK_BY_GROUP, by_group, encoding=csv_encoding)
    summary = NetworkSummary(
        n_participants=len(participants),
        n_mentions=len(sources),
        n_sources=int(sources["source"].nunique()),
        n_ties=len(graph.edges),
        n_dismissed=len(found.dismissed),
        n_corrections=found.n_corrections,
        n_unmatched_corrections=len(found.unmatched_corrections),
        mentions_by_kind=tuple(
            (kind, int((sources["kind"] == kind).sum())) for kind in KINDS
        ),
        grouped_by=tuple(columns),
    )
    out.write_json(run_files.NETWORK_SUMMARY, summary.as_dict())
    logger.info(
        "network: %d mentions of %d sources by %d participants (%d dismissed)",
        summary.n_mentions,
        summary.n_sources,
        summary.n_participants,
        summary.n_dismissed,
    )
    return summary
