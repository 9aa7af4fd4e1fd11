"""The coders the agreement benchmarks compare, on one prepared corpus.

Every coder gives a decision per segment, so one comparison
(:func:`pipeline.agreement.compare.compare_codes`) scores them all at
characters, segments, turns and documents:

- ``zero_shot``: the project's zero-shot coder, from the codebook alone;
- ``supervised``: the project's supervised coder as ``themes train`` builds it
  (:func:`pipeline.coding.training_view.training_view`: the coding unit the
  codes were made at, segments in context), out-of-fold;
- ``turn_baseline``: the baselines the issue names, measured in the same run:
  one logistic regression per code on whole-turn MiniLM embeddings, or on
  whole-turn TF-IDF, out-of-fold, thresholds chosen inside the training
  folds; a turn's decision goes to its segments.

Supervised coders and baselines use the same grouped folds (by document,
or ``classify.group_by``) and the same codes (those with
``classify.min_examples`` human examples).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks._harness import Figure
from pipeline.coding.multilabel import best_threshold


@dataclass
class Study:
    """A prepared corpus with its codebook and human codes."""

    label: str
    config: object
    prepared: object
    codebook: object
    imported: object
    aligned: object
    codes: list[str]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def texts(self) -> list[str]:
        return self.prepared.segments.column("text").to_pylist()

    def trainable(self) -> Study:
        """The same study restricted to codes with enough human examples.

        Examples are counted at the coding unit (documents, for codes made per
        document), as ``themes train`` counts them.
        """
        from pipeline.coding.units import choose_unit, document_units
        from pipeline.io.codes.align import align_codes

        labels = self.aligned.combined("union")
        if choose_unit(self.imported, self.config.classify.unit).name == "document":
            labels = document_units(self.prepared.segments).any_of(labels)
        counts = labels.sum(axis=0)
        codes = [
            c
            for c, n in zip(self.codes, counts, strict=True)
            if n >= self.config.classify.min_examples
        ]
        aligned = align_codes(self.prepared.segments, self.imported, codes)
        return Study(
            self.label,
            self.config,
            self.prepared,
            self.codebook,
            self.imported,
            aligned,
            codes,
            self.timings,
        )


@dataclass
class Coded:
    """One coder's out-of-fold (or zero-shot) decisions per segment."""

    method: str
    scores: np.ndarray
    decisions: np.ndarray
    thresholds: np.ndarray
    seconds: float


def prepare(label, config, corpus, codes_path, codebook_path) -> Study:
    """Ingest, segment, embed (cached), read and align the human codes."""
    from pipeline.coding.codebook import load_codebook
    from pipeline.io.codes.align import align_codes
    from pipeline.io.codes.read import read_codes
    from pipeline.steps.prepare import prepare_corpus

    started = time.perf_counter()
    prepared = prepare_corpus(config, corpus)
    seconds = time.perf_counter() - started
    codebook = load_codebook(codebook_path)
    imported = read_codes(
        codes_path,
        codebook=codebook,
        documents=prepared.texts,
        id_column=config.ingest.id_column,
    )
    codes = codebook.leaves()
    aligned = align_codes(prepared.segments, imported, codes)
    return Study(
        label,
        config,
        prepared,
        codebook,
        imported,
        aligned,
        codes,
        {"ingest, segment, embed": seconds},
    )


def zero_shot(study: Study) -> Coded:
    """The project's zero-shot coder, from the codebook alone."""
    from pipeline.coding.zeroshot import ZeroShotCoder

    started = time.perf_counter()
    prepared = study.prepared
    coder = ZeroShotCoder.from_config(
        study.codebook, prepared.embedder, study.config.classify
    ).fit(
        study.texts,
        prepared.embeddings,
        groups=prepared.segments.column("document_id").to_pylist(),
    )
    scores = coder.fit_scores_
    index = [coder.codes_.index(c) for c in study.codes]
    return Coded(
        "zero-shot",
        scores[:, index],
        coder.decide(scores)[:, index],
        np.asarray(coder.thresholds_)[index],
        time.perf_counter() - started,
    )


