"""Knowledge-source extraction: quality against hand annotations, and speed.

Quality, on four hand-annotated sets of interviews (gold written before the
extractor was run on them):

- ``examples``: the 12 synthetic NHS manager interviews,
  ``examples/nhs_managers/knowledge_sources_gold.csv``; the rules were
  developed on them;
- ``dev``: ``tests/data/network/dev/`` (a community mental health manager,
  an estates manager, a consultant midwife in other trusts); rules were
  revised after looking at its errors;
- ``held-out``: ``tests/data/network/holdout/`` (finance, a mental health
  matron, ambulance operations); first measured untouched, then its errors
  were looked at too (docs/networks.md gives both figures);
- ``test``: ``tests/data/network/test/`` (imaging, pharmacy, a cancer
  division), written after the rules were first frozen, measured once, then
  its errors were looked at too;
- ``unseen``: ``tests/data/network/unseen/`` (community services,
  procurement, theatres), written and annotated after the last change to
  the rules and gazetteer: the figure for unseen interviews.

Figures: mention recall and precision (a kept mention matches a gold mention
when they overlap), kind and scope accuracy on matched mentions, and how many
gold *rejected* mentions ("I don't use the intranet") were kept anyway.

Speed: the network step's extraction against segmenting the same corpus
(``segment_transcripts``), both in this process, each loading its own spaCy
pipeline; and seconds per segment on the corpus copied 1x, 2x and 4x (the
step should grow linearly). Run: ``.venv/bin/python benchmarks/network_extraction.py``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import ROOT, Figure, Results  # noqa: E402
from pipeline.config.analysis import SegmentConfig  # noqa: E402
from pipeline.config.inputs import IngestConfig  # noqa: E402
from pipeline.config.network import NetworkConfig  # noqa: E402
from pipeline.io.ingest import ingest_corpus  # noqa: E402
from pipeline.network.extract import extract_knowledge_sources  # noqa: E402
from pipeline.network.gazetteer import load_gazetteer  # noqa: E402
from pipeline.network.mentions import MentionFinder, load_parser  # noqa: E402
from pipeline.text.segment import load_sentence_splitter, segment_transcripts  # noqa: E402

SETS = {
    "examples": (
        ROOT / "examples" / "nhs_managers",
        ROOT / "examples" / "nhs_managers" / "knowledge_sources_gold.csv",
    ),
    "dev": (
        ROOT / "tests" / "data" / "network" / "dev",
        ROOT / "tests" / "data" / "network" / "dev_gold.csv",
    ),
    "held-out": (
        ROOT / "tests" / "data" / "network" / "holdout",
        ROOT / "tests" / "data" / "network" / "holdout_gold.csv",
    ),
    "test": (
        ROOT / "tests" / "data" / "network" / "test",
        ROOT / "tests" / "data" / "network" / "test_gold.csv",
    ),
    "unseen": (
        ROOT / "tests" / "data" / "network" / "unseen",
        ROOT / "tests" / "data" / "network" / "unseen_gold.csv",
    ),
}


@dataclass(frozen=True)
class Quality:
    """Agreement of the kept mentions with a gold file."""

    recall: float
    precision: float
    kind_accuracy: float
    scope_accuracy: float
    rejected_kept: int
    n_rejected: int
    n_gold: int
    n_kept: int


def evaluate(sources: pd.DataFrame, gold: pd.DataFrame, texts: dict) -> Quality:
    """Compare kept mentions with gold mentions by overlap."""
    for row in gold.itertuples():
        if texts[row.document_id][row.start : row.end] != row.mention:
            raise SystemExit(f"gold offsets wrong: {row.document_id} {row.start}")
    positive = gold[gold["rejected"] == 0]
    rejected = gold[gold["rejected"] == 1]

    def overlapping(row, table):
        same = table[table["document_id"] == row.document_id]
        return same[(same["start"] < row.end) & (row.start < same["end"])]

    found = kind_ok = scope_ok = 0
    for row in positive.itertuples():
        hits = overlapping(row, sources)
        if len(hits):
            found += 1
            kind_ok += hits.iloc[0]["kind"] == row.kind
            scope_ok += hits.iloc[0]["scope"] == row.scope
    right = rejected_kept = 0
    for row in sources.itertuples():
        if len(overlapping(row, positive)):
            right += 1
        elif len(overlapping(row, rejected)):
            rejected_kept += 1
    return Quality(
        recall=found / max(len(positive), 1),
        precision=right / max(len(sources), 1),
        kind_accuracy=kind_ok / max(found, 1),
        scope_accuracy=scope_ok / max(found, 1),
        rejected_kept=rejected_kept,
        n_rejected=len(rejected),
        n_gold=len(positive),
        n_kept=len(sources),
    )


def copies(transcripts, n: int):
    """The corpus ``n`` times over, with new document ids."""
    return [
        replace(t, document_id=f"{t.document_id}_{k}")
        for k in range(n)
        for t in transcripts
    ]


def main() -> None:
    results = Results("network_extraction")
    config = NetworkConfig()
    gazetteer = load_gazetteer(config.gazetteer_path)
    segment_config = SegmentConfig()
    for name, (corpus, gold_path) in SETS.items():
        transcripts = ingest_corpus(IngestConfig(), corpus).transcripts
        texts = {t.document_id: t.text for t in transcripts}
        started = time.perf_counter()
        segments = segment_transcripts(transcripts, segment_config)
        segment_seconds = time.perf_counter() - started
        started = time.perf_counter()
        finder = MentionFinder(load_parser(config.spacy_model), gazetteer)
        found = extract_knowledge_sources(
            segments, finder=finder, min_score=config.min_score
        )
        network_seconds = time.perf_counter() - started
        quality = evaluate(found.sources, pd.read_csv(gold_path), texts)
        results.add(Figure(f"{name}: mention recall", quality.recall, "share"))
        results.add(Figure(f"{name}: mention precision", quality.precision, "share"))
        results.add(Figure(f"{name}: kind accuracy", quality.kind_accuracy, "share"))
        results.add(Figure(f"{name}: scope accuracy", quality.scope_accuracy, "share"))
        results.add(
            Figure(
                f"{name}: rejected mentions kept",
                quality.rejected_kept,
                f"of {quality.n_rejected}",
                higher_is_better=False,
            )
        )
        results.note(
            f"{name}: {quality.n_gold} gold mentions, {quality.n_kept} kept, "
            f"{segments.num_rows} segments"
        )
        results.add(
            Figure(
                f"{name}: network step time",
                network_seconds,
                "s",
                baseline_name="segmenting the same corpus",
                baseline_value=segment_seconds,
                higher_is_better=False,
            )
        )
    # linear growth: seconds per segment, parser loaded once
    transcripts = ingest_corpus(IngestConfig(), SETS["examples"][0]).transcripts
    splitter = load_sentence_splitter(segment_config.spacy_model)
    finder = MentionFinder(load_parser(config.spacy_model), gazetteer)
    per_segment = {}
    for n in (1, 2, 4):
        segments = segment_transcripts(
            copies(transcripts, n), segment_config, nlp=splitter
        )
        started = time.perf_counter()
        extract_knowledge_sources(segments, finder=finder, min_score=config.min_score)
        per_segment[n] = (time.perf_counter() - started) / segments.num_rows
    results.add(
        Figure(
            "seconds per segment, corpus x4",
            per_segment[4] * 1000,
            "ms",
            baseline_name="corpus x1",
            baseline_value=per_segment[1] * 1000,
            higher_is_better=False,
            note="a ratio near 1 is linear growth",
        )
    )
    results.save()


if __name__ == "__main__":
    main()
