"""The topic step: its fixed cost in a new process, and its cost at 100,000 segments.

1. **Compiled code kept between processes.** Three child processes fit
   topics (spaCy lemmas, UMAP, HDBSCAN, re-ranked words, every chart) on the
   same ``--small`` real comments, one after the other, with one numba cache
   folder that starts empty: the first compiles, the second should load
   everything from the cache. The third runs as the second did before issue
   20 (UMAP's functions not cached: it compiles them again). Each child
   reports the topic step's seconds and the numba functions of UMAP,
   pynndescent and HDBSCAN it compiled after its imports.
2. **Scale.** ``--n`` comments resampled from the NHS feedback file (the
   same seed as ``scale.py``), embedded once (each distinct text), through
   the whole topic step in this process: with the default ``topics.fit_sample``
   and with every segment clustered (``fit_sample: null``), the baseline.
   Printed: both times, peak memory, and how far the sample's topics are from
   the full fit's (adjusted Rand index over segments with a topic; the share
   of segments in the full fit's topic that best matches theirs; topic counts).

The full fit at 100,000 takes several minutes: run on request
(``run_all.py topic_step``). ``--n 20000 --fit-sample 5000`` is a quicker look.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import (  # noqa: E402
    FEEDBACK_CSV,
    ONNX_CACHE,
    ROOT,
    Figure,
    PeakMemory,
    Results,
)

METADATA = [
    "Trust",
    "Service type 1",
    "Service type 2",
    "FFT categorical answer",
    "FFT question",
    "Comment sentiment",
]
"""Metadata columns (as ``scale.py`` ingests them) for topics per group."""

CHILD = """
import json, sys, time
import numpy as np, pandas as pd
from numba.core import event

import umap, hdbscan  # noqa: F401  (imports are not what is measured)
from pipeline.config.analysis import EmbedConfig, TopicsConfig
from pipeline.embed.registry import make_embedder
import pipeline.topics.numba_cache as numba_cache
from pipeline.topics.run import model_topics

if sys.argv[2] == "uncached":
    numba_cache._done = True  # as before issue 20: UMAP's functions not cached
compiled = []


class Compiled(event.Listener):
    def on_start(self, ev):
        pass

    def on_end(self, ev):
        function = ev.data["dispatcher"].py_func
        if function.__module__.split(".")[0] in ("umap", "pynndescent", "hdbscan"):
            compiled.append(function.__qualname__)


event.register("numba:compile", Compiled())
data = np.load(sys.argv[1] + ".npz", allow_pickle=False)
metadata = pd.read_parquet(sys.argv[1] + ".parquet")
texts = metadata.pop("text").tolist()
embedder = make_embedder(EmbedConfig(onnx_cache_dir=sys.argv[3]))
started = time.perf_counter()
outputs = model_topics(
    [f"s{i}" for i in range(len(texts))], texts, data["embeddings"], metadata,
    TopicsConfig(), random_state=42, embedder=embedder,
)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "compiled": sorted(set(compiled)),
                  "topics": int((outputs.topics["topic"] >= 0).sum())}))
