"""How much hand coding the tool needs: supervised kappa per code as human examples grow.

NHS feedback (``feedback_dev.csv``, real comments, human codes), the v7
labels with at least 30 positives. For growing shares of the training
respondents (5-fold cross-validation grouped by respondent, the test folds
untouched), the supervised classifier's out-of-fold kappa per label against
the number of human examples it was trained on. Writes
``docs/learning_curve.png`` and ``benchmarks/out/learning_curve.csv``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import FEEDBACK_CSV, OUT, ROOT, Figure, Results  # noqa: E402

SHARES = (0.05, 0.1, 0.2, 0.4, 0.7, 1.0)
MIN_POSITIVES = 30


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pipeline.codebook import load_codebook
    from pipeline.config import load_config
    from pipeline.embed import embed_texts, make_embedder
    from pipeline.store import ResultsStore
    from pipeline.train import learning_curve

    results = Results("learning_curve")
    frame = pd.read_csv(FEEDBACK_CSV, dtype=str, keep_default_na=False)
    frame = frame[frame["FFT answer"].str.strip() != ""].reset_index(drop=True)
    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_feedback.yaml")
    labels, codes = [], []
    for code in codebook.leaves():
        column = np.zeros(len(frame), dtype=bool)
        for source in codebook[code].columns:
            column |= frame[source].str.strip().isin(["1", "1.0"]).to_numpy()
        if column.sum() >= MIN_POSITIVES:
            labels.append(column)
            codes.append(code)
    Y = np.column_stack(labels)
    texts = frame["FFT answer"].tolist()
    config = load_config(overrides={"classify.learning_curve": list(SHARES)})
    X = embed_texts(
        texts,
        make_embedder(config.embed),
        cache=ResultsStore(ROOT / "runs" / "bench_cache.duckdb"),
    ).vectors
    started = time.perf_counter()
    curve = learning_curve(
        texts,
        X,
        Y,
        codes,
        frame["Respondent ID"].to_numpy(),
        config.classify,
        random_state=0,
    )
    seconds = time.perf_counter() - started
    OUT.mkdir(exist_ok=True)
    curve.to_csv(OUT / "learning_curve.csv", index=False)
    names = {code: codebook[code].name for code in codes}
    figure, axis = plt.subplots(figsize=(10, 6.5), dpi=110)
    for code, rows in curve.groupby("code"):
        axis.plot(
            rows["n_examples"],
            rows["kappa"],
            marker="o",
            linewidth=1,
            label=names[code][:38],
        )
    mean = curve.groupby("share")[["n_examples", "kappa"]].mean()
    axis.plot(
        mean["n_examples"],
        mean["kappa"],
        color="black",
        linewidth=3,
        label="mean over labels",
    )
    axis.set_xscale("log")
    axis.set_xlabel("human-coded examples of the label in training (log scale)")
    axis.set_ylabel("cross-validated Cohen's kappa")
    axis.set_title(
        "NHS patient feedback: supervised kappa per label as human coding grows"
    )
    axis.grid(alpha=0.3)
    axis.legend(fontsize=6.5, ncol=2, loc="lower right")
    figure.tight_layout()
    figure.savefig(ROOT / "docs" / "learning_curve.png")
    for share, row in mean.iterrows():
        results.add(
            Figure(
                f"mean kappa with {share:.0%} of training respondents (~{row['n_examples']:.0f} examples per label)",
                row["kappa"],
                "",
            )
        )
    results.add(
        Figure("learning curve computation", seconds, "s", higher_is_better=False)
    )
    results.note(
        f"{len(codes)} labels, {len(texts):,} comments; figure docs/learning_curve.png"
    )
    results.save()


if __name__ == "__main__":
    main()
