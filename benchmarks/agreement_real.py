"""Agreement with real human codes, through the whole path.

1. The 17 think-aloud transcripts of ``../shared/data/usability_think_aloud``
   (real usability-test sessions, 1,930 span-level human codes at exact
   character offsets, 22 codes, one coder): ingest (moderator labelled,
   participant speech unlabelled), sentence segments, embeddings, zero-shot
   coding from the 22-code codebook (descriptions only), alignment of the
   human spans, agreement at every unit.
2. ``examples/nhs_feedback`` (1,000 real comments, document-level human
   codes): zero-shot coding from the framework codebook, and the supervised
   classifier's out-of-fold predictions (5 folds grouped by respondent).

Prints alignment coverage, agreement per code and unit, and the time taken.
The think-aloud data are GPL-3.0 and are read where they are, never copied.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import ROOT, THINK_ALOUD, Figure, Results  # noqa: E402


def code_and_compare(config, corpus, codes_path, codebook_path, *, supervised=False):
    from pipeline.agreement.compare import compare_codes
    from pipeline.coding.codebook import load_codebook
    from pipeline.coding.context import context_features
    from pipeline.coding.cross_validation import cross_validate
    from pipeline.coding.zeroshot import ZeroShotCoder
    from pipeline.io.codes.align import align_codes
    from pipeline.io.codes.read import read_codes
    from pipeline.steps.prepare import prepare_corpus

    timings = {}
    started = time.perf_counter()
    prepared = prepare_corpus(config, corpus)
    timings["ingest, segment, embed"] = time.perf_counter() - started
    codebook = load_codebook(codebook_path)
    imported = read_codes(
        codes_path,
        codebook=codebook,
        documents=prepared.texts,
        id_column=config.ingest.id_column,
    )
    codes = codebook.leaves()
    aligned = align_codes(prepared.segments, imported, codes)
    texts = prepared.segments.column("text").to_pylist()
    started = time.perf_counter()
    if supervised:
        groups = prepared.segments.column("document_id").to_pylist()
        if config.classify.group_by:
            from pipeline.coding.train_from_files import _groups

            groups = _groups(prepared, config.classify.group_by)
        labels = aligned.combined("union")
        keep = [
            j
            for j in range(len(codes))
            if labels[:, j].sum() >= config.classify.min_examples
        ]
        codes = [codes[j] for j in keep]
        aligned = align_codes(prepared.segments, imported, codes)
        features = (
            context_features(
                prepared.segments, prepared.embeddings, prepared.embedder.embed
            )
            if config.classify.context
            else prepared.embeddings
        )
        scores, decisions = cross_validate(
            texts, features, labels[:, keep], groups, config.classify
        )
        thresholds = np.full(len(codes), 0.5)
        method = "supervised (out-of-fold" + (
            ", in context)" if config.classify.context else ")"
        )
    else:
        coder = ZeroShotCoder.from_config(
            codebook, prepared.embedder, config.classify
        ).fit(
            texts,
            prepared.embeddings,
            groups=prepared.segments.column("document_id").to_pylist(),
        )
        scores = coder.fit_scores_
        decisions = coder.decide(scores)
        thresholds = coder.thresholds_
        method = "zero-shot"
    timings[f"coding ({method})"] = time.perf_counter() - started
    started = time.perf_counter()
    comparison = compare_codes(
        segments=prepared.segments,
        texts=prepared.texts,
        imported=imported,
        aligned=aligned,
        auto_scores=scores,
        auto_decisions=decisions,
        thresholds=thresholds,
        embeddings=prepared.embeddings,
        codebook=codebook,
        n_boot=200,
    )
    timings["agreement"] = time.perf_counter() - started
    return prepared, imported, aligned, comparison, timings, method


def report(results, label, prepared, imported, aligned, comparison, timings, method):
    results.note(
        f"{label}: {len(prepared.ingest.transcripts)} documents, "
        f"{prepared.segments.num_rows:,} segments; "
        f"human codes used {len(imported.assignments):,}, "
        f"not used {len(imported.unused)}; "
        f"method {method}"
    )
    results.add(
        Figure(
            f"{label}: alignment coverage (share of human spans on a segment)",
            aligned.coverage,
            "",
        )
    )
    table = comparison.agreement
    pooled = table[table["code"] == "(all codes)"]
    for row in pooled.itertuples():
        results.add(
            Figure(
                f"{label}: pooled kappa, {row.unit} ({row.coder_a} vs {row.coder_b})",
                row.kappa,
                "",
            )
        )
        results.add(
            Figure(
                f"{label}: pooled F1, {row.unit} ({row.coder_a} vs {row.coder_b})",
                row.f1,
                "",
            )
        )
    for step, seconds in timings.items():
        results.add(
            Figure(f"{label}: time, {step}", seconds, "s", higher_is_better=False)
        )
    per_code = table[(table["code"] != "(all codes)")][
        ["code", "unit", "prevalence", "kappa", "alpha", "ac1", "f1", "flag"]
    ]
    auto = table[
        (table["code"] != "(all codes)")
        & ((table["coder_a"] == "auto") | (table["coder_b"] == "auto"))
    ]
    for unit, kappas in auto.groupby("unit", sort=False)["kappa"]:
        results.add(Figure(f"{label}: mean per-code kappa, {unit}", kappas.mean(), ""))
    print(per_code.to_string(index=False, max_colwidth=60))
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    per_code.to_csv(out / f"agreement_{label.replace(' ', '_')}.csv", index=False)


def main() -> None:
    from pipeline.config.run import load_config

    results = Results("agreement_real")
    with tempfile.TemporaryDirectory() as tmp:
        think_aloud = load_config(
            overrides={
                "ingest.speakers.interviewer_names": ["MODERATOR"],
                "ingest.speakers.unlabelled_lines": "participant",
                "store.database": str(Path(tmp) / "themes.duckdb"),
            }
        )
        outputs = code_and_compare(
            think_aloud,
            THINK_ALOUD / "transcripts",
            THINK_ALOUD / "codes.csv",
            THINK_ALOUD / "codebook.csv",
        )
        report(results, "think-aloud", *outputs)
        # supervised, leave one transcript out (17 folds), the segment alone
        # and in its context (turn, question)
        for context in (False, True):
            outputs = code_and_compare(
                think_aloud.model_copy(
                    update={
                        "classify": think_aloud.classify.model_copy(
                            update={"context": context, "cv_folds": 17}
                        )
                    }
                ),
                THINK_ALOUD / "transcripts",
                THINK_ALOUD / "codes.csv",
                THINK_ALOUD / "codebook.csv",
                supervised=True,
            )
            report(
                results,
                "think-aloud supervised" + (" in context" if context else ""),
                *outputs,
            )
        feedback = load_config(
            ROOT / "config" / "nhs_feedback.yaml",
            overrides={"store.database": str(Path(tmp) / "themes.duckdb")},
        )
        for supervised, context in ((False, False), (True, False), (True, True)):
            outputs = code_and_compare(
                feedback.model_copy(
                    update={
                        "classify": feedback.classify.model_copy(
                            update={"context": context}
                        )
                    }
                ),
                None,
                ROOT / "examples" / "nhs_feedback" / "feedback.csv",
                ROOT / "config" / "codebooks" / "nhs_feedback.yaml",
                supervised=supervised,
            )
            report(
                results,
                "NHS feedback "
                + ("supervised" if supervised else "zero-shot")
                + (" in context" if context else ""),
                *outputs,
            )
    results.save()


if __name__ == "__main__":
    main()
