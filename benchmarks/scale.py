"""Scale: 100,000 segments (resampled real comments) through the pipeline on this machine.

Steps, each timed, with the peak resident memory of the process (and its
children) during the step: ingest of a 100,000-row CSV, segmentation into
sentences, embedding (default backend, empty cache: every distinct text is
embedded once), topics (lemmas, UMAP, HDBSCAN, BERTopic words, charts), and the
store writes. Target: peak memory under 6 GB.

The resampled comments repeat (the file holds about 6,000 distinct ones), so
the embedding step embeds each distinct text once: the figure says how many.
Run with ``--n 20000`` for a quicker look.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import FEEDBACK_CSV, Figure, PeakMemory, Results  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()

    from pipeline.config import load_config
    from pipeline.embed import embed_texts, make_embedder
    from pipeline.ingest import ingest_corpus
    from pipeline.records import segment_metadata, transcripts_to_table
    from pipeline.segment import segment_transcripts
    from pipeline.store import ResultsStore
    from pipeline.topics import model_topics

    results = Results("scale")
    source = pd.read_csv(FEEDBACK_CSV, dtype=str, keep_default_na=False)
    source = source[source["FFT answer"].str.strip() != ""]
    rng = np.random.default_rng(0)
    sample = source.iloc[rng.integers(0, len(source), args.n)].reset_index(drop=True)
    sample["Comment ID"] = [f"c{i:06d}" for i in range(len(sample))]
    seconds: dict[str, float] = {}
    peaks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "comments.csv"
        sample[["Comment ID", "Trust", "Service type 1", "FFT answer"]].to_csv(table, index=False)
        config = load_config(
            overrides={
                "ingest.id_column": "Comment ID",
                "ingest.text_column": "FFT answer",
                "segment.unit": "sentence",
                "embed.onnx_cache_dir": str(Path(tmp) / "onnx"),
                "topics.model_dir": str(Path(tmp) / "models"),
            }
        )
        store = ResultsStore(Path(tmp) / "themes.duckdb")

        def step(name, function):
            started = time.perf_counter()
            with PeakMemory() as memory:
                value = function()
            seconds[name] = time.perf_counter() - started
            peaks[name] = memory.peak_gb
            print(f"{name}: {seconds[name]:.1f} s, peak {peaks[name]:.2f} GB", flush=True)
            return value

        ingested = step("ingest", lambda: ingest_corpus(config.ingest, table))
        segments = step("segment", lambda: segment_transcripts(ingested.transcripts, config.segment))
        texts = segments.column("text").to_pylist()
        embedder = make_embedder(config.embed)
        embedded = step("embed", lambda: embed_texts(texts, embedder, cache=store))
        documents = transcripts_to_table(list(ingested.transcripts))

        def store_all():
            store.save_documents(documents, run_id="scale")
            hashes = dict(zip(documents["document_id"].to_pylist(), documents["content_hash"].to_pylist(), strict=True))
            store.save_segments(segments, content_hashes=hashes, settings_hash=config.section_hash("segment"))

        step("store", store_all)
        metadata = segment_metadata(segments, documents)
        topics = step(
            "topics",
            lambda: model_topics(
                segments["segment_id"].to_pylist(), texts, embedded.vectors, metadata,
                config.topics, random_state=42, embedder=embedder,
            ),
        )
    total = sum(seconds.values())
    results.note(
        f"{len(ingested.transcripts):,} comments, {segments.num_rows:,} sentence segments, "
        f"{embedded.n_embedded:,} distinct texts embedded ({config.embed.backend}), "
        f"{int((topics.topics['topic'] >= 0).sum())} topics: {topics.modeler.message_}"
    )
    for name in seconds:
        results.add(Figure(f"{name}: wall time", seconds[name], "s", higher_is_better=False))
        results.add(Figure(f"{name}: peak memory", peaks[name], "GB", higher_is_better=False))
    results.add(Figure("total wall time", total, "s", higher_is_better=False))
    results.add(
        Figure("peak memory, whole run", max(peaks.values()), "GB", "target", 6.0, higher_is_better=False)
    )
    results.add(Figure("segments", segments.num_rows, "segments"))
    results.save()


if __name__ == "__main__":
    main()
