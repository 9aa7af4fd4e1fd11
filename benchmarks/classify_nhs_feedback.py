"""Classifier quality on real human codes: the NHS patient feedback file.

The v7 labels with at least 30 positives in ``feedback_dev.csv`` (6,326 real
comments, human multi-label codes), 5-fold cross-validation grouped by
respondent, the same folds for every method:

(a) TF-IDF + LinearSVC (one-vs-rest): the baseline;
(b) the supervised classifier (embeddings, plus TF-IDF words when
    ``classify.tfidf``), thresholds tuned per code inside each training fold;
(c) the zero-shot classifier: the codebook only, no training labels;
(d) a keyword baseline: a code when one of its codebook keywords occurs;
(e) (b) without TF-IDF and (c) again on int8 vectors against fp32 vectors: the
    downstream cost of the int8 embedding backend (``onnx-int8``: the
    SmoothQuant-calibrated int8 graph, ``pipeline/embed/smoothquant.py``).

Printed: micro-F1, macro-F1 and mean per-label Cohen's kappa of each, the
training time and peak memory of (b) on the whole file, and its learning
curve: for growing shares of the training respondents (the test folds
untouched), the out-of-fold kappa per label against the number of human
examples trained on, drawn in ``docs/learning_curve.png`` (the curve's rows in
``benchmarks/out/learning_curve.csv``). Run with ``--quick`` for a
1,500-comment look (the figure is then not redrawn).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import (  # noqa: E402
    FEEDBACK_CSV,
    ONNX_CACHE,
    OUT,
    ROOT,
    Figure,
    PeakMemory,
    Results,
)

MIN_POSITIVES = 30
SHARES = (0.05, 0.1, 0.2, 0.4, 0.7, 1.0)
"""Shares of the training respondents on the learning curve."""


def metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import cohen_kappa_score, f1_score

    kappas = []
    for j in range(truth.shape[1]):
        value = cohen_kappa_score(truth[:, j], predicted[:, j])
        kappas.append(0.0 if np.isnan(value) else value)
    return {
        "micro_f1": f1_score(truth, predicted, average="micro", zero_division=0.0),
        "macro_f1": f1_score(truth, predicted, average="macro", zero_division=0.0),
        "mean_kappa": float(np.mean(kappas)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.svm import LinearSVC

    from pipeline.coding.codebook import load_codebook
    from pipeline.coding.cross_validation import cross_validate
    from pipeline.coding.folds import grouped_folds
    from pipeline.coding.keywords import keyword_hits
    from pipeline.coding.train import train_supervised
    from pipeline.coding.zeroshot import ZeroShotCoder
    from pipeline.config.run import load_config
    from pipeline.embed.cache import embed_texts
    from pipeline.embed.registry import make_embedder
    from pipeline.store.database import ResultsStore

    results = Results("classify_nhs_feedback")
    frame = pd.read_csv(FEEDBACK_CSV, dtype=str, keep_default_na=False)
    frame = frame[frame["FFT answer"].str.strip() != ""].reset_index(drop=True)
    if args.quick:
        frame = frame.sample(1500, random_state=0).reset_index(drop=True)
    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_feedback.yaml")
    labels, codes = [], []
    for code in codebook.leaves():
        column = np.zeros(len(frame), dtype=bool)
        for source in codebook[code].columns:
            column |= frame[source].str.strip().isin(["1", "1.0"]).to_numpy()
        if column.sum() >= MIN_POSITIVES:
            labels.append(column)
            codes.append(code)
    Y = np.column_stack(labels)
    texts = frame["FFT answer"].tolist()
    groups = frame["Respondent ID"].to_numpy()
    results.note(
        f"{len(texts):,} comments, {len(np.unique(groups)):,} respondents, "
        f"{len(codes)} labels "
        f"with >= {MIN_POSITIVES} positives; 5 folds grouped by respondent"
    )
    config = load_config(overrides={"embed.onnx_cache_dir": str(ONNX_CACHE)})
    embedder = make_embedder(config.embed)
    with_cache = ResultsStore(ROOT / "runs" / "bench_cache.duckdb")
    started = time.perf_counter()
    X = embed_texts(texts, embedder, cache=with_cache).vectors
    results.note(
        f"embedding (cached across runs): {time.perf_counter() - started:.0f} s"
    )
    started = time.perf_counter()
    folds = grouped_folds(groups, 5)
    scores: dict[str, dict[str, float]] = {}

    # (a) TF-IDF + LinearSVC
    predicted = np.zeros_like(Y)
    for train, test in folds:
        vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
        words = vectorizer.fit_transform([texts[i] for i in train])
        model = OneVsRestClassifier(LinearSVC(C=1.0, class_weight="balanced")).fit(
            words, Y[train]
        )
        predicted[test] = model.predict(
            vectorizer.transform([texts[i] for i in test])
        ).astype(bool)
    scores["tfidf_linearsvc"] = metrics(Y, predicted)
    results.note(
        f"tfidf_linearsvc: 5-fold CV took {time.perf_counter() - started:.0f} s"
    )

    # (b) the supervised classifier, same folds
    for tfidf in (False, True):
        name = "supervised_embeddings_tfidf" if tfidf else "supervised_embeddings"
        classify = config.classify.model_copy(update={"tfidf": tfidf, "cv_folds": 5})
        started = time.perf_counter()
        _, decisions = cross_validate(texts, X, Y, groups, classify, random_state=0)
        scores[name] = metrics(Y, decisions)
        results.note(f"{name}: 5-fold CV took {time.perf_counter() - started:.0f} s")

    # (c) zero-shot, codebook only
    coder = ZeroShotCoder.from_config(codebook, embedder, config.classify)
    coder.fit(texts, X, groups=groups)
    columns = [coder.codes_.index(code) for code in codes]
    zero_shot = coder.decide(coder.fit_scores_)[:, columns]
    scores["zero_shot"] = metrics(Y, zero_shot)

    # (d) keywords
    scores["keywords"] = metrics(Y, keyword_hits(texts, codebook, codes))

    # (e) downstream effect of the embedding backend: the supervised classifier
    # (embeddings only) and zero-shot on fp32 ONNX vectors (same as torch) and
    # on the calibrated int8 vectors, same folds and seed.
    plain = config.classify.model_copy(update={"tfidf": False, "cv_folds": 5})
    for backend in ("onnx", "onnx-int8"):
        other = make_embedder(config.embed.model_copy(update={"backend": backend}))
        if backend == config.embed.backend:  # measured above: same vectors, same folds
            vectors = X
            scores[f"supervised_embeddings [{backend}]"] = scores[
                "supervised_embeddings"
            ]
        else:
            vectors = embed_texts(texts, other, cache=with_cache).vectors
            _, decisions = cross_validate(
                texts, vectors, Y, groups, plain, random_state=0
            )
            scores[f"supervised_embeddings [{backend}]"] = metrics(Y, decisions)
        coder = ZeroShotCoder.from_config(codebook, other, config.classify)
        coder.fit(texts, vectors, groups=groups)
        decided = coder.decide(coder.fit_scores_)[
            :, [coder.codes_.index(c) for c in codes]
        ]
        scores[f"zero_shot [{backend}]"] = metrics(Y, decided)

    best = (
        "supervised_embeddings_tfidf"
        if scores["supervised_embeddings_tfidf"]["micro_f1"]
        >= scores["supervised_embeddings"]["micro_f1"]
        else "supervised_embeddings"
    )
    for name, values in scores.items():
        for metric, value in values.items():
            baseline = {
                "supervised_embeddings": "tfidf_linearsvc",
                "supervised_embeddings_tfidf": "tfidf_linearsvc",
                "zero_shot": "keywords",
                "supervised_embeddings [onnx-int8]": "supervised_embeddings [onnx]",
                "zero_shot [onnx-int8]": "zero_shot [onnx]",
            }.get(name)
            results.add(
                Figure(
                    f"{name}: {metric}",
                    value,
                    "",
                    baseline and f"{baseline}: {metric}",
                    scores[baseline][metric] if baseline else None,
                )
            )

    # training on the whole file, as ``themes train`` does (its learning
    # curve with more points): time, peak memory, and the learning curve
    classify = config.classify.model_copy(
        update={
            "tfidf": best.endswith("tfidf"),
            "cv_folds": 5,
            "learning_curve": SHARES,
        }
    )
    import gc

    import psutil

    del other, vectors, coder  # the int8 embedder, its vectors and coder
    gc.collect()
    before_gb = psutil.Process().memory_info().rss / 2**30
    started = time.perf_counter()
    with PeakMemory() as memory:
        trained = train_supervised(
            texts,
            X,
            Y,
            codes,
            groups,
            classify,
            segment_keys=[str(i) for i in range(len(texts))],
            random_state=0,
        )
    results.add(
        Figure(
            f"training {best} on all comments "
            f"(CV, {len(SHARES)}-point learning curve, final fit)",
            time.perf_counter() - started,
            "s",
            higher_is_better=False,
        )
    )
    results.add(
        Figure(
            "training: peak memory of the process",
            memory.peak_gb,
            "GB",
            higher_is_better=False,
        )
    )
    results.add(
        Figure(
            "training: memory taken above the process before it",
            memory.peak_gb - before_gb,
            "GB",
            higher_is_better=False,
        )
    )
    curve = trained.learning_curve
    OUT.mkdir(exist_ok=True)
    curve.to_csv(OUT / "learning_curve.csv", index=False)
    mean = curve.groupby("share")[["n_examples", "kappa"]].mean()
    for share, row in mean.iterrows():
        results.add(
            Figure(
                f"learning curve: mean kappa with {share:.0%} of training respondents "
                f"(~{row['n_examples']:.0f} examples per label)",
                row["kappa"],
                "",
            )
        )
    if not args.quick:
        draw_learning_curve(
            curve,
            {code: codebook[code].name for code in trained.codes},
            ROOT / "docs" / "learning_curve.png",
        )
        results.note(f"learning curve of {best}: docs/learning_curve.png")
    results.save()


def draw_learning_curve(curve: pd.DataFrame, names: dict[str, str], path: Path) -> None:
    """Kappa per label against human examples in training, and their mean.

    The examples are on a log scale.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 6.5), dpi=110)
    for code, rows in curve.groupby("code"):
        axis.plot(
            rows["n_examples"],
            rows["kappa"],
            marker="o",
            linewidth=1,
            label=names[code][:38],
        )
    mean = curve.groupby("share")[["n_examples", "kappa"]].mean()
    axis.plot(
        mean["n_examples"],
        mean["kappa"],
        color="black",
        linewidth=3,
        label="mean over labels",
    )
    axis.set_xscale("log")
    axis.set_xlabel("human-coded examples of the label in training (log scale)")
    axis.set_ylabel("cross-validated Cohen's kappa")
    axis.set_title(
        "NHS patient feedback: supervised kappa per label as human coding grows"
    )
    axis.grid(alpha=0.3)
    axis.legend(fontsize=6.5, ncol=2, loc="lower right")
    figure.tight_layout()
    figure.savefig(path)


if __name__ == "__main__":
    main()
