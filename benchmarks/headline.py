"""Refresh the README's table of headline figures from ``benchmarks/out/*.json``.

The table sits between ``<!-- headline:start -->`` and ``<!-- headline:end -->``
in the README; every figure in it is a line of ``benchmarks/results.md``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import OUT, ROOT  # noqa: E402

START, END = "<!-- headline:start -->", "<!-- headline:end -->"


def figure(script: str, name: str) -> dict | None:
    path = OUT / f"{script}.json"
    if not path.is_file():
        return None
    for item in json.loads(path.read_text())["figures"]:
        if item["name"] == name:
            return item
    return None


ROWS = [
    (
        "Supervised classifier on real NHS feedback (5-fold CV by respondent): micro-F1",
        "classify_nhs_feedback",
        "supervised_embeddings_tfidf: micro_f1",
        "value",
    ),
    (
        "... macro-F1",
        "classify_nhs_feedback",
        "supervised_embeddings_tfidf: macro_f1",
        "value",
    ),
    (
        "... mean per-label kappa",
        "classify_nhs_feedback",
        "supervised_embeddings_tfidf: mean_kappa",
        "value",
    ),
    (
        "TF-IDF + LinearSVC baseline, same folds: micro-F1",
        "classify_nhs_feedback",
        "tfidf_linearsvc: micro_f1",
        "value",
    ),
    (
        "Zero-shot from the codebook (no labels): micro-F1",
        "classify_nhs_feedback",
        "zero_shot: micro_f1",
        "value",
    ),
    (
        "Embedding step vs bare SentenceTransformer.encode (segments/s ratio)",
        "embed_throughput",
        "pipeline embedding step (onnx, dedup + cache), 20,000 comments",
        "ratio",
    ),
    (
        "Rerun with one new interview, share of a full run (50 transcripts)",
        "incremental",
        "rerun with one new transcript",
        "ratio",
    ),
    (
        "Run with nothing new (start-up, Prefect), seconds",
        "incremental",
        "rerun with nothing new (fixed cost: start-up, Prefect)",
        "value",
    ),
    ("Peak memory at 100,000 segments, GB", "scale", "peak memory, whole run", "value"),
]


def main() -> None:
    lines = [START, "", "| figure | value |", "|---|---:|"]
    for label, script, name, field in ROWS:
        item = figure(script, name)
        if item is None or item.get(field) is None:
            continue
        value = item[field]
        lines.append(f"| {label} | {value:.2f} |")
    lines += [
        "",
        "From [`benchmarks/results.md`](benchmarks/results.md), written by `make bench` "
        "([scripts](benchmarks/)).",
        "",
        END,
    ]
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + "\n".join(lines) + after
    readme.write_text(text)
    print("README headline table refreshed")


if __name__ == "__main__":
    main()
