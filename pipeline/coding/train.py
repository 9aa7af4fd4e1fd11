"""Supervised theme classifiers.

Train on human codes, evaluate honestly, save with a card.

Training data are segments with human codes aligned to them. Evaluation is
always grouped cross-validation: every segment of a document (or of a
respondent, with ``classify.group_by``) falls in the same fold, so no text is
in both the training and the test part of a fold. The out-of-fold predictions
give each code's precision, recall, F1 and kappa, and are saved with the model
so that when the model is later applied to the documents it was trained on,
those documents get their out-of-fold predictions, never in-sample ones.

A code with fewer than ``classify.min_examples`` human examples is not trained
and is reported as "not enough human examples".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pipeline.coding.classify import SupervisedClassifier
from pipeline.config import ClassifyConfig
from pipeline.errors import ModelError

logger = logging.getLogger(__name__)

CLASSIFIER_FILE = "classifier.joblib"
CARD_FILE = "card.json"
OOF_FILE = "oof_predictions.parquet"


def grouped_folds(
    groups: Sequence, n_splits: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds that never split a group (document or respondent).

    Args:
        groups: Group of each segment.
        n_splits: Folds wanted (fewer when there are fewer groups).

    Returns:
        ``(train_indices, test_indices)`` pairs.

    Raises:
        ModelError: Fewer than two groups.
    """
    from sklearn.model_selection import GroupKFold

    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ModelError(
            f"cross-validation needs at least two documents (or groups); got {n_groups}"
        )
    return list(
        GroupKFold(n_splits=min(n_splits, n_groups)).split(groups, groups=groups)
    )


@dataclass
class FeatureBuilder:
    """Segment features: embeddings, optionally joined with TF-IDF word features.

    Attributes:
        tfidf: Whether to add TF-IDF features.
        vectorizer_: The fitted TF-IDF vectorizer (when ``tfidf``).
    """

    tfidf: bool = False
    vectorizer_: object | None = None

    def fit_transform(self, texts: Sequence[str], embeddings: np.ndarray):
        """Fit the TF-IDF vocabulary (if any) and build features."""
        self.vectorizer_ = None
        if self.tfidf:
            from sklearn.feature_extraction.text import TfidfVectorizer

            try:
                self.vectorizer_ = TfidfVectorizer(
                    sublinear_tf=True, ngram_range=(1, 2), min_df=2, max_features=30_000
                ).fit(list(texts))
            except ValueError:
                # no word occurs twice (tiny or empty texts): embeddings only
                logger.info("classify: too few repeated words for TF-IDF features")
        return self.transform(texts, embeddings)

    def transform(self, texts: Sequence[str], embeddings: np.ndarray):
        """Build features for new segments."""
        if not self.tfidf or self.vectorizer_ is None:
            return np.asarray(embeddings, dtype=np.float64)
        words = self.vectorizer_.transform(list(texts))
        return sp.hstack([sp.csr_matrix(embeddings), words], format="csr")


@dataclass
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


@dataclass
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


def _metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import (
        cohen_kappa_score,
        f1_score,
        precision_score,
        recall_score,
    )

    if truth.all() == predicted.all() and (truth == predicted).all():
        kappa = 1.0
    else:
        kappa = float(np.nan_to_num(cohen_kappa_score(truth, predicted), nan=0.0))
    return {
        "precision": float(precision_score(truth, predicted, zero_division=0.0)),
        "recall": float(recall_score(truth, predicted, zero_division=0.0)),
        "f1": float(f1_score(truth, predicted, zero_division=0.0)),
        "kappa": kappa,
    }


def _classifier(config: ClassifyConfig, random_state: int) -> SupervisedClassifier:
    return SupervisedClassifier(
        threshold_metric=config.threshold_metric,
        cv=3,
        n_jobs=config.n_jobs,
        random_state=random_state,
    )


