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
AUTO_CODES_BY_DOCUMENT = "auto_codes_by_document.parquet"
AUTO_CODES_BY_DOCUMENT_CSV = "auto_codes_by_document.csv"
CLASSIFIER = "classifier.json"
MANIFEST = "manifest.json"
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
