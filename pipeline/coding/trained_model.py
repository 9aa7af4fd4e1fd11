"""The trained model record: a supervised classifier, its reports and its card.

:func:`save_model` writes a model folder: the classifier and feature builder
(joblib), the out-of-fold scores of the training segments, the learning curve
and the card (JSON and Markdown); :func:`load_model` reads it back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import pandas as pd

from pipeline.coding.features import FeatureBuilder
from pipeline.coding.supervised import SupervisedClassifier
from pipeline.errors import ModelError
from pipeline.store.folders import replacing_folder

CLASSIFIER_FILE = "classifier.joblib"
CARD_FILE = "card.json"
OOF_FILE = "oof_predictions.parquet"


@dataclass(frozen=True)
class CodeReport:
    """Cross-validated quality of one code."""

    code: str
    n_examples: int
    trained: bool
    reason: str = ""
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    kappa: float | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class TrainedModel:
    """A supervised classifier and everything needed to apply and judge it.

    Attributes:
        classifier: The fitted classifier (trained codes only).
        features: The feature builder (TF-IDF vocabulary, if any).
        codes: Trained code ids, in the classifier's column order.
        reports: Per codebook code, its cross-validated quality or why it was
            not trained.
        learning_curve: Rows of ``share, code, n_examples, kappa, f1``.
        oof: Out-of-fold scores of the training segments (``segment_key``
            plus one column per trained code).
        card: The model card.
    """

    classifier: SupervisedClassifier
    features: FeatureBuilder
    codes: list[str]
    reports: list[CodeReport]
    learning_curve: pd.DataFrame
    oof: pd.DataFrame
    card: dict = field(default_factory=dict)


def save_model(model: TrainedModel, folder: str | Path) -> Path:
    """Write the classifier (joblib), its out-of-fold scores and its card.

    The model is written to a temporary sibling and moved into ``folder``
    only when complete; a ``folder`` this tool did not write is refused.

    Returns:
        The folder.

    Raises:
        OutputFolderError: ``folder`` is a file, cannot be created, or holds
            files this tool did not write.
    """
    folder = Path(folder)
    with replacing_folder(folder, kind="model", option="--out") as staging:
        joblib.dump(
            {
                "classifier": model.classifier,
                "features": model.features,
                "codes": model.codes,
            },
            staging / CLASSIFIER_FILE,
        )
        model.oof.to_parquet(staging / OOF_FILE, index=False)
        model.learning_curve.to_csv(staging / "learning_curve.csv", index=False)
        (staging / CARD_FILE).write_text(
            json.dumps(model.card, indent=2, default=str), encoding="utf-8"
        )
        (staging / "CARD.md").write_text(card_markdown(model.card), encoding="utf-8")
    return folder


def load_model(folder: str | Path) -> TrainedModel:
    """Load a model saved by :func:`save_model`.

    Raises:
        ModelError: The folder holds no model, or one saved by a version of
            themes whose classes this one no longer has.
    """
    folder = Path(folder)
    if not (folder / CLASSIFIER_FILE).is_file() or not (folder / CARD_FILE).is_file():
        raise ModelError(
            f"{folder}: not a trained classifier "
            f"(no {CLASSIFIER_FILE} and {CARD_FILE}); train "
            "one with `themes train`"
        )
    try:
        saved = joblib.load(folder / CLASSIFIER_FILE)
    except (ModuleNotFoundError, AttributeError) as error:
        # a pickle names its classes by module path: one that moved cannot load
        raise ModelError(
            f"{folder}: saved by another version of themes, which this one "
            f"cannot read ({error}); train it again with `themes train`"
        ) from error
    card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    oof = (
        pd.read_parquet(folder / OOF_FILE)
        if (folder / OOF_FILE).is_file()
        else pd.DataFrame()
    )
    curve_path = folder / "learning_curve.csv"
    curve = pd.read_csv(curve_path) if curve_path.is_file() else pd.DataFrame()
    reports = [CodeReport(**report) for report in card.get("codes", [])]
    return TrainedModel(
        saved["classifier"],
        saved["features"],
        saved["codes"],
        reports,
        curve,
        oof,
        card,
    )


def card_markdown(card: dict) -> str:
    """A human-readable version of a model card."""
    lines = [
        f"# {card.get('name', 'classifier')}",
        "",
        "Supervised theme classifier trained on "
        f"{card.get('n_segments', '?')} segments of "
        f"{card.get('n_documents', '?')} documents ({card.get('unit', '?')} units), "
        f"human codes from {', '.join(card.get('coders', []))} combined by "
        f"`{card.get('training_coders', 'union')}`. "
        f"Embeddings: `{card.get('embedding_model_id')}`"
        + (
            f" (files sha256 `{card['encoder']['sha256'][:16]}`)."
            if card.get("encoder")
            else "."
        ),
        "",
        f"Coding unit: {card.get('coding_unit', 'segment')}"
        + (
            f": {card['coding_unit_reason']}."
            if card.get("coding_unit_reason")
            else "."
        )
        + f" Features: {', '.join(card.get('features') or ['segment'])}.",
        "",
        f"Cross-validation: {card.get('cv_folds')} folds grouped by "
        f"`{card.get('group_by')}` "
        "(no document in both parts of a fold); thresholds maximise "
        f"{card.get('threshold_metric')}.",
        "",
        "| code | examples | trained | precision | recall | F1 | kappa | threshold |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    names = card.get("code_names") or {}
    for report in card.get("codes", []):

        def fmt(value):
            return "" if value is None else f"{value:.2f}"

        trained = "yes" if report["trained"] else report["reason"]
        lines.append(
            f"| {names.get(report['code'], report['code'])} | {report['n_examples']} "
            f"| {trained} | {fmt(report['precision'])} "
            f"| {fmt(report['recall'])} | {fmt(report['f1'])} | {fmt(report['kappa'])} "
            f"| {fmt(report['threshold'])} |"
        )
    lines += [
        "",
        f"Codebook: `{card.get('codebook')}` "
        f"(hash `{card.get('codebook_hash')}`); training "
        f"data hash `{card.get('training_data_hash')}`; "
        f"seed {card.get('random_state')}.",
        "",
        "The learning curve (kappa per code against the number of human examples) "
        "is in `learning_curve.csv`.",
        "",
    ]
    return "\n".join(lines)
