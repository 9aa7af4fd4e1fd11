"""Refresh the README's table of headline figures from ``benchmarks/out/*.json``.

The table sits between ``<!-- headline:start -->`` and ``<!-- headline:end -->``
in the README; every figure in it is a line of ``benchmarks/results.md`` (same
script, same figure name), with the baseline measured in the same run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import OUT, ROOT  # noqa: E402

START, END = "<!-- headline:start -->", "<!-- headline:end -->"

# (label in the README, script, figure name in results.md, baseline label or None)
ROWS = [
    (
        "Supervised, real think-aloud transcripts, leave one transcript out: "
        "mean per-code kappa at turns, each segment in its context",
        "agreement_real",
        "think-aloud, trainable codes, supervised, per segment in context: "
        "mean per-code kappa, turns",
        "best baseline",
    ),
    (
        "... at sentence segments",
        "agreement_real",
        "think-aloud, trainable codes, supervised, per segment in context: "
        "mean per-code kappa, segments",
        "best baseline",
    ),
    (
        "Zero-shot from the codebook's definitions, think-aloud: "
        "mean per-code kappa at turns (all 22 codes)",
        "agreement_real",
        "think-aloud, zero-shot: mean per-code kappa, turns",
        None,
    ),
    (
        "Zero-shot from definitions, World after Covid interviews: "
        "mean per-code kappa at answers (60 themes)",
        "world_after_covid",
        "World after Covid, zero-shot: mean per-code kappa, documents",
        None,
    ),
    (
        "Supervised, World after Covid, 5 folds by expert, per answer: "
        "mean per-code kappa at answers",
        "world_after_covid",
        "World after Covid, themes on >= 8 answers, supervised, per document: "
        "mean per-code kappa, documents",
        "best baseline",
    ),
    (
        "Knowledge sources in interviews never seen by the rules: mention recall",
        "network_extraction",
        "unseen: mention recall",
        None,
    ),
    (
        "... precision",
        "network_extraction",
        "unseen: mention precision",
        None,
    ),
    (
        "... kind accuracy",
        "network_extraction",
        "unseen: kind accuracy",
        None,
    ),
    (
        "Supervised classifier, real NHS feedback, 5-fold CV by respondent: micro-F1",
        "classify_nhs_feedback",
        "supervised_embeddings_tfidf: micro_f1",
        "TF-IDF + LinearSVC",
    ),
    (
        "... macro-F1",
        "classify_nhs_feedback",
        "supervised_embeddings_tfidf: macro_f1",
        "TF-IDF + LinearSVC",
    ),
    (
        "... mean per-label Cohen's kappa",
        "classify_nhs_feedback",
        "supervised_embeddings_tfidf: mean_kappa",
        "TF-IDF + LinearSVC",
    ),
    (
        "Zero-shot from the codebook (no human codes): micro-F1",
        "classify_nhs_feedback",
        "zero_shot: micro_f1",
        "codebook keywords alone",
    ),
    (
        "... macro-F1",
        "classify_nhs_feedback",
        "zero_shot: macro_f1",
        "codebook keywords alone",
    ),
    (
        "Embedding engine (fp32 ONNX, the default), MiniLM, texts/s",
        "embed_throughput",
        "all-MiniLM-L6-v2 onnx backend, 4,219 distinct comments",
        "bare SentenceTransformer.encode",
    ),
    (
        "... int8 engine (SmoothQuant, `onnx-int8`; not the default), texts/s",
        "embed_throughput",
        "all-MiniLM-L6-v2 onnx-int8 backend, 4,219 distinct comments",
        "bare SentenceTransformer.encode",
    ),
    (
        "Embedding step of a run (dedup + cache), 20,000 comments, segments/s",
        "embed_throughput",
        "pipeline embedding step (onnx, dedup + cache), 20,000 comments",
        "bare SentenceTransformer.encode",
    ),
    (
        "Rerun with one new interview (50 transcripts), s",
        "incremental",
        "rerun with one new transcript",
        "full run",
    ),
    (
        "Rerun with nothing new into a new folder (every step reused), s",
        "incremental",
        "rerun with nothing new, new folder (every step reused, report written)",
        "full run",
    ),
    (
        "Rerun with nothing new into the same folder (up to date), s",
        "incremental",
        "rerun with nothing new, same folder (up to date: nothing run)",
        "target",
    ),
    (
        "Peak memory, 100,000 segments end to end, GB",
        "scale",
        "peak memory, whole run",
        "target",
    ),
    (
        "Wall time, 100,000 segments end to end, s",
        "scale",
        "whole run (process start to exit)",
        "target",
    ),
    (
        "Wall time, 1,000,000 segments on a local Dask cluster (3 workers), s",
        "scale_dask",
        "whole run (process start to exit)",
        "the 100,000 target grown linearly",
    ),
    (
        "Peak memory, 1,000,000 segments: the flow's process, GB",
        "scale_dask",
        "peak memory of the largest themes run process",
        "",
    ),
    (
        "Peak memory, 1,000,000 segments: the largest worker (or the workbook's), GB",
        "scale_dask",
        "peak memory of the largest Dask worker process",
        "",
    ),
]


def figure(script: str, name: str) -> dict | None:
    path = OUT / f"{script}.json"
    if not path.is_file():
        return None
    for item in json.loads(path.read_text())["figures"]:
        if item["name"] == name:
            return item
    return None


def fmt(value: float) -> str:
    if abs(value) < 1:
        return f"{value:.4f}"
    if abs(value) < 10:
        return f"{value:.2f}"
    return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def table() -> list[str]:
    lines = [
        START,
        "",
        "| figure | value | baseline (same run) | baseline value | ratio |",
        "|---|---:|---|---:|---:|",
    ]
    for label, script, name, baseline in ROWS:
        item = figure(script, name)
        if item is None:
            continue
        value = fmt(item["value"])
        if baseline and item.get("baseline_value") is not None:
            if baseline == "best baseline":  # the better of the two, named
                baseline = f"best of two baselines: {item['baseline_name']}"
            lines.append(
                f"| {label} | {value} | {baseline} | {fmt(item['baseline_value'])} "
                f"| {item['ratio']:.2f} |"
            )
        else:
            lines.append(f"| {label} | {value} | | | |")
    return lines + [
        "",
        "From [`benchmarks/results.md`](benchmarks/results.md), "
        "written by `make bench` "
        "([scripts and what they measure](benchmarks/README.md)).",
        "",
        END,
    ]


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + "\n".join(table()) + after
    readme.write_text(text)
    print("README headline table refreshed")


if __name__ == "__main__":
    main()
