"""Auto-coding a run's segments: with a trained model, or zero-shot from the codebook.

:func:`code_segments` scores every segment for every code and decides which
codes it gets; :class:`CodingResult` carries the scores, the decisions and
what the user should know (a coder that coded almost nothing, or almost
everything, is flagged). The tables written from it are built by
:mod:`pipeline.coding.auto_code_tables`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.coding.codebook_records import Codebook
from pipeline.coding.context import context_features
from pipeline.coding.passages import fill_gaps
from pipeline.coding.saved_coding import score_with_saved_coding
from pipeline.coding.trained_model import load_model
from pipeline.coding.units import document_units, unit_embeddings
from pipeline.coding.zeroshot import ZeroShotCoder
from pipeline.errors import ModelError
from pipeline.store.cache_keys import segment_digest, segment_keys


class CodingResult:
    """Auto-codes of a run's segments.

    Attributes:
        codes: Code ids (score columns).
        scores: ``(n_segments, n_codes)`` scores.
        decisions: ``(n_segments, n_codes)`` booleans.
        thresholds: Per code, the decision threshold.
        methods: Per segment: ``zero-shot``, ``supervised`` or
            ``supervised (out-of-fold)``.
        model: Name of what coded (for the tables and the REFI-QDA user).
        notes: Things the user should know.
        update: Zero-shot: whether the keyword models were trained or reused,
            on how many segments they were trained, how many were scored.
        code_names: Code id to the name people read (``classifier.json``
            keeps it, so reports show names without the codebook at hand).
    """

    def __init__(
        self,
        codes,
        scores,
        decisions,
        thresholds,
        methods,
        model,
        notes=(),
        update=None,
        code_names=None,
    ):
        self.codes = list(codes)
        self.code_names = {
            code: (code_names or {}).get(code, code) for code in self.codes
        }
        self.update = update
        self.scores = scores
        self.decisions = decisions
        self.thresholds = thresholds
        self.methods = list(methods)
        self.model = model
        self.notes = list(notes)

    def summary(self) -> dict:
        """Counts per code and method, for manifests."""
        return {
            "model": self.model,
            "codes": self.codes,
            "assigned": {
                c: int(self.decisions[:, j].sum()) for j, c in enumerate(self.codes)
            },
            "methods": {
                method: int(count)
                for method, count in pd.Series(self.methods).value_counts().items()
            },
            "segments_without_code": int((~self.decisions.any(axis=1)).sum())
            if self.decisions.size
            else 0,
            "share_coded": share_coded(self.decisions),
            "notes": self.notes + _coverage_notes(self.decisions),
            "code_names": self.code_names,
        } | ({"keyword_models": self.update} if self.update else {})


def code_segments(
    segments: pa.Table,
    documents: pa.Table,
    embeddings: np.ndarray,
    *,
    embedding_model_id: str,
    config,
    codebook: Codebook | None,
    embedder=None,
    settings_hash: str = "",
    saved_coding: str | Path | None = None,
) -> CodingResult | None:
    """Code a run's segments with a trained model, or zero-shot from the codebook.

    A trained model is applied only to embeddings of the model it was trained
    with. Segments the model was trained on get their out-of-fold scores from
    the model's cross-validation, never in-sample predictions.

    Args:
        segments: The segment table.
        documents: The documents table.
        embeddings: Segment embeddings, aligned.
        embedding_model_id: The embeddings' model id.
        config: The whole :class:`~pipeline.config.run.PipelineConfig`.
        codebook: The run's codebook (``classify.codebook``, else the trained
            model's), for zero-shot coding and the codes' names; None without.
        embedder: The embedding model (zero-shot prototypes are embedded with it).
        settings_hash: Hash of the segment settings (for out-of-fold lookup).
        saved_coding: Zero-shot: the folder of the corpus's saved coding (see
            :func:`pipeline.coding.saved_coding.score_with_saved_coding`); without
            it the keyword models are trained on every call.

    Returns:
        The auto-codes, or None when there is neither a model nor a codebook.

    Raises:
        ModelError: The model was trained on other embeddings.
    """
    texts = segments.column("text").to_pylist()
    if config.classify.model is not None:
        model = load_model(config.classify.model)
        trained_with = model.card.get("embedding_model_id")
        if trained_with != embedding_model_id:
            raise ModelError(
                f"{config.classify.model}: trained on {trained_with} embeddings, but "
                f"this run uses {embedding_model_id}; set embed.backend/embed.model "
                "to match, or retrain"
            )
        scores, methods = _model_scores(
            model, segments, documents, embeddings, texts, embedder, settings_hash
        )
        decisions = fill_gaps(
            segments,
            model.classifier.predict_indicator(None, scores),
            max_gap=config.classify.passage_gap,
        )
        name = model.card.get("name", str(config.classify.model))
        notes = []
        untrained = [r.code for r in model.reports if not r.trained]
        if untrained:
            notes.append(
                "not coded (not enough human examples to train): "
                + ", ".join(untrained)
            )
        return CodingResult(
            model.codes,
            scores,
            decisions,
            model.classifier.thresholds_,
            methods,
            f"{name} ({embedding_model_id})",
            notes,
            code_names={} if codebook is None else codebook.display_names(),
        )
    if codebook is None:
        return None
    coder = ZeroShotCoder.from_config(
        codebook, embedder, config.classify, random_state=config.random_state
    )
    groups = segments.column("document_id").to_pylist()
    update = None
    if saved_coding is None:
        scores = coder.fit(texts, embeddings, groups=groups).fit_scores_
    else:
        scores, update = score_with_saved_coding(
            coder,
            texts,
            embeddings,
            groups=groups,
            digests=segment_digest(
                groups, segment_keys(segments, documents, settings_hash)
            ),
            folder=saved_coding,
            update=config.classify.update,
            refit_growth=config.classify.refit_growth,
        )
    decisions = fill_gaps(
        segments, coder.decide(scores), max_gap=config.classify.passage_gap
    )
    model = (
        f"zero-shot {codebook.name} [{codebook.content_hash()}] ({embedding_model_id})"
    )
    return CodingResult(
        coder.codes_,
        scores,
        decisions,
        coder.thresholds_,
        ["zero-shot"] * len(texts),
        model,
        update=update,
        code_names=codebook.display_names(),
    )


def _model_scores(model, segments, documents, embeddings, texts, embedder, settings):
    """A trained model's scores per segment, and how each was made.

    A model trained per document scores each document (its chunks'
    embeddings) and gives the score to every segment of it; one trained per
    segment scores each segment, in context if it was trained so. Units the
    model was trained on get their out-of-fold scores.
    """
    unit = model.card.get("coding_unit", "segment")
    needs_embedder = unit == "document" or model.card.get("context")
    if needs_embedder and embedder is None:
        raise ModelError(
            f"{model.card.get('name', 'the model')}: scores "
            + ("whole documents" if unit == "document" else "segments in context")
            + " and needs the embedding model"
        )
    if unit == "document":
        units = document_units(segments)
        features = unit_embeddings(units, texts, embedder.embed)
        unit_texts = units.texts
        keys = units.keys(documents, settings)
    else:
        features = (
            context_features(segments, embeddings, embedder.embed)
            if model.card.get("context")
            else embeddings
        )
        unit_texts = texts
        keys = segment_keys(segments, documents, settings)
    scores = model.classifier.score_codes(
        model.features.transform(features, texts=unit_texts)
    )
    methods = np.array(["supervised"] * len(unit_texts), dtype=object)
    if len(model.oof):
        oof = model.oof.set_index("segment_key")
        seen = np.array([key in oof.index for key in keys], dtype=bool)
        if seen.any():
            seen_keys = [k for k, s in zip(keys, seen, strict=True) if s]
            scores[seen] = oof.loc[seen_keys, model.codes].to_numpy()
            methods[seen] = "supervised (out-of-fold)"
    if unit == "document":
        return units.spread(scores, len(texts)), units.spread(methods, len(texts))
    return scores, methods


PLAUSIBLE_SHARE = (0.02, 0.9)
"""Shares of segments coded with any code outside which a coder is suspect."""


def share_coded(decisions: np.ndarray) -> float:
    """Share of segments given at least one code."""
    return round(float(decisions.any(axis=1).mean()), 4) if len(decisions) else 0.0


def _coverage_notes(decisions: np.ndarray) -> list[str]:
    """A warning when the auto-coder coded almost nothing, or almost everything."""
    if not len(decisions):
        return []
    share = share_coded(decisions)
    low, high = PLAUSIBLE_SHARE
    if share < low:
        return [
            f"the auto-coder gave a code to only {share:.1%} of the segments: check "
            "the codebook (definitions, examples, keywords) and the thresholds "
            "(classify.corpus_threshold_z) before reading agreement figures"
        ]
    if share > high:
        return [
            f"the auto-coder gave a code to {share:.1%} of the segments: it codes "
            "almost everything; raise the thresholds (classify.corpus_threshold_z, "
            "classify.margin) or add counter-examples"
        ]
    return []
