"""Classification, comparison and outputs at 10,000 and 100,000 segments (issue 20).

The three steps after the topics, timed directly (library calls, no Prefect)
on resampled copies of the NHS feedback file (each row a new comment with its
human codes, one segment per comment, as ``scale.py`` builds them):

- classify: ``run_code_step`` (zero-shot from the framework codebook, 32
  codes, keyword models cross-fitted by document; the tables it writes);
- compare: ``compare_run`` with the human codes (the config's unit,
  segments; 1,000 bootstrap replicates);
- outputs: ``export_run`` (report, workbook, prevalence, REFI-QDA project).

Each step's time per segment at 100,000 is set against the same at 10,000
(about 1 for a step that grows linearly). Classify and compare are measured
with :class:`~pipeline.memory.PeakMemory` too: the process's peak resident
memory during the step and its growth over the memory the step started with
(freed memory is given back to the system before each step, so a step is not
charged for the one before; in a fresh process the growth is alike, the peak
lower by what the script holds besides). Classify runs twice at each size:
with the keyword models' fits started from a fit on a sample
(``classify.keyword_warm_start_rows``, the default) and from zero (the fit
before issue 20); the auto-codes' agreement with the human codes (pooled and
mean per-code kappa at segments) and the share of segments coded are printed
for both. A model trained like ``themes train`` (TF-IDF words and embeddings,
here on keyword matches as labels) is timed at predict time at both sizes.

The embeddings are those of the file's ~4,400 distinct comments, embedded once
with the configured model and reused for every copy, so the script runs in a
few minutes on 2 cores (``run_all.py classify_scale``; on request).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import (  # noqa: E402
    ONNX_CACHE,
    ROOT,
    Figure,
    PeakMemory,
    Results,
)
from benchmarks.scale import write_corpus  # noqa: E402
from pipeline.config.run import PipelineConfig, load_config  # noqa: E402
from pipeline.memory import release_memory  # noqa: E402
from pipeline.steps.inputs import RunInputs, resolve_run_inputs  # noqa: E402
from pipeline.store.run_folder import RunFolder  # noqa: E402

STEPS = ("classify", "compare", "outputs")


def make_config(folder: Path, corpus: Path, **classify) -> PipelineConfig:
    """The scale benchmark's settings, every cache in ``folder``."""
    overrides = {
        "ingest.corpus": str(corpus),
        "compare.codes": str(corpus),
        "classify.codebook": str(ROOT / "config" / "codebooks" / "nhs_feedback.yaml"),
        "classify.update": "refit",
        "embed.onnx_cache_dir": str(ONNX_CACHE),
        "topics.enabled": False,
        "store.database": str(folder.parent / "themes.duckdb"),
        "store.runs_dir": str(folder),
    } | {f"classify.{key}": value for key, value in classify.items()}
    return load_config(ROOT / "config" / "nhs_feedback.yaml", overrides=overrides)


def build_run(n: int, folder: Path, vectors: dict[str, np.ndarray]) -> RunFolder:
    """A run folder with ``n`` comments: documents, segments, embeddings.

    ``vectors`` holds the embeddings of texts seen so far (filled here).
    """
    # heavy: kept out of start-up
    from pipeline.embed.cache import cached_embedder
    from pipeline.io.ingest import ingest_corpus
    from pipeline.records import transcripts_to_table
    from pipeline.steps.ingest import DOCUMENT_ROW_GROUP
    from pipeline.store import run_files
    from pipeline.text.segment import segment_transcripts

    folder.mkdir(parents=True)
    corpus = write_corpus(folder, n)
    config = make_config(folder, corpus)
    transcripts = list(ingest_corpus(config.ingest).transcripts)
    run = RunFolder(folder / "run")
    run.path.mkdir(exist_ok=True)
    run.write_parquet(
        run_files.DOCUMENTS,
        transcripts_to_table(transcripts),
        row_group_size=DOCUMENT_ROW_GROUP,
    )
    segments = segment_transcripts(transcripts, config.segment)
    run.write_parquet(run_files.SEGMENTS, segments)
    texts = segments.column("text").to_pylist()
    model = cached_embedder(config.embed)
    missing = sorted(set(texts) - set(vectors))
    if missing:
        vectors.update(zip(missing, model.embed(missing), strict=True))
    run.write_npy(run_files.EMBEDDINGS, np.stack([vectors[t] for t in texts]))
    run.write_json(run_files.EMBEDDINGS_SUMMARY, {"model_id": model.model_id})
    return run


