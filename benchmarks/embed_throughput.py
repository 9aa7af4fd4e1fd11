"""Embedding throughput: the pipeline's embedding step against a bare encoder.

The bare encoder is SentenceTransformer.encode.

Texts: 20,000 real comments resampled (fixed seed) from the NHS feedback file,
which holds about 6,000 distinct non-empty comments. Figures, each against the
bare encoder on the same texts in the same process:

- the pipeline's embedding step on the 20,000 (deduplication and the cache
  included, as a run would do it), with the default backend;
- each backend (``onnx``, and ``onnx-int8``: the calibrated SmoothQuant int8
  graph, fused by onnxruntime's transformer optimizer for MiniLM) on distinct
  comments only (the engine, no deduplication gain), for
  each model installed (MiniLM always; all-mpnet-base-v2 after ``make mpnet``,
  on a seeded sample of 300), with its mean, minimum and 1st-percentile
  cosine to the torch vectors. The comments exclude the calibration text
  (``pipeline/embed/calibration.txt``), so the cosines are held out; each
  speed ratio is the median of three rounds, each round timing the bare
  encoder just before the backend;
- a rerun with nothing new: how many texts it embeds and how long it takes.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import (  # noqa: E402
    ONNX_CACHE,
    Figure,
    Results,
    feedback_comments,
)
from pipeline.config.analysis import EmbedConfig  # noqa: E402
from pipeline.embed.cache import embed_texts  # noqa: E402
from pipeline.embed.model_files import resolve_model  # noqa: E402
from pipeline.embed.registry import make_embedder  # noqa: E402
from pipeline.embed.smoothquant import read_calibration_texts  # noqa: E402
from pipeline.errors import ConfigError  # noqa: E402
from pipeline.store.database import ResultsStore  # noqa: E402

N_TEXTS = 20_000
BATCH = 64
ROUNDS = 3
MODELS = {"all-MiniLM-L6-v2": None, "all-mpnet-base-v2": 300}
"""The models measured, and how many distinct comments (None: all)."""


def bare_encode(model, texts):
    started = time.perf_counter()
    vectors = model.encode(
        texts, batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False
    )
    return vectors, time.perf_counter() - started


def measure_engines(
    model_name: str, model_dir: Path, texts: list[str], results: Results
) -> None:
    """Speed ratio to the bare encoder and cosine to its vectors, per backend."""
    from sentence_transformers import SentenceTransformer

    bare = SentenceTransformer(str(model_dir), device="cpu")
    bare.encode(texts[:64], batch_size=BATCH)  # warm-up
    torch_vectors, _ = bare_encode(bare, texts)
    for backend in ("onnx", "onnx-int8"):
        embedder = make_embedder(
            EmbedConfig(
                backend=backend,
                model=model_name,
                onnx_cache_dir=ONNX_CACHE,
                batch_size=BATCH,
            )
        )
        embedder.embed(texts[:64])  # warm-up (and export, calibration)
        rates, base_rates = [], []
        for _ in range(ROUNDS):
            _, base_seconds = bare_encode(bare, texts)
            started = time.perf_counter()
            vectors = embedder.embed(texts)
            rates.append(len(texts) / (time.perf_counter() - started))
            base_rates.append(len(texts) / base_seconds)
        ratio = float(np.median(np.array(rates) / np.array(base_rates)))
        cosine = (vectors * torch_vectors).sum(axis=1)
        cosines = (
            f"cosine to torch vectors: mean {cosine.mean():.4f}, "
            f"min {cosine.min():.4f}, p1 {np.percentile(cosine, 1):.4f}"
        )
        results.add(
            Figure(
                f"{model_name} {backend} backend, {len(texts):,} distinct comments",
                float(np.median(rates)),
                "texts/s",
                "bare SentenceTransformer.encode",
                float(np.median(base_rates)),
                note=f"median ratio of {ROUNDS} rounds {ratio:.2f}; {cosines}",
            )
        )
        results.note(
            f"{model_name} {backend}: speed ratio per round "
            f"{[round(r / b, 2) for r, b in zip(rates, base_rates, strict=True)]}, "
            f"median {ratio:.2f}; {cosines}"
        )
        del embedder


def main() -> None:
    from sentence_transformers import SentenceTransformer

    results = Results("embed_throughput")
    comments = feedback_comments()
    rng = np.random.default_rng(0)
    texts = [comments[i] for i in rng.integers(0, len(comments), N_TEXTS)]
    calibration = set(read_calibration_texts())
    held_out = sorted(
        {text for text in comments if " ".join(text.split()) not in calibration}
    )
    results.note(
        f"{len(texts):,} resampled comments, {len(set(texts)):,} distinct; "
        f"engine figures on {len(held_out):,} distinct comments not in the "
        "calibration text"
    )
    default = EmbedConfig()
    with tempfile.TemporaryDirectory() as tmp:
        # 1. The engines on distinct texts, each round just after the bare encoder.
        for model_name, n_texts in MODELS.items():
            try:
                model = resolve_model(
                    model_name,
                    allow_download=False,
                    models_dir=ONNX_CACHE.parent / "models",
                )
            except ConfigError:
                results.note(f"{model_name}: not installed, not measured")
                continue
            sample = held_out
            if n_texts is not None:
                picked = np.random.default_rng(0).choice(
                    len(held_out), n_texts, replace=False
                )
                sample = [held_out[i] for i in sorted(picked)]
            measure_engines(model_name, model.path, sample, results)

        # 2. The pipeline's embedding step (default backend) on all 20,000 texts.
        store = ResultsStore(Path(tmp) / "themes.duckdb")
        embedder = make_embedder(
            EmbedConfig(
                backend=default.backend, onnx_cache_dir=ONNX_CACHE, batch_size=BATCH
            )
        )
        bare = SentenceTransformer(
            str(resolve_model(default.model, allow_download=False).path), device="cpu"
        )
        bare.encode(texts[:64], batch_size=BATCH)  # warm-up
        embedder.embed(texts[:64])
        _, base_seconds = bare_encode(bare, texts)
        started = time.perf_counter()
        first = embed_texts(texts, embedder, cache=store)
        seconds = first_seconds = time.perf_counter() - started
        results.add(
            Figure(
                f"pipeline embedding step ({default.backend}, dedup + cache), "
                "20,000 comments",
                len(texts) / seconds,
                "segments/s",
                "bare SentenceTransformer.encode",
                len(texts) / base_seconds,
                note=f"embedded {first.n_embedded:,} distinct texts",
            )
        )

        # 3. A rerun with nothing new.
        started = time.perf_counter()
        again = embed_texts(texts, embedder, cache=store)
        seconds = time.perf_counter() - started
        results.add(
            Figure(
                "rerun with nothing new: texts embedded",
                again.n_embedded,
                "texts",
                higher_is_better=False,
            )
        )
        results.add(
            Figure(
                "rerun with nothing new: time",
                seconds,
                "s",
                "first run",
                first_seconds,
                higher_is_better=False,
            )
        )

    results.save()


if __name__ == "__main__":
    main()