def supervised(study: Study) -> Coded:
    """The supervised coder, out-of-fold, at the unit ``themes train`` uses."""
    from pipeline.coding.cross_validation import cross_validate
    from pipeline.coding.training_view import training_view
    from pipeline.coding.units import choose_unit, document_units

    started = time.perf_counter()
    config = study.config
    unit = choose_unit(study.imported, config.classify.unit)
    view = training_view(study.prepared, study.aligned, unit, config)
    scores, decisions = cross_validate(
        view.texts, view.features, view.labels, view.groups, config.classify
    )
    n = study.prepared.segments.num_rows
    if unit.name == "document":
        units = document_units(study.prepared.segments)
        scores, decisions = units.spread(scores, n), units.spread(decisions, n)
    method = f"supervised, per {unit.name}" + (" in context" if view.context else "")
    return Coded(
        method,
        scores,
        decisions,
        np.full(len(study.codes), 0.5),
        time.perf_counter() - started,
    )


def turn_baseline(study: Study, features: str) -> Coded:
    """Logistic regression per code on whole turns: ``minilm`` or ``tfidf`` features.

    A turn is coded when any of its segments carries the code. Each fold fits
    on the other groups' turns, with a threshold per code chosen (for kappa)
    on out-of-fold probabilities inside the training part (3 inner folds by
    group), as the project's supervised coder chooses its own; a turn's
    decision goes to all its segments.
    """
    from pipeline.coding.folds import grouped_folds
    from pipeline.coding.training_view import cv_groups
    from pipeline.coding.units import turn_units, unit_embeddings

    started = time.perf_counter()
    prepared = study.prepared
    turns = turn_units(prepared.segments)
    labels = turns.any_of(study.aligned.combined("union"))
    groups = cv_groups(prepared, study.config.classify.group_by)
    turn_groups = np.array([groups[rows[0]] for rows in turns.rows], dtype=object)
    vectors = (
        unit_embeddings(turns, study.texts, prepared.embedder.embed)
        if features == "minilm"
        else None
    )
    scores = np.zeros(labels.shape)
    decisions = np.zeros(labels.shape, dtype=bool)
    for train, test in grouped_folds(turn_groups, study.config.classify.cv_folds):
        inner = np.zeros((len(train), labels.shape[1]))
        for fit, held in grouped_folds(turn_groups[train], 3):
            inner[held] = _fit_and_score(
                turns.texts, vectors, labels, train[fit], train[held]
            )
        scores[test] = _fit_and_score(turns.texts, vectors, labels, train, test)
        for j in range(labels.shape[1]):
            threshold, _ = best_threshold(
                inner[:, j], labels[train, j], metric="kappa", grid=GRID
            )
            decisions[test, j] = scores[test, j] >= threshold
    n = prepared.segments.num_rows
    return Coded(
        f"baseline: turn {'MiniLM embeddings' if features == 'minilm' else 'TF-IDF'}"
        " + logistic regression",
        turns.spread(scores, n),
        turns.spread(decisions, n),
        np.full(len(study.codes), 0.5),
        time.perf_counter() - started,
    )


GRID = np.linspace(0.05, 0.95, 19)
"""Thresholds a baseline chooses from."""


def _fit_and_score(texts, vectors, labels, train, test) -> np.ndarray:
    """Probabilities of ``test`` rows from one logistic regression per code."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if vectors is None:
        vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2))
        X_train = vectorizer.fit_transform([texts[i] for i in train])
        X_test = vectorizer.transform([texts[i] for i in test])
    else:
        X_train, X_test = vectors[train], vectors[test]
    out = np.zeros((len(test), labels.shape[1]))
    for j in range(labels.shape[1]):
        y = labels[train, j]
        if y.all() or not y.any():
            out[:, j] = float(y.any())
            continue
        model = LogisticRegression(max_iter=2000, class_weight="balanced")
        out[:, j] = model.fit(X_train, y).predict_proba(X_test)[:, 1]
    return out


def agreement(study: Study, coded: Coded, *, n_boot: int = 200):
    """Agreement of one coder with the human codes at every unit."""
    from pipeline.agreement.compare import compare_codes

    return compare_codes(
        segments=study.prepared.segments,
        texts=study.prepared.texts,
        imported=study.imported,
        aligned=study.aligned,
        auto_scores=coded.scores,
        auto_decisions=coded.decisions,
        thresholds=coded.thresholds,
        embeddings=study.prepared.embeddings,
        codebook=study.codebook,
        n_boot=n_boot,
    ).agreement


def slug(label: str) -> str:
    """A file name from a figure label: letters, digits, ``.``, ``-``, ``_``."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", label).strip("_")