def cross_validate(
    texts: Sequence[str],
    embeddings: np.ndarray,
    labels: np.ndarray,
    groups: Sequence,
    config: ClassifyConfig,
    *,
    random_state: int = 0,
    train_share: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold scores and decisions from grouped cross-validation.

    Args:
        texts: Segment texts (for TF-IDF features).
        embeddings: Segment embeddings.
        labels: ``(n, n_codes)`` human codes.
        groups: Group of each segment.
        config: The ``classify`` section.
        random_state: Seed.
        train_share: Share of each fold's training groups used (for learning curves).

    Returns:
        ``(scores, decisions)``, each ``(n, n_codes)``; every row comes from a
        model that never saw the row's group.
    """
    groups = np.asarray(groups)
    scores = np.zeros(labels.shape, dtype=float)
    decisions = np.zeros(labels.shape, dtype=bool)
    rng = np.random.default_rng(random_state)
    for train, test in grouped_folds(groups, config.cv_folds):
        if train_share < 1.0:
            train_groups = np.unique(groups[train])
            keep = rng.choice(
                train_groups,
                size=max(2, round(train_share * len(train_groups))),
                replace=False,
            )
            train = train[np.isin(groups[train], keep)]
        features = FeatureBuilder(tfidf=config.tfidf)
        X_train = features.fit_transform([texts[i] for i in train], embeddings[train])
        X_test = features.transform([texts[i] for i in test], embeddings[test])
        model = _classifier(config, random_state).fit(
            X_train, labels[train], groups=groups[train]
        )
        scores[test] = model.score_codes(X_test)
        decisions[test] = model.predict_indicator(X_test, scores[test])
    return scores, decisions


def train_supervised(
    texts: Sequence[str],
    embeddings: np.ndarray,
    labels: np.ndarray,
    codes: Sequence[str],
    groups: Sequence,
    config: ClassifyConfig,
    *,
    segment_keys: Sequence[str],
    random_state: int = 0,
) -> TrainedModel:
    """Train one classifier on the codes that have enough human examples.

    Args:
        texts: Segment texts.
        embeddings: Segment embeddings, aligned with ``texts``.
        labels: ``(n, len(codes))`` human codes (combined over coders).
        codes: Code ids of the label columns.
        groups: Group (document or respondent) of each segment.
        config: The ``classify`` section.
        segment_keys: Stable keys of the segments (for the saved out-of-fold scores).
        random_state: Seed.

    Returns:
        The fitted model with its cross-validated reports and learning curve.

    Raises:
        ModelError: No code has enough examples, or fewer than two groups.
    """
    labels = np.asarray(labels, dtype=bool)
    counts = labels.sum(axis=0)
    eligible = [
        j for j, n in enumerate(counts) if n >= config.min_examples and n < len(labels)
    ]
    reports = {
        code: CodeReport(
            code,
            int(counts[j]),
            False,
            reason=(
                f"not enough human examples ({int(counts[j])} < {config.min_examples})"
            ),
        )
        for j, code in enumerate(codes)
        if j not in eligible
    }
    if not eligible:
        raise ModelError(
            f"no code has at least {config.min_examples} human examples "
            "(classify.min_examples); code more segments, or lower the minimum"
        )
    trained_codes = [codes[j] for j in eligible]
    Y = labels[:, eligible]
    logger.info(
        "train: %d codes with enough examples, %d segments", len(eligible), len(Y)
    )
    oof_scores, oof_decisions = cross_validate(
        texts, embeddings, Y, groups, config, random_state=random_state
    )
    features = FeatureBuilder(tfidf=config.tfidf)
    X = features.fit_transform(texts, embeddings)
    classifier = _classifier(config, random_state).fit(X, Y, groups=np.asarray(groups))
    for j, code in enumerate(trained_codes):
        metrics = _metrics(Y[:, j], oof_decisions[:, j])
        reports[code] = CodeReport(
            code,
            int(Y[:, j].sum()),
            True,
            threshold=float(classifier.thresholds_[j]),
            **metrics,
        )
    curve = learning_curve(
        texts,
        embeddings,
        Y,
        trained_codes,
        groups,
        config,
        random_state=random_state,
        full_decisions=oof_decisions,
    )
    oof = pd.DataFrame(oof_scores, columns=trained_codes)
    oof.insert(0, "segment_key", list(segment_keys))
    return TrainedModel(
        classifier=classifier,
        features=features,
        codes=trained_codes,
        reports=[reports[code] for code in codes],
        learning_curve=curve,
        oof=oof,
    )


def learning_curve(
    texts: Sequence[str],
    embeddings: np.ndarray,
    labels: np.ndarray,
    codes: Sequence[str],
    groups: Sequence,
    config: ClassifyConfig,
    *,
    random_state: int = 0,
    full_decisions: np.ndarray | None = None,
) -> pd.DataFrame:
    """Cross-validated kappa and F1 per code as the share of training documents grows.

    Args:
        texts: Segment texts.
        embeddings: Segment embeddings.
        labels: ``(n, n_codes)`` human codes.
        codes: Code ids of the columns.
        groups: Group of each segment.
        config: The ``classify`` section (``learning_curve`` shares).
        random_state: Seed.
        full_decisions: Out-of-fold decisions already computed with all the
            training data (reused for share 1.0).

    Returns:
        Rows of ``share, code, n_examples`` (human examples in the training
        part, averaged over folds), ``kappa``, ``f1``.
    """
    rows = []
    n_folds = len(grouped_folds(groups, config.cv_folds))
    for share in sorted(set(config.learning_curve)):
        if share >= 1.0 and full_decisions is not None:
            decisions = full_decisions
        else:
            _, decisions = cross_validate(
                texts,
                embeddings,
                labels,
                groups,
                config,
                random_state=random_state,
                train_share=min(share, 1.0),
            )

        for j, code in enumerate(codes):
            metrics = _metrics(labels[:, j], decisions[:, j])
            rows.append(
                {
                    "share": share,
                    "code": code,
                    "n_examples": round(
                        labels[:, j].sum() * share * (n_folds - 1) / n_folds, 1
                    ),
                    "kappa": round(metrics["kappa"], 4),
                    "f1": round(metrics["f1"], 4),
                }
            )
    return pd.DataFrame(rows, columns=["share", "code", "n_examples", "kappa", "f1"])


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
    import joblib

    from pipeline.store.folders import replacing_folder

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
        ModelError: The folder holds no model.
    """
    import joblib

    folder = Path(folder)
    if not (folder / CLASSIFIER_FILE).is_file() or not (folder / CARD_FILE).is_file():
        raise ModelError(
            f"{folder}: not a trained classifier "
            f"(no {CLASSIFIER_FILE} and {CARD_FILE}); train "
            "one with `themes train`"
        )
    saved = joblib.load(folder / CLASSIFIER_FILE)
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
        f"Embeddings: `{card.get('embedding_model_id')}`.",
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


def train_from_files(
    config, *, codes_path: str | Path, out: str | Path, holdout: float = 0.0
):
    """Everything ``themes train`` does: read, segment, embed, align codes, train, save.

    Args:
        config: The :class:`~pipeline.config.PipelineConfig` (corpus, codebook,
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
    import hashlib

    from pipeline.coding.codebook import load_codebook
    from pipeline.io.codes import align_codes, read_codes
    from pipeline.steps.prepare import prepare_corpus
    from pipeline.store.manifest import package_versions, utc_now

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
    texts = prepared.segments.column("text").to_pylist()
    keys = prepared.segment_keys(config.section_hash("segment"))
    model = train_supervised(
        [texts[i] for i in index],
        prepared.embeddings[index],
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
    model.card = {
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
    from pipeline.records import segment_metadata

    metadata = segment_metadata(prepared.segments, prepared.documents)
    if group_by not in metadata.columns:
        from pipeline.errors import ConfigError

        raise ConfigError(
            f"classify.group_by: no metadata column {group_by!r}; columns are: "
            f"{', '.join(metadata.columns)}"
        )
    values = metadata[group_by].to_numpy(dtype=object)
    # a segment without a value stays in its own document's group
    return np.where(pd.isna(values) | (values == ""), documents, values)