def warm_prototypes(inputs: RunInputs) -> None:
    """Embed the codebook's prototypes into the store, so no step times it."""
    # heavy: kept out of start-up
    from pipeline.coding.keywords import keyword_hits
    from pipeline.coding.zeroshot import prototype_training_set
    from pipeline.embed.cache import CachingEmbedder
    from pipeline.store.database import ResultsStore

    config = inputs.config
    embedder = CachingEmbedder(config.embed, ResultsStore(config.store.database))
    codebook = inputs.codebook
    prototype_training_set(codebook, codebook.leaves(), embedder)
    keyword_hits(["spaCy imported before the first timed step"], codebook, [])


def classify(inputs: RunInputs, run: RunFolder) -> tuple[float, float, PeakMemory]:
    """Time the code step (its files go into the run folder); the share coded.

    Returns:
        Seconds, the share of segments coded, and the step's memory.
    """
    # heavy: kept out of start-up
    from pipeline.coding.run_auto_codes import read_assigned
    from pipeline.steps.code import run_code_step

    release_memory()
    started = time.perf_counter()
    with PeakMemory() as memory:
        run_code_step(inputs, run, run)
    seconds = time.perf_counter() - started
    assigned, _ = read_assigned(run)
    coded = assigned["segment_id"].nunique() / run.segments().num_rows
    return seconds, round(float(coded), 4), memory


def compare(
    inputs: RunInputs, run: RunFolder
) -> tuple[float, dict[str, float], PeakMemory]:
    """Time the comparison; pooled and mean per-code kappa at segments; its memory."""
    # heavy: kept out of start-up
    from pipeline.agreement.metrics import POOLED
    from pipeline.agreement.run_comparison import compare_run
    from pipeline.outputs.run_tables import read_output_csv

    release_memory()
    started = time.perf_counter()
    with PeakMemory() as memory:
        compare_run(
            run.path,
            inputs.config,
            codebook=inputs.codebook,
            codebook_path=inputs.codebook_path,
            codes_path=inputs.codes_path,
            out_dir=run.path,
        )
    seconds = time.perf_counter() - started
    table = read_output_csv(run.file("agreement.csv"))
    table = table[table["unit"] == "segments"]
    per_code = table[table["code"] != POOLED]["kappa"]
    return (
        seconds,
        {
            "pooled kappa": float(table[table["code"] == POOLED]["kappa"].iloc[0]),
            "mean per-code kappa": float(per_code.fillna(0.0).mean()),
        },
        memory,
    )


def export(inputs: RunInputs, run: RunFolder) -> float:
    """Time the outputs (report, workbook, prevalence, REFI-QDA project)."""
    # heavy: kept out of start-up
    from pipeline.io.codes.records import assignments_from_table
    from pipeline.outputs.export import export_run
    from pipeline.store import run_files
    from pipeline.store.manifest import build_manifest, utc_now

    n = run.segments(columns=["segment_id"]).num_rows
    coded = {k: v for k, v in run.classifier().items() if k != "thresholds"}
    manifest = build_manifest(
        run_id=f"classify-scale-{n}",
        config=inputs.config,
        corpus=str(inputs.config.ingest.corpus),
        started_at=utc_now(),
        ingest={},
        counts={"documents": n, "segments": n},
        timings={},
        extra={"classify": coded, "status": "completed", "reused": {}, "inputs": {}},
    )
    run.write_json(run_files.MANIFEST, manifest)
    started = time.perf_counter()
    export_run(
        run.path,
        codebook=inputs.codebook,
        human_codes=assignments_from_table(run.read_parquet(run_files.HUMAN_CODES)),
        csv_encoding=inputs.config.store.csv_encoding,
    )
    return time.perf_counter() - started


def predict_seconds(run: RunFolder, fitted) -> float:
    """Time a trained model's scoring of every segment (features, scores, codes)."""
    texts = run.segments(columns=["text"]).column("text").to_pylist()
    embeddings = run.read_embeddings(n_rows=len(texts))
    features, classifier = fitted
    started = time.perf_counter()
    scores = classifier.score_codes(features.transform(embeddings, texts=texts))
    classifier.predict_indicator(None, scores)
    return time.perf_counter() - started


