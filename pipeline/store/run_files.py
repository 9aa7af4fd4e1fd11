"""The names of a run folder's files, in one place.

Steps read and write a run's artefacts through these names (and
:class:`~pipeline.store.run_folder.RunFolder`); ``docs/formats.md`` documents each file.
"""

from __future__ import annotations

DOCUMENTS = "documents.parquet"
INGEST = "ingest.json"
ANONYMISATION = "anonymisation.csv"
SEGMENTS = "segments.parquet"
EMBEDDINGS = "embeddings.npy"
EMBEDDINGS_SUMMARY = "embeddings.json"
SEGMENT_TOPICS = "segment_topics.parquet"
TOPICS = "topics.csv"
TOPICS_BY_GROUP = "topics_by_group.csv"
TOPICS_HTML = "topics.html"
AUTO_CODES = "auto_codes.parquet"
AUTO_CODES_CSV = "auto_codes.csv"
AUTO_PASSAGES = "auto_passages.parquet"
"""Adjacent coded segments of a turn merged into passages, exact offsets."""
AUTO_PASSAGES_CSV = "auto_passages.csv"
AUTO_CODES_BY_DOCUMENT = "auto_codes_by_document.parquet"
AUTO_CODES_BY_DOCUMENT_CSV = "auto_codes_by_document.csv"
CLASSIFIER = "classifier.json"
MANIFEST = "manifest.json"
RUN_INPUTS = ".run_inputs.json"
"""A completed run's input fingerprint and the size and time of each file it
wrote: ``themes run --out`` on an unchanged folder stops early
(:mod:`pipeline.store.freshness`)."""
CODES_COMPARED = "codes_compared.parquet"
CODES_COMPARED_CSV = "codes_compared.csv"
AGREEMENT = "agreement.csv"
HUMAN_AGREEMENT = "human_agreement.csv"
DISAGREEMENTS = "disagreements.csv"
CODES_IMPORT = "codes_import.json"
"""What a comparison read: the codes file, the codebook, every row used or why not."""
HUMAN_CODES = "human_codes.parquet"
"""The usable human codes as the compare step read them, offsets into the run's
(maybe redacted) document texts; the export step reads them from here."""
VECTORS = "vectors.npy"
"""An embedding batch's vectors (in its cache folder)."""

# The network step (docs/networks.md)
KNOWLEDGE_SOURCES = "knowledge_sources.parquet"
"""One row per kept mention: offsets, mention, source, kind, scope, purpose, score."""
KNOWLEDGE_SOURCES_CSV = "knowledge_sources.csv"
DISMISSED_MENTIONS_CSV = "knowledge_sources_dismissed.csv"
"""Mentions found but not kept, with the reason (rejected, only named, low
score, corrected): the rows a researcher may want to accept."""
NETWORK_GRAPHML = "network.graphml"
"""Participants and sources as a GraphML graph (Gephi, networkx)."""
NETWORK_BY_GROUP = "network_by_group.csv"
"""Network measures per group of each metadata column, with 95% intervals."""
NETWORK_SUMMARY = "network.json"
"""The step's counts (the :class:`~pipeline.steps.network.NetworkSummary`)."""
