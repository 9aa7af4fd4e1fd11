"""Ingest, segment and embed a corpus in one call, for commands that need all three.

``themes train`` works on a corpus outside a pipeline run; this does what the
flow's first steps do, with the same ingest step (the anonymisation check and
its policy included), the same settings, the same segment ids and the same
embedding cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.config.run import PipelineConfig
from pipeline.embed.cache import embed_texts
from pipeline.embed.registry import make_embedder
from pipeline.errors import NothingIngestedError
from pipeline.io.ingest import IngestResult
from pipeline.records import transcripts_to_table
from pipeline.steps.ingest import CheckedCorpus, read_checked_corpus
from pipeline.store.cache_keys import segment_keys
from pipeline.store.database import ResultsStore
from pipeline.text.segment import segment_transcripts


@dataclass
class PreparedCorpus:
    """A corpus ready for classifiers.

    Attributes:
        checked: What ingest read and quarantined, and what the identifier
            check found and did under the policy.
        documents: The documents table.
        segments: The segment table.
        embeddings: Segment embeddings, aligned with ``segments``.
        model_id: The embedding model's id.
        embedder: The embedding model (to embed codebook prototypes alike).
    """

    checked: CheckedCorpus
    documents: pa.Table
    segments: pa.Table
    embeddings: np.ndarray
    model_id: str
    embedder: object

    @property
    def ingest(self) -> IngestResult:
        """What ingest read and quarantined (after the policy)."""
        return self.checked.ingest

    @property
    def texts(self) -> dict[str, str]:
        """Document id to normalised text."""
        return {t.document_id: t.text for t in self.ingest.transcripts}

    def segment_keys(self, settings_hash: str) -> list[str]:
        """Stable keys of the segments: document content, settings and segment id."""
        return segment_keys(self.segments, self.documents, settings_hash)


def prepare_corpus(
    config: PipelineConfig, corpus: str | Path | None = None
) -> PreparedCorpus:
    """Ingest and check (the run's ingest step), segment and embed (cached).

    Raises:
        NothingIngestedError: Every source was quarantined (or blocked).
    """
    store = ResultsStore(
        config.store.database, lock_timeout=config.store.lock_timeout_seconds
    )
    checked = read_checked_corpus(config, store=store, corpus=corpus)
    ingested = checked.ingest
    if not ingested.transcripts:
        raise NothingIngestedError(
            f"nothing could be ingested from {corpus or config.ingest.corpus}: "
            + "; ".join(f"{q.source}: {q.reason}" for q in ingested.quarantined[:5])
        )
    segments = segment_transcripts(ingested.transcripts, config.segment)
    embedder = make_embedder(config.embed)
    result = embed_texts(segments.column("text").to_pylist(), embedder, cache=store)
    return PreparedCorpus(
        checked=checked,
        documents=transcripts_to_table(list(ingested.transcripts)),
        segments=segments,
        embeddings=result.vectors,
        model_id=result.model_id,
        embedder=embedder,
    )
