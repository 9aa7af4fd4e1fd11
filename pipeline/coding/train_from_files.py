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

from pipeline.coding.codebook import load_codebook
from pipeline.coding.train import train_supervised
from pipeline.coding.trained_model import TrainedModel, save_model
from pipeline.coding.training_view import training_view
from pipeline.coding.units import choose_unit
from pipeline.config.run import PipelineConfig
from pipeline.embed.registry import encoder_card
from pipeline.io.codes.align import align_codes
from pipeline.io.codes.read import read_codes
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
    unit = choose_unit(imported, config.classify.unit)
    view = training_view(prepared, aligned, unit, config)
    groups = view.groups
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
    model = train_supervised(
        [view.texts[i] for i in index],
        view.features[index],
        view.labels[index],
        codes,
        groups[index],
        config.classify,
        segment_keys=[view.keys[i] for i in index],
        random_state=config.random_state,
    )
    data_hash = hashlib.sha256()
    for i in index:
        data_hash.update(view.keys[i].encode())
        data_hash.update(view.labels[i].tobytes())
    documents = prepared.documents.select(["document_id", "content_hash"]).to_pylist()
    trained_documents = {d["document_id"]: d["content_hash"] for d in documents}
    held_documents = sorted({view.document_ids[i] for i in np.flatnonzero(~keep)})
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
        "encoder": encoder_card(config.embed, prepared.model_id),
        "coding_unit": unit.name,
        "coding_unit_reason": unit.reason,
        "unit": config.segment.unit,
        "segment_settings_hash": config.section_hash("segment"),
        "n_documents": len({view.document_ids[i] for i in index}),
        "n_units": int(len(index)),
        "n_segments": int(view.n_segments(index)),
        "group_by": config.classify.group_by or "document",
        "cv_folds": config.classify.cv_folds,
        "threshold_metric": config.classify.threshold_metric,
        "tfidf": config.classify.tfidf,
        "context": view.context,
        "features": view.parts,
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
