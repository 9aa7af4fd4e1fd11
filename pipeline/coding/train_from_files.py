"""``themes train``: train a supervised classifier from a corpus and a codes file.

Reads the corpus through the same ingest step as a run (so the anonymisation
policy applies to training too), segments and embeds it, aligns the human
codes to the segments, trains (:func:`~pipeline.coding.train.train_supervised`),
and saves the model folder with its card.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.coding.codebook import load_codebook
from pipeline.coding.context import CONTEXT_PARTS, context_features
from pipeline.coding.train import train_supervised
from pipeline.coding.trained_model import TrainedModel, save_model
from pipeline.config.run import PipelineConfig
from pipeline.errors import ConfigError
from pipeline.io.codes.align import align_codes
from pipeline.io.codes.read import read_codes
from pipeline.records import segment_metadata
from pipeline.steps.prepare import prepare_corpus
from pipeline.store.manifest import package_versions, utc_now


def train_from_files(
    config: PipelineConfig,
    *,
    codes_path: str | Path,
    out: str | Path,
    holdout: float = 0.0,
) -> TrainedModel:
    """Everything ``themes train`` does: read, segment, embed, align codes, train, save.

    Args:
        config: The :class:`~pipeline.config.run.PipelineConfig` (corpus, codebook,
            settings).
        codes_path: The human codes file.
        out: The model folder to write.
        holdout: Share of groups (documents, or ``classify.group_by`` values)
            kept out of training; listed in the card.

    Returns:
        The saved :class:`TrainedModel`.

    Raises:
        ModelError: Not enough human examples or groups.
        CodesError: The codes file cannot be read.
    """
    codebook = load_codebook(config.classify.codebook)
    prepared = prepare_corpus(config)
    imported = read_codes(
        codes_path,
        codebook=codebook,
        documents=prepared.texts,
        id_column=config.ingest.id_column,
        # offsets in the codes file refer to the original texts
        offset_maps=prepared.checked.offset_maps(),
    )
    codes = codebook.leaves()
    aligned = align_codes(prepared.segments, imported, codes)
    labels = aligned.combined(config.classify.training_coders)
    groups = _groups(prepared, config.classify.group_by)
    keep = np.ones(len(groups), dtype=bool)
    held_out: list[str] = []
    if holdout > 0:
        rng = np.random.default_rng(config.random_state)
        unique = np.unique(groups)
        held_out = sorted(
            rng.choice(
                unique, size=max(1, round(holdout * len(unique))), replace=False
            ).tolist()
        )
        keep = ~np.isin(groups, held_out)
    index = np.flatnonzero(keep)
    features = (
        context_features(
            prepared.segments, prepared.embeddings, prepared.embedder.embed
        )
        if config.classify.context
        else prepared.embeddings
    )
    texts = prepared.segments.column("text").to_pylist()
    keys = prepared.segment_keys(config.section_hash("segment"))
    model = train_supervised(
        [texts[i] for i in index],
        features[index],
        labels[index],
        codes,
        groups[index],
        config.classify,
        segment_keys=[keys[i] for i in index],
        random_state=config.random_state,
    )
    data_hash = hashlib.sha256()
    for i in index:
        data_hash.update(keys[i].encode())
        data_hash.update(labels[i].tobytes())
    documents = prepared.documents.select(["document_id", "content_hash"]).to_pylist()
    trained_documents = {d["document_id"]: d["content_hash"] for d in documents}
    segment_documents = prepared.segments.column("document_id").to_pylist()
    held_documents = sorted({segment_documents[i] for i in np.flatnonzero(~keep)})
    card = {
        "name": Path(out).name,
        "kind": "supervised theme classifier",
        "created_at": utc_now(),
        "codebook": str(config.classify.codebook),
        "codebook_hash": codebook.content_hash(),
        "codes_file": str(codes_path),
        "codes_import": imported.summary(),
        "alignment_coverage": round(aligned.coverage, 4),
        "coders": aligned.coders,
        "training_coders": config.classify.training_coders,
        "embedding_model_id": prepared.model_id,
        "unit": config.segment.unit,
        "segment_settings_hash": config.section_hash("segment"),
        "n_documents": len({segment_documents[i] for i in index}),
        "n_segments": int(len(index)),
        "group_by": config.classify.group_by or "document",
        "cv_folds": config.classify.cv_folds,
        "threshold_metric": config.classify.threshold_metric,
        "tfidf": config.classify.tfidf,
        "context": config.classify.context,
        "features": list(CONTEXT_PARTS) if config.classify.context else ["segment"],
        "min_examples": config.classify.min_examples,
        "random_state": config.random_state,
        "training_data_hash": data_hash.hexdigest()[:16],
        "anonymisation": {
            "policy": config.anonymise.policy,
            "n_findings": prepared.checked.anonymisation["n_findings"],
            "documents_with_findings": prepared.checked.anonymisation[
                "documents_with_findings"
            ],
            "documents_blocked": prepared.checked.n_blocked(),
        },
        "holdout_share": holdout,
        "holdout_documents": held_documents,
        "training_documents": {
            d: h for d, h in trained_documents.items() if d not in set(held_documents)
        },
        "codes": [report.__dict__ for report in model.reports],
        "code_names": {code: codebook.display_names()[code] for code in codes},
        "learning_curve": model.learning_curve.to_dict(orient="records"),
        "versions": package_versions(),
        "notes": _training_notes(imported, prepared.checked),
    }
    model = replace(model, card=card)
    save_model(model, out)
    return model


def _training_notes(imported, checked) -> list[str]:
    """What the card says about codes rows not used and documents left out."""
    notes = []
    if imported.unused:
        reasons = imported.summary()["unused_reasons"]
        notes.append(
            f"{len(imported.unused)} rows of the codes file were not used "
            f"({', '.join(f'{k}: {v}' for k, v in reasons.items())})"
        )
    if checked.n_blocked():
        notes.append(
            f"{checked.n_blocked()} documents with possible identifiers were left "
            "out of training (anonymise.policy: block)"
        )
    if (
        checked.anonymisation["policy"] == "redact"
        and checked.anonymisation["n_findings"]
    ):
        notes.append(
            f"{checked.anonymisation['n_findings']} possible identifiers were "
            "redacted before training (anonymise.policy: redact)"
        )
    return notes


def _groups(prepared, group_by: str | None) -> np.ndarray:
    """The cross-validation group of each segment: its document, or a metadata value."""
    documents = np.asarray(
        prepared.segments.column("document_id").to_pylist(), dtype=object
    )
    if group_by is None:
        return documents
    metadata = segment_metadata(prepared.segments, prepared.documents)
    if group_by not in metadata.columns:
        raise ConfigError(
            f"classify.group_by: no metadata column {group_by!r}; columns are: "
            f"{', '.join(metadata.columns)}"
        )
    values = metadata[group_by].to_numpy(dtype=object)
    # a segment without a value stays in its own document's group
    return np.where(pd.isna(values) | (values == ""), documents, values)
