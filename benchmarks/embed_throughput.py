"""Embedding throughput: the pipeline's embedding step against a bare encoder.

The bare encoder is SentenceTransformer.encode.

Texts: 20,000 real comments resampled (fixed seed) from the NHS feedback file,
which holds about 6,000 distinct non-empty comments. Figures, each against the
bare encoder on the same texts in the same process:

- the pipeline's embedding step on the 20,000 (deduplication and the cache
  included, as a run would do it), with the default backend;
- each backend on the distinct comments only (the engine, no deduplication
  gain), with its mean and minimum cosine to the torch vectors;
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
from pipeline.store.database import ResultsStore  # noqa: E402

N_TEXTS = 20_000
BATCH = 64


def bare_encode(model, texts):
    started = time.perf_counter()
    vectors = model.encode(
        texts, batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False
    )
    return vectors, time.perf_counter() - started


def main() -> None:
    from sentence_transformers import SentenceTransformer

    results = Results("embed_throughput")
    comments = feedback_comments()
    rng = np.random.default_rng(0)
    texts = [comments[i] for i in rng.integers(0, len(comments), N_TEXTS)]
    distinct = sorted(set(comments))
    results.note(
        f"{len(texts):,} resampled comments, {len(set(texts)):,} distinct; "
        f"engine figures on {len(distinct):,} distinct comments"
    )
    bare = SentenceTransformer(
        str(resolve_model("all-MiniLM-L6-v2", allow_download=False).path), device="cpu"
    )
    bare.encode(distinct[:64], batch_size=BATCH)  # warm-up

    default = EmbedConfig()
    with tempfile.TemporaryDirectory() as tmp:
        embedders = {
            name: make_embedder(
                EmbedConfig(backend=name, onnx_cache_dir=ONNX_CACHE, batch_size=BATCH)
            )
            for name in ("sentence-transformers", "onnx", "onnx-int8")
        }
        for embedder in embedders.values():
            embedder.embed(distinct[:64])  # warm-up (and export)

        # 1. The engines on distinct texts, interleaved with the bare encoder.
        torch_vectors, _ = bare_encode(bare, distinct)
        for name, embedder in embedders.items():
            base_vectors, base_seconds = bare_encode(bare, distinct)
            started = time.perf_counter()
            vectors = embedder.embed(distinct)
            seconds = time.perf_counter() - started
            cosine = (vectors * torch_vectors).sum(axis=1)
            results.add(
                Figure(
                    f"{name} backend, distinct comments",
                    len(distinct) / seconds,
                    "texts/s",
                    "bare SentenceTransformer.encode",
                    len(distinct) / base_seconds,
                    note=(
                        f"cosine to torch vectors: mean {cosine.mean():.4f}, "
                        f"min {cosine.min():.4f}, "
                        f"p1 {np.percentile(cosine, 1):.4f}"
                    ),
                )
            )
            results.note(
                f"{name}: cosine to torch mean {cosine.mean():.4f}, "
                f"min {cosine.min():.4f}, "
                f"1st percentile {np.percentile(cosine, 1):.4f}"
            )

        # 2. The pipeline's embedding step (default backend) on all 20,000 texts.
        store = ResultsStore(Path(tmp) / "themes.duckdb")
        embedder = embedders[default.backend]
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
