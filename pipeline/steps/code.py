"""The code step: auto-codes for every segment (a trained model, or zero-shot)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from pipeline.coding.auto_code_tables import (
    auto_codes_for_csv,
    auto_codes_table,
    roll_up_by_document,
)
from pipeline.coding.autocodes import code_segments
from pipeline.coding.passages import merge_passages, passages_for_csv
from pipeline.embed.cache import CachingEmbedder
from pipeline.steps.inputs import RunInputs
from pipeline.steps.summary import StepSummary
from pipeline.store import run_files
from pipeline.store.cache_keys import saved_coding_dir
from pipeline.store.database import ResultsStore
from pipeline.store.run_folder import RunFolder


@dataclass(frozen=True, kw_only=True)
class CodeSummary(StepSummary):
    """What the code step did (for the manifest and the console).

    Attributes:
        model: The trained model's name, or the zero-shot coder's.
        codes: The codes, in the codebook's order.
        assigned: Segments given each code.
        methods: Segments per coding method (``supervised``, ``keywords``, ...).
        segments_without_code: Segments given no code.
        share_coded: The share of segments given at least one code.
        notes: What a researcher should know (codes never assigned, ...).
        code_names: Code id to its name.
        keyword_models: Zero-shot: whether the keyword models were trained
            again or reused, and why (None for a trained model).
    """

    model: str
    codes: list[str]
    assigned: dict[str, int]
    methods: dict[str, int]
    segments_without_code: int
    share_coded: float
    notes: list[str] = field(default_factory=list)
    code_names: dict[str, str] = field(default_factory=dict)
    keyword_models: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dictionary (no ``keyword_models`` if None)."""
        values = super().as_dict()
        if values["keyword_models"] is None:
            del values["keyword_models"]
        return values


def run_code_step(
    inputs: RunInputs, run: RunFolder, out: RunFolder
) -> CodeSummary | None:
    """Code the run's segments; write the auto-code tables and ``classifier.json``.

    Args:
        inputs: The run's settings and codebook (``classify``: a codebook or a
            trained model).
        run: The run folder (segments, documents, embeddings).
        out: Where the step's files go (its cache folder).

    Returns:
        The coding's summary (counts per code and method, share coded, notes),
        or None when there is neither a codebook nor a model.
    """
    config = inputs.config
    segments = run.segments()
    documents = run.documents()
    embeddings = run.read_embeddings(n_rows=segments.num_rows)
    model_id = run.read_json(run_files.EMBEDDINGS_SUMMARY)["model_id"]
    zero_shot = config.classify.model is None
    # the codebook's prototypes (zero-shot) and the questions (a model that
    # scores in context) go through the store's embedding cache: the same on
    # every run, so a rerun needs no model to code
    embedder = CachingEmbedder(
        config.embed,
        ResultsStore(
            config.store.database, lock_timeout=config.store.lock_timeout_seconds
        ),
    )
    result = code_segments(
        segments,
        documents,
        embeddings,
        embedding_model_id=model_id,
        config=config,
        codebook=inputs.codebook,
        embedder=embedder,
        settings_hash=config.section_hash("segment"),
        saved_coding=saved_coding_dir(config, model_id)
        if zero_shot and inputs.codebook is not None
        else None,
    )
    # the embeddings are not needed for the tables (150 MB at 100,000 segments)
    del embeddings
    if result is None:
        return None
    table = auto_codes_table(
        segments,
        result.codes,
        result.scores,
        result.decisions,
        method=result.methods,
        model=result.model,
    )
    out.write_parquet(
        run_files.AUTO_CODES, pa.Table.from_pandas(table, preserve_index=False)
    )
    n_codes = len(result.codes)
    out.write_csv(run_files.AUTO_CODES_CSV, auto_codes_for_csv(table, n_codes=n_codes))
    passages = merge_passages(segments, result.codes, result.scores, result.decisions)
    out.write_parquet(
        run_files.AUTO_PASSAGES, pa.Table.from_pandas(passages, preserve_index=False)
    )
    out.write_csv(run_files.AUTO_PASSAGES_CSV, passages_for_csv(passages, documents))
    by_document = roll_up_by_document(table, n_codes=n_codes)
    del table
    out.write_parquet(
        run_files.AUTO_CODES_BY_DOCUMENT,
        pa.Table.from_pandas(by_document, preserve_index=False),
    )
    out.write_csv(run_files.AUTO_CODES_BY_DOCUMENT_CSV, by_document)
    thresholds = dict(zip(result.codes, map(float, result.thresholds), strict=True))
    summary = CodeSummary(**result.summary())
    out.write_json(run_files.CLASSIFIER, {"thresholds": thresholds} | summary.as_dict())
    return summary