def mean_kappas(table) -> dict[str, float]:
    """Mean per-code kappa of the auto-coder at each unit."""
    auto = table[(table["coder_a"] == "auto") | (table["coder_b"] == "auto")]
    per_code = auto[auto["code"] != "(all codes)"]
    return per_code.groupby("unit", sort=False)["kappa"].mean().to_dict()


def report(
    results,
    study: Study,
    coded: Coded,
    table,
    *,
    baselines: dict[str, dict[str, float]] | None = None,
    out: Path | None = None,
):
    """Mean per-code and pooled kappa at each unit, shares coded, time taken.

    Args:
        baselines: Baseline name to its mean per-code kappa per unit; each
            figure names the best baseline at its unit, measured in the same run.
    """
    label = f"{study.label}, {coded.method}"
    auto = table[(table["coder_a"] == "auto") | (table["coder_b"] == "auto")]
    per_code = auto[auto["code"] != "(all codes)"]
    for unit, kappa in mean_kappas(table).items():
        best = max(
            ((value[unit], name) for name, value in (baselines or {}).items()),
            default=(None, None),
        )
        results.add(
            Figure(
                f"{label}: mean per-code kappa, {unit}",
                kappa,
                "",
                baseline_name=best[1],
                baseline_value=best[0],
            )
        )
    for row in auto[auto["code"] == "(all codes)"].itertuples():
        results.add(Figure(f"{label}: pooled kappa, {row.unit}", row.kappa, ""))
    human = study.aligned.combined("union").any(axis=1).mean()
    results.add(
        Figure(
            f"{label}: share of segments coded",
            float(coded.decisions.any(axis=1).mean()),
            "",
            baseline_name="humans",
            baseline_value=float(human),
        )
    )
    results.add(Figure(f"{label}: time", coded.seconds, "s", higher_is_better=False))
    if out is not None:
        out.mkdir(exist_ok=True)
        name = slug(label)
        per_code[["code", "unit", "prevalence", "kappa", "f1", "flag"]].to_csv(
            out / f"agreement_{name}.csv", index=False
        )


def baseline_minilm(study: Study) -> Coded:
    """Whole-turn MiniLM embeddings + logistic regression per code."""
    return turn_baseline(study, "minilm")


def baseline_tfidf(study: Study) -> Coded:
    """Whole-turn TF-IDF + logistic regression per code."""
    return turn_baseline(study, "tfidf")


BASELINES = (baseline_minilm, baseline_tfidf)
"""The baselines every supervised figure is measured beside."""

OUT = Path(__file__).resolve().parent / "out"


def measure(results, study, coders, baselines=BASELINES) -> None:
    """Code the study with the baselines, then each coder; compare with the humans."""
    results.note(
        f"{study.label}: {len(study.prepared.ingest.transcripts)} documents, "
        f"{study.prepared.segments.num_rows:,} segments; human codes used "
        f"{len(study.imported.assignments):,}, not used {len(study.imported.unused)}; "
        f"{len(study.codes)} codes; {study.config.classify.cv_folds} folds"
    )
    results.add(
        Figure(
            f"{study.label}: alignment coverage (share of human spans on a segment)",
            study.aligned.coverage,
            "",
        )
    )
    for step, seconds in study.timings.items():
        results.add(
            Figure(f"{study.label}: time, {step}", seconds, "s", higher_is_better=False)
        )
    reference = {}
    for code in baselines:
        coded = code(study)
        table = agreement(study, coded)
        report(results, study, coded, table, out=OUT)
        reference[coded.method.removeprefix("baseline: ")] = mean_kappas(table)
    for code in coders:
        coded = code(study)
        table = agreement(study, coded)
        report(results, study, coded, table, baselines=reference, out=OUT)


def with_classify(config, **changes):
    """The config with some ``classify`` settings changed."""
    return config.model_copy(
        update={"classify": config.classify.model_copy(update=changes)}
    )