"""


def resampled_comments(
    n: int, *, distinct: bool = False, seed: int = 0
) -> pd.DataFrame:
    """``text`` and metadata of ``n`` comments of the feedback file.

    Args:
        n: Rows.
        distinct: Draw distinct comments (without replacement) instead of
            resampling with replacement as ``scale.py`` does.
        seed: Seed of the draw.
    """
    source = pd.read_csv(FEEDBACK_CSV, dtype=str, keep_default_na=False)
    source = source[source["FFT answer"].str.strip() != ""]
    rng = np.random.default_rng(seed)
    if distinct:
        source = source.drop_duplicates("FFT answer")
        rows = rng.choice(len(source), size=n, replace=False)
    else:
        rows = rng.integers(0, len(source), n)
    sample = source.iloc[rows].reset_index(drop=True)
    return sample[["FFT answer", *METADATA]].rename(columns={"FFT answer": "text"})


def embed(texts: list[str]) -> np.ndarray:
    """Embeddings of the texts (each distinct text embedded once)."""
    from pipeline.config.analysis import EmbedConfig
    from pipeline.embed.registry import make_embedder

    embedder = make_embedder(EmbedConfig(onnx_cache_dir=str(ONNX_CACHE)))
    distinct = list(dict.fromkeys(texts))
    vectors = embedder.embed(distinct)
    index = {text: i for i, text in enumerate(distinct)}
    return vectors[[index[text] for text in texts]].astype(np.float32)


def run_child(data: Path, mode: str, cache: Path) -> dict:
    """One topic fit in a fresh process; its seconds and what numba compiled."""
    env = os.environ | {"NUMBA_CACHE_DIR": str(cache), "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), mode, str(ONNX_CACHE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_fixed_cost(results: Results, n_small: int, tmp: Path) -> None:
    """Part 1: the same small fit in three processes sharing one numba cache."""
    comments = resampled_comments(n_small, distinct=True)
    data = tmp / "small"
    np.savez(data.with_suffix(".npz"), embeddings=embed(comments["text"].tolist()))
    comments.to_parquet(data.with_suffix(".parquet"))
    cache = tmp / "numba"
    first = run_child(data, "cached", cache)
    second = run_child(data, "cached", cache)
    before = run_child(data, "uncached", cache)
    results.note(
        f"{n_small} distinct comments, {second['topics']} topics; compiled by the "
        f"first process: {len(first['compiled'])} functions, by the second: "
        f"{second['compiled'] or 'none'}; by the second without UMAP's cache: "
        f"{len(before['compiled'])}"
    )
    results.add(
        Figure(
            "topic step, second process (numba cache warm)",
            second["seconds"],
            "s",
            "first process (cache empty)",
            first["seconds"],
            higher_is_better=False,
        )
    )
    results.add(
        Figure(
            "topic step, second process",
            second["seconds"],
            "s",
            "second process, UMAP not cached (before issue 20)",
            before["seconds"],
            higher_is_better=False,
        )
    )
    results.add(
        Figure(
            "numba functions compiled again in the second process",
            len(second["compiled"]),
            "functions",
            "compiled in the first",
            len(first["compiled"]),
            higher_is_better=False,
        )
    )


def fit_topics(comments: pd.DataFrame, embeddings: np.ndarray, fit_sample: int | None):
    """The whole topic step in this process; returns outputs, seconds, peak GB."""
    from pipeline.config.analysis import EmbedConfig, TopicsConfig
    from pipeline.embed.registry import make_embedder
    from pipeline.topics.run import model_topics

    embedder = make_embedder(EmbedConfig(onnx_cache_dir=str(ONNX_CACHE)))
    metadata = comments.drop(columns="text")
    with PeakMemory(interval=0.2) as memory:
        started = time.perf_counter()
        outputs = model_topics(
            [f"c{i:06d}" for i in range(len(comments))],
            comments["text"].tolist(),
            embeddings,
            metadata,
            TopicsConfig(fit_sample=fit_sample),
            random_state=42,
            embedder=embedder,
        )
        seconds = time.perf_counter() - started
    return outputs, seconds, memory.peak_gb


def agreement(sample: np.ndarray, full: np.ndarray) -> tuple[float, float]:
    """Adjusted Rand index and the share of segments in the best-matching topic.

    Over segments with a topic in the full fit. The share: each of the
    sample fit's topics is matched to the full fit's topic it overlaps most.
    """
    from sklearn.metrics import adjusted_rand_score

    has_topic = full >= 0
    table = pd.crosstab(sample[has_topic], full[has_topic])
    same = float(table.max(axis=1).sum() / has_topic.sum())
    return float(adjusted_rand_score(full[has_topic], sample[has_topic])), same


def measure_scale(results: Results, n: int, fit_sample: int | None) -> None:
    """Part 2: sample fit against full fit at ``n`` comments."""
    from pipeline.config.analysis import TopicsConfig

    fit_sample = fit_sample or TopicsConfig().fit_sample
    comments = resampled_comments(n)
    embeddings = embed(comments["text"].tolist())
    # warm-up: imports, spaCy and the embedding model loaded, numba cache filled
    fit_topics(comments.iloc[:2000], embeddings[:2000], fit_sample)
    sample, sample_seconds, sample_gb = fit_topics(comments, embeddings, fit_sample)
    full, full_seconds, full_gb = fit_topics(comments, embeddings, None)
    ari, same = agreement(sample.modeler.topics_, full.modeler.topics_)
    count = {
        name: int((outputs.topics["topic"] >= 0).sum())
        for name, outputs in (("sample", sample), ("full", full))
    }
    results.note(f"sample fit: {sample.modeler.message_}")
    results.note(f"full fit: {full.modeler.message_}")
    results.add(
        Figure(
            f"topic step at {n:,} segments, fit_sample {fit_sample:,}",
            sample_seconds,
            "s",
            "every segment clustered",
            full_seconds,
            higher_is_better=False,
        )
    )
    results.add(
        Figure(
            f"peak memory of the process, fit_sample {fit_sample:,}",
            sample_gb,
            "GB",
            "every segment clustered",
            full_gb,
            higher_is_better=False,
        )
    )
    results.add(
        Figure(
            "topics found, sample fit",
            count["sample"],
            "topics",
            "full fit",
            count["full"],
        )
    )
    results.add(Figure("adjusted Rand index, sample fit vs full fit", ari, ""))
    results.add(
        Figure("share of segments in the best-matching full-fit topic", same, "")
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000, help="comments at scale")
    parser.add_argument("--fit-sample", type=int, default=None)
    parser.add_argument("--small", type=int, default=1_000, help="small corpus")
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    results = Results("topic_step")
    with tempfile.TemporaryDirectory() as tmp:
        measure_fixed_cost(results, args.small, Path(tmp))
    if not args.skip_scale:
        measure_scale(results, args.n, args.fit_sample)
    results.save()


if __name__ == "__main__":
    main()
