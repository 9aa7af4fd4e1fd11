"""Few human examples per code: the plain classifier against contrastive fine-tuning.

The learning curve on the 17 think-aloud transcripts of
``../shared/data/usability_think_aloud`` (real usability-test sessions, span
codes by one coder; GPL-3.0, read where they are, never copied): for k in
(8, 16, 32) human examples per code, in grouped cross-validation by
transcript (4 folds rather than leave-one-out, to keep the 12 fine-tunes within
the hour on 2 shared cores):

- from each fold's training transcripts only, k segments of each code are
  drawn (seeded, nested: the 8 are among the 16), plus as many segments with
  none of the codes (negatives); a code with fewer than k segments there
  gives all it has;
- the plain classifier (the project's supervised path: calibrated logistic
  regression per code, threshold tuned on grouped out-of-fold predictions)
  learns from their embeddings, alone and in context (turn, question);
- the few-shot coder (:class:`pipeline.coding.fewshot.FewShotCoder`)
  fine-tunes a copy of MiniLM on pairs of them, then fits a logistic
  regression per code (balanced, given at probability 0.5); the same head on
  the untuned embeddings tells the encoder's gain from the head's;
- every held-out transcript's segments are scored by models that never saw
  it; mean per-code kappa with the human codes at segments and turns.

"all" is the plain classifier on every segment of the training transcripts.
Prints the time of each fine-tune; one torch thread (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import OUT, THINK_ALOUD, Figure, Results  # noqa: E402


def draw_examples(
    labels: np.ndarray, train: np.ndarray, ks: list[int], rng
) -> dict[int, np.ndarray]:
    """Nested samples of each training fold: k examples per code, as many negatives."""
    orders = [rng.permutation(train[labels[train, j]]) for j in range(labels.shape[1])]
    negatives = rng.permutation(train[~labels[train].any(axis=1)])
    samples = {}
    for k in ks:
        coded = np.unique(np.concatenate([order[:k] for order in orders]))
        samples[k] = np.sort(np.concatenate([coded, negatives[: len(coded)]]))
    return samples


def mean_kappas(prepared, imported, aligned, codebook, scores, decisions) -> dict:
    """Mean per-code kappa (auto vs the coder) at segments and turns."""
    from pipeline.agreement.compare import compare_codes

    comparison = compare_codes(
        segments=prepared.segments,
        texts=prepared.texts,
        imported=imported,
        aligned=aligned,
        auto_scores=scores,
        auto_decisions=decisions,
        thresholds=np.full(scores.shape[1], 0.5),
        embeddings=prepared.embeddings,
        codebook=codebook,
        units=("segments", "turns"),
        n_boot=20,
        review_per_code=1,
    )
    table = comparison.agreement
    auto = table[
        (table["code"] != "(all codes)")
        & ((table["coder_a"] == "auto") | (table["coder_b"] == "auto"))
    ]
    return auto.groupby("unit")["kappa"].mean().to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--max-pairs", type=int, default=640)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from pipeline.coding.codebook import load_codebook
    from pipeline.coding.context import context_features
    from pipeline.coding.cross_validation import supervised_classifier
    from pipeline.coding.fewshot import FewShotCoder
    from pipeline.coding.folds import grouped_folds
    from pipeline.config.run import load_config
    from pipeline.io.codes.align import align_codes
    from pipeline.io.codes.read import read_codes
    from pipeline.steps.prepare import prepare_corpus

    results = Results("fewshot")
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(
            overrides={
                "ingest.speakers.interviewer_names": ["MODERATOR"],
                "ingest.speakers.unlabelled_lines": "participant",
                "store.database": str(Path(tmp) / "themes.duckdb"),
            }
        )
        prepared = prepare_corpus(config, THINK_ALOUD / "transcripts")
    codebook = load_codebook(THINK_ALOUD / "codebook.csv")
    imported = read_codes(
        THINK_ALOUD / "codes.csv",
        codebook=codebook,
        documents=prepared.texts,
        id_column=config.ingest.id_column,
    )
    codes = codebook.leaves()
    labels = align_codes(prepared.segments, imported, codes).combined("union")
    keep = [
        j
        for j in range(len(codes))
        if labels[:, j].sum() >= config.classify.min_examples
    ]
    codes = [codes[j] for j in keep]
    labels = labels[:, keep]
    aligned = align_codes(prepared.segments, imported, codes)
    texts = prepared.segments.column("text").to_pylist()
    groups = np.asarray(prepared.segments.column("document_id").to_pylist())
    context = context_features(
        prepared.segments, prepared.embeddings, prepared.embedder.embed
    )
    folds = grouped_folds(groups, args.folds)
    results.note(
        f"{len(np.unique(groups))} transcripts, {len(texts):,} segments, "
        f"{len(codes)} codes with >= {config.classify.min_examples} examples; "
        f"{len(folds)} folds grouped by transcript; k examples per code drawn "
        "from each fold's training transcripts (seeded, nested) with as many "
        f"uncoded segments; few-shot: {args.max_pairs} pairs at most, 1 epoch, "
        "batch 16, 1 torch thread"
    )

    methods = [
        "plain",
        "plain in context",
        "plain embeddings + LR at 0.5",
        "few-shot",
    ]
    runs = [(k, m) for k in args.ks for m in methods]
    runs += [("all", m) for m in methods[:3]]
    scores = {run: np.zeros(labels.shape) for run in runs}
    decisions = {run: np.zeros(labels.shape, dtype=bool) for run in runs}
    examples = {k: [] for k in args.ks}
    fit_seconds = {k: [] for k in args.ks}

    def plain(run, features, sample, test):
        model = supervised_classifier(config.classify, args.seed).fit(
            features[sample], labels[sample], groups=groups[sample]
        )
        scores[run][test] = model.score_codes(features[test])
        decisions[run][test] = model.predict_indicator(
            features[test], scores[run][test]
        )

    def simple_head(run, features, sample, test):
        # the few-shot coder's head on the untuned embeddings: tells the
        # encoder's gain from the head's
        from sklearn.linear_model import LogisticRegression

        for j in range(labels.shape[1]):
            model = LogisticRegression(class_weight="balanced", max_iter=2000)
            model.fit(features[sample], labels[sample, j])
            scores[run][test, j] = model.predict_proba(features[test])[:, 1]
        decisions[run][test] = scores[run][test] >= 0.5

    for n, (train, test) in enumerate(folds):
        rng = np.random.default_rng(args.seed + n)
        samples = draw_examples(labels, train, args.ks, rng)
        for k, sample in samples.items():
            examples[k].append(labels[sample].sum(axis=0).mean())
            plain((k, "plain"), prepared.embeddings, sample, test)
            plain((k, "plain in context"), context, sample, test)
            simple_head((k, methods[2]), prepared.embeddings, sample, test)
            coder = FewShotCoder(
                max_pairs=args.max_pairs, threads=1, random_state=args.seed
            ).fit([texts[i] for i in sample], labels[sample])
            fit_seconds[k].append(coder.fit_seconds_)
            run = (k, "few-shot")
            test_texts = [texts[i] for i in test]
            scores[run][test] = coder.score_codes(test_texts)
            decisions[run][test] = coder.predict_indicator(
                test_texts, scores[run][test]
            )
            print(
                f"fold {n + 1}/{len(folds)}, k={k}: {len(sample)} examples, "
                f"{coder.n_pairs_} pairs, fine-tune {coder.fit_seconds_:.0f} s",
                flush=True,
            )
        plain(("all", "plain"), prepared.embeddings, train, test)
        plain(("all", "plain in context"), context, train, test)
        simple_head(("all", methods[2]), prepared.embeddings, train, test)
        # after each fold: what is done so far, should the run be cut short
        np.savez(
            Path(tempfile.gettempdir()) / "fewshot_partial.npz",
            folds_done=n + 1,
            **{f"{k}|{m}|scores": scores[(k, m)] for k, m in runs},
            **{f"{k}|{m}|decisions": decisions[(k, m)] for k, m in runs},
        )

    rows = []
    for run in runs:
        k, method = run
        kappas = mean_kappas(
            prepared, imported, aligned, codebook, scores[run], decisions[run]
        )
        per_code = (
            round(float(np.mean(examples[k])), 1)
            if k != "all"
            else round(float(labels.sum(axis=0).mean() * (len(folds) - 1) / len(folds)))
        )
        seconds = float(np.mean(fit_seconds[k])) if method == "few-shot" else None
        rows.append((k, method, per_code, kappas["turns"], kappas["segments"], seconds))
        if method == "plain":
            baseline = kappas
        for unit in ("turns", "segments"):
            results.add(
                Figure(
                    f"k={k} ({per_code} examples per code), {method}: "
                    f"mean per-code kappa, {unit}",
                    kappas[unit],
                    "",
                    baseline_name=None if method == "plain" else f"k={k}, plain",
                    baseline_value=None if method == "plain" else baseline[unit],
                )
            )
        if seconds is not None:
            results.add(
                Figure(
                    f"k={k}: time per fine-tune (mean of {len(folds)})",
                    seconds,
                    "s",
                    higher_is_better=False,
                    note=f"max {max(fit_seconds[k]):.0f} s",
                )
            )
    OUT.mkdir(exist_ok=True)
    lines = ["k,method,examples_per_code,kappa_turns,kappa_segments,fit_seconds"]
    lines += [
        f"{k},{method},{per_code},{turns:.4f},{segs:.4f},"
        + ("" if seconds is None else f"{seconds:.1f}")
        for k, method, per_code, turns, segs, seconds in rows
    ]
    (OUT / "fewshot_learning_curve.csv").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    results.save()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"took {time.perf_counter() - started:.0f} s")
