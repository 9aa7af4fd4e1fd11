"""Writing the run's long CSV tables: the column writer against pandas (issue 20).

At 100,000 segments a run writes ``codes_compared.csv``, ``auto_codes.csv``
and ``auto_codes_by_document.csv`` with 3.2 million rows each; a profile of
the whole run (py-spy, ``benchmarks/README.md``) put about 74 s of its 322 s
in ``DataFrame.to_csv``, which hands each value to Python's ``csv`` writer.
``pipeline.store.csv_writer`` renders each column as text once and joins the
columns into lines with Arrow's string kernels.

The script makes two tables shaped as the run's (a million rows each by
default): the comparison table (ids, offsets, a code and its name as a
category, a score, booleans and nullable booleans, mostly blank) and the
auto-codes table (the same with each segment's quote: commas, double quotes,
line ends and accents that must be quoted as the ``csv`` module quotes them).
Each is written by ``DataFrame.to_csv`` (the baseline) and by the column
writer to a temporary file, best of ``--repeat`` runs each, in this process;
the two files must be byte for byte the same, or the script fails.
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
from benchmarks._harness import Figure, Results  # noqa: E402
from pipeline.store.csv_writer import write_csv  # noqa: E402

QUOTES = [
    "No.",
    "Staff were kind, and the ward was clean.",
    'She said "we will call you", and never did.',
    "Waited 3 hours\nthen sent home.",
    "Très bien – the nurse’s care was excellent",
    "",
]


def tables(n: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The comparison and auto-codes tables of ``n`` rows (32 codes)."""
    rng = np.random.default_rng(seed)
    codes = [f"code_{i:02d}" for i in range(32)]
    code = np.array(codes)[np.arange(n) % 32]
    segment = np.arange(n) // 32
    names = pd.Categorical([c.replace("_", " ").title() for c in code])
    human = pd.array(
        np.where(rng.random(n) < 0.9, None, rng.random(n) < 0.3), dtype="boolean"
    )
    common = {
        "document_id": pd.Series([f"c{s:06d}" for s in segment], dtype="str"),
        "segment_id": pd.Series([f"c{s:06d}#t0001" for s in segment], dtype="str"),
        "start": np.zeros(n, dtype=np.int64),
        "end": rng.integers(3, 400, n),
        "code": pd.Series(code, dtype="str"),
        "code_name": names,
    }
    scores = np.round(rng.random(n), 4)
    compared = pd.DataFrame(
        common
        | {
            "coder": pd.array([None] * n, dtype="boolean"),
            "auto_score": scores,
            "auto_assigned": scores > 0.8,
            "human_any": human,
            "agree": human,
        }
    )
    quotes = np.array(QUOTES, dtype=object)[segment % len(QUOTES)]
    auto = pd.DataFrame(
        common
        | {
            "quote": pd.Series(quotes, dtype="str"),
            "score": scores,
            "assigned": scores > 0.8,
            "method": "zero-shot",
        }
    )
    return {"codes_compared": compared, "auto_codes": auto}


def best_of(repeat: int, write) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        write()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    results = Results("csv_write")
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in tables(args.rows).items():
            by_pandas = Path(tmp) / f"{name}_pandas.csv"
            by_columns = Path(tmp) / f"{name}_columns.csv"

            def with_pandas(frame=frame, path=by_pandas):
                frame.to_csv(path, index=False, encoding="utf-8")

            def with_columns(frame=frame, path=by_columns):
                with open(path, "wb") as stream:
                    write_csv(frame, stream)

            baseline = best_of(args.repeat, with_pandas)
            seconds = best_of(args.repeat, with_columns)
            if by_pandas.read_bytes() != by_columns.read_bytes():
                raise SystemExit(f"{name}: the column writer's bytes differ")
            size = by_columns.stat().st_size / 2**20
            results.add(
                Figure(
                    f"{name}.csv, {args.rows:,} rows ({size:.0f} MB): column writer",
                    seconds,
                    "s",
                    "DataFrame.to_csv",
                    baseline,
                    higher_is_better=False,
                    note="the same bytes",
                )
            )
    results.save()


if __name__ == "__main__":
    main()