def train_model(run: RunFolder, inputs: RunInputs, n_train: int = 3000):
    """A supervised model as ``themes train`` fits one, on keyword matches."""
    # heavy: kept out of start-up
    from pipeline.coding.features import FeatureBuilder
    from pipeline.coding.keywords import keyword_hits
    from pipeline.coding.supervised import SupervisedClassifier

    texts = run.segments(columns=["text"]).column("text").to_pylist()[:n_train]
    embeddings = run.read_embeddings(n_rows=run.segments().num_rows)[:n_train]
    codebook = inputs.codebook
    labels = keyword_hits(texts, codebook, codebook.leaves())
    labels = labels[:, labels.sum(axis=0) >= 8]
    features = FeatureBuilder(tfidf=True).fit(embeddings, texts=texts)
    classifier = SupervisedClassifier(cv=3).fit(
        features.transform(embeddings, texts=texts), labels
    )
    return features, classifier


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    small, large = (int(s) for s in args.sizes.split(","))
    results = Results("classify_scale")
    vectors: dict[str, np.ndarray] = {}
    seconds: dict[tuple[str, int], float] = {}
    memory: dict[tuple[str, int], PeakMemory] = {}
    quality: dict[tuple[str, int], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        model = None
        for n in (small, large):
            folder = Path(tmp) / f"n{n}"
            run = build_run(n, folder, vectors)
            corpus = folder / "comments.csv"
            for fit, classify_settings in (
                ("from zero", {"keyword_warm_start_rows": None}),
                ("warm-started", {}),
            ):
                inputs = resolve_run_inputs(
                    make_config(folder, corpus, **classify_settings)
                )
                warm_prototypes(inputs)
                took, share_coded, used = classify(inputs, run)
                seconds[(f"classify ({fit})", n)] = took
                memory[(f"classify ({fit})", n)] = used
                took, kappas, used = compare(inputs, run)
                seconds[("compare", n)] = took
                memory[("compare", n)] = used
                quality[(fit, n)] = kappas | {"share coded": share_coded}
                print(f"  {n:,} {fit}: {quality[(fit, n)]}", flush=True)
            seconds[("outputs", n)] = export(inputs, run)
            if model is None:
                model = train_model(run, inputs)
            seconds[("predict (trained model)", n)] = predict_seconds(run, model)
            print(
                f"  {n:,}: "
                + ", ".join(
                    f"{k}: {v:.1f} s" for (k, m), v in seconds.items() if m == n
                ),
                flush=True,
            )
            for (name, m), used in memory.items():
                if m == n:
                    print(
                        f"  {n:,} {name}: peak {used.peak_gb:.2f} GB, "
                        f"growth {used.growth / 2**30:.2f} GB",
                        flush=True,
                    )
    steps = dict.fromkeys(name for name, _ in seconds)
    for name in steps:
        results.add(
            Figure(f"{name}: wall time at {large:,}", seconds[(name, large)], "s")
        )
    for name in steps:
        results.add(
            Figure(
                f"{name}: time per segment at {large:,} vs at {small:,}",
                seconds[(name, large)] / large * 1000,
                "ms/segment",
                f"at {small:,}",
                seconds[(name, small)] / small * 1000,
                higher_is_better=False,
            )
        )
    for name, n in memory:
        if n != large:
            continue
        used = memory[(name, n)]
        results.add(
            Figure(
                f"{name}: peak memory at {large:,}",
                used.peak_gb,
                "GB",
                f"at {small:,}",
                memory[(name, small)].peak_gb,
                higher_is_better=False,
            )
        )
        results.add(
            Figure(
                f"{name}: memory growth during the step at {large:,}",
                used.growth / 2**30,
                "GB",
                f"at {small:,}",
                memory[(name, small)].growth / 2**30,
                higher_is_better=False,
            )
        )
    for n in (small, large):
        for measure, value in quality[("warm-started", n)].items():
            results.add(
                Figure(
                    f"{measure} at {n:,} (keyword models warm-started)",
                    value,
                    "",
                    "from zero",
                    quality[("from zero", n)][measure],
                )
            )
    results.note(
        f"{len(vectors):,} distinct comments embedded once and reused; "
        "classify's times include writing its tables (Parquet and CSV)"
    )
    results.save()


if __name__ == "__main__":
    main()
