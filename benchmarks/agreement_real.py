"""Agreement with real human codes, through the whole path.

1. The 17 think-aloud transcripts of ``../shared/data/usability_think_aloud``
   (real usability-test sessions, 1,930 span-level human codes at exact
   character offsets, 22 codes, one coder): ingest (moderator labelled,
   participant speech unlabelled), sentence segments, embeddings, zero-shot
   coding from the 22-code codebook (descriptions only), alignment of the
   human spans, agreement at every unit.
2. ``examples/nhs_feedback`` (1,000 real comments, document-level human
   codes): zero-shot coding from the framework codebook, and the supervised
   classifier's out-of-fold predictions (5 folds grouped by respondent), cut
   in sentences as a new study's default settings do: per comment (the unit
   the codes were made at, ``classify.unit: auto``) and per sentence.

Each study is coded by the zero-shot coder, the supervised coder as ``themes
train`` builds it (leave-one-transcript-out on the think-aloud set), and the
two baselines measured in the same run (whole-turn MiniLM embeddings and
whole-turn TF-IDF, each with one logistic regression per code); see
``benchmarks/_coders.py``. Prints agreement per unit, the share of segments
each coder codes beside the humans', and the time taken.
The think-aloud data are GPL-3.0 and are read where they are, never copied.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import _coders  # noqa: E402
from benchmarks._harness import ROOT, THINK_ALOUD, Results  # noqa: E402


def main() -> None:
    from pipeline.config.run import load_config

    results = Results("agreement_real")
    with tempfile.TemporaryDirectory() as tmp:
        database = str(Path(tmp) / "themes.duckdb")
        think_aloud = load_config(
            overrides={
                "ingest.speakers.interviewer_names": ["MODERATOR"],
                "ingest.speakers.unlabelled_lines": "participant",
                "store.database": database,
                "classify.cv_folds": 17,  # leave one transcript out
            }
        )
        study = _coders.prepare(
            "think-aloud",
            think_aloud,
            THINK_ALOUD / "transcripts",
            THINK_ALOUD / "codes.csv",
            THINK_ALOUD / "codebook.csv",
        )
        _coders.measure(results, study, [_coders.zero_shot], baselines=())
        # the codes with enough human examples to train: zero-shot and
        # supervised beside the baselines, and the segment without its context
        trainable = replace(study.trainable(), label="think-aloud, trainable codes")
        _coders.measure(results, trainable, [_coders.zero_shot, _coders.supervised])
        alone = _coders.with_classify(think_aloud, context=False)
        _coders.measure(
            results,
            replace(trainable, config=alone),
            [_coders.supervised],
            baselines=(),
        )
        feedback_csv = ROOT / "examples" / "nhs_feedback" / "feedback.csv"
        feedback_codebook = ROOT / "config" / "codebooks" / "nhs_feedback.yaml"
        feedback = load_config(
            ROOT / "config" / "nhs_feedback.yaml",
            overrides={"store.database": database},
        )
        study = _coders.prepare(
            "NHS feedback", feedback, None, feedback_csv, feedback_codebook
        )
        _coders.measure(results, study, [_coders.zero_shot], baselines=())
        trainable = replace(study.trainable(), label="NHS feedback, trainable codes")
        _coders.measure(results, trainable, [_coders.zero_shot, _coders.supervised])
        # a new study's default segmentation (sentences), coded per comment
        # (classify.unit: auto) and per sentence
        sentences = load_config(
            ROOT / "config" / "nhs_feedback.yaml",
            overrides={"store.database": database, "segment.unit": "sentence"},
        )
        for unit in ("auto", "segment"):
            study = _coders.prepare(
                f"NHS feedback in sentences (classify.unit: {unit})",
                _coders.with_classify(sentences, unit=unit),
                None,
                feedback_csv,
                feedback_codebook,
            ).trainable()
            _coders.measure(results, study, [_coders.supervised], baselines=())
    results.save()


if __name__ == "__main__":
    main()
