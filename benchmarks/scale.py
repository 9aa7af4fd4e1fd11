"""Scale: 100,000 segments (resampled real comments) end to end, on this machine.

A 100,000-row CSV resampled (fixed seed) from the NHS feedback file, each row
a new document with its human codes, run through ``themes run`` in a fresh
process exactly as a researcher would run it: ingest with the anonymisation
check, segmentation (one segment per comment, as the human codes are per
comment), embedding (default backend, empty cache), topics (lemmas, UMAP,
HDBSCAN, BERTopic words, charts), zero-shot coding from the framework
codebook, comparison with the human codes (agreement with bootstrap
intervals), the store, and the report, workbook and REFI-QDA export.

Printed: wall time and peak resident memory of each step (from the run's
manifest), total wall time of the process, and the peak resident memory of
the process tree. Targets (issue 20): the whole run in at most 240 s, peak
memory under 4 GB. ``--n 20000`` gives a quicker look; ``--sizes
10000,20000,40000`` runs several sizes and prints how each step grows (time
per segment at each size), to show what grows faster than linearly.

Every cache starts empty except one: the ONNX export of the embedding model,
which a machine makes once (``runs/.cache/onnx``, shared by the benchmark
scripts); it is made before the runs if missing, and not part of their time.

The resampled comments repeat (the file holds about 4,400 distinct ones), so
the embedding step embeds each distinct text once: the note says how many.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import (  # noqa: E402
    FEEDBACK_CSV,
    ONNX_CACHE,
    ROOT,
    Figure,
    PeakMemory,
    Results,
    themes_run,
)


def write_corpus(folder: Path, n: int, seed: int = 0) -> Path:
    """A resampled copy of the feedback file with ``n`` rows and fresh comment ids."""
    source = pd.read_csv(FEEDBACK_CSV, dtype=str, keep_default_na=False)
    source = source[source["FFT answer"].str.strip() != ""]
    rng = np.random.default_rng(seed)
    sample = source.iloc[rng.integers(0, len(source), n)].reset_index(drop=True)
    sample["Comment ID"] = [f"c{i:06d}" for i in range(n)]
    table = folder / "comments.csv"
    sample.to_csv(table, index=False)
    return table


def export_model() -> float:
    """Make the ONNX export the runs share, if not made yet (once per machine).

    Returns its seconds. In a child process that ends, so the model is not
    counted in this process's memory while the runs are measured.
    """
    import subprocess
    import time

    code = (
        "from pipeline.config.analysis import EmbedConfig; "
        "from pipeline.embed.registry import make_embedder; "
        f"make_embedder(EmbedConfig(onnx_cache_dir={str(ONNX_CACHE)!r}))"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return time.perf_counter() - started


def run_once(n: int, tmp: Path, *, dask_workers: int = 0) -> dict:
    """One end-to-end run on ``n`` comments; returns timings, peak memory and counts.

    ``dask_workers``: run the mapped steps on a local Dask cluster of that many
    worker processes (0: threads in the run's process, the default executor).
    """
    table = write_corpus(tmp, n)
    settings = yaml.safe_load((ROOT / "config" / "nhs_feedback.yaml").read_text())
    settings["ingest"]["corpus"] = str(table)
    size_mb = table.stat().st_size / 2**20
    if size_mb > 150:
        # a million comments make a file of about 330 MB, over the default
        # safety limit of 200 MB a file (which would quarantine it): raised,
        # as a researcher with such a file would
        settings["ingest"]["limits"] = {"max_file_mb": round(size_mb * 1.5)}
    settings["compare"]["codes"] = str(table)
    settings["classify"]["codebook"] = str(
        ROOT / "config" / "codebooks" / "nhs_feedback.yaml"
    )
    settings["embed"] = {"onnx_cache_dir": str(ONNX_CACHE)}
    settings["topics"] = {"model_dir": str(tmp / "models")}
    if dask_workers:
        settings["execution"] = {"executor": "dask", "dask_workers": dask_workers}
    # every other cache in the temporary folder: nothing from an earlier run is reused
    settings["store"] = {"database": str(tmp / "themes.duckdb"), "runs_dir": str(tmp)}
    config = tmp / "scale.yaml"
    config.write_text(yaml.safe_dump(settings))
    out = tmp / "run"
    env = os.environ | {"PREFECT_HOME": str(tmp / ".prefect")}
    with PeakMemory(interval=0.2) as memory:
        seconds = themes_run(config, out, env)
    manifest = json.loads((out / "manifest.json").read_text())
    embeddings = (
        json.loads((out / "embeddings.json").read_text())
        if (out / "embeddings.json").is_file()
        else {}
    )
    topics = pd.read_csv(out / "topics.csv") if (out / "topics.csv").is_file() else None
    return {
        "n": n,
        "seconds": seconds,
        "peak_gb": memory.peak_gb,
        "peak_gb_by_role": peaks_by_role(memory, dask=bool(dask_workers)),
        "timings": manifest["timings"],
        "memory_gb": manifest.get("memory_gb", {}),
        "counts": manifest.get("counts", {}),
        "embedded": embeddings.get("n_embedded"),
        "topics": None if topics is None else int((topics["topic"] >= 0).sum()),
        "report_mb": (out / "report.html").stat().st_size / 2**20
        if (out / "report.html").is_file()
        else None,
    }


def whole_run_figure(seconds: float, n: int) -> Figure:
    """The run's wall time against the target: 240 s at 100,000, linear above."""
    if n <= 100_000:
        return Figure(
            "whole run (process start to exit)", seconds, "s", "target", 240.0,
            higher_is_better=False,
        )  # fmt: skip
    return Figure(
        "whole run (process start to exit)",
        seconds,
        "s",
        "the 100,000 target grown linearly",
        240.0 * n / 100_000,
        higher_is_better=False,
    )


def peaks_by_role(memory: PeakMemory, *, dask: bool) -> dict[str, list[float]]:
    """Each process's own peak (GiB), grouped: the run, its workers, the rest.

    The benchmark's own process is left out; ``themes run`` is its child;
    ``multiprocessing`` spawns are its workers: Dask workers on Dask, else the
    topic step's and the workbook's second processes; Prefect's temporary
    server is a child too.
    """
    roles: dict[str, list[float]] = {}
    own = os.getpid()
    for pid, peak in memory.peak_by_process.items():
        if pid == own:
            continue
        command = memory.commands.get(pid, "")
        if "spawn_main" in command:
            role = "Dask worker" if dask else "second (spawned)"
        elif "prefect" in command and ("server" in command or "uvicorn" in command):
            role = "Prefect server"
        elif " run --config" in command:
            role = "themes run"
        else:
            role = "other"
        roles.setdefault(role, []).append(round(peak / 2**30, 3))
    return {role: sorted(peaks, reverse=True) for role, peaks in roles.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument(
        "--sizes", default="", help="comma-separated sizes for a growth table"
    )
    parser.add_argument(
        "--dask-workers",
        type=int,
        default=0,
        help="run on a local Dask cluster of this many worker processes",
    )
    args = parser.parse_args(argv)
    results = Results("scale" if not args.dask_workers else "scale_dask")

    export_seconds = export_model()
    with tempfile.TemporaryDirectory() as tmp:
        run = run_once(args.n, Path(tmp), dask_workers=args.dask_workers)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    growth = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            growth.append(run_once(n, Path(tmp)))
        print(f"  {n:,}: {growth[-1]['timings']}", flush=True)
    results.note(
        "ONNX export of the embedding model, made before the runs if not made yet "
        f"(once per machine): {export_seconds:.0f} s"
    )
    results.note(
        f"{run['n']:,} comments, one segment each; "
        f"{run['embedded']} distinct texts embedded; "
        f"{run['topics']} topics; report.html {run['report_mb'] or 0:.1f} MB"
    )
    steps = {k: v for k, v in run["timings"].items() if k != "total"}
    for name, value in steps.items():
        results.add(Figure(f"{name}: wall time", value, "s", higher_is_better=False))
    for name, value in run["memory_gb"].items():
        # sampled every 0.1 s inside the run: the process and its children
        results.add(
            Figure(
                f"{name}: peak memory during the step",
                value,
                "GB",
                higher_is_better=False,
            )
        )
    results.add(whole_run_figure(run["seconds"], run["n"]))
    results.add(
        Figure(
            "peak memory, whole run",
            run["peak_gb"],
            "GB",
            "target" if run["n"] <= 100_000 else None,
            4.0 if run["n"] <= 100_000 else None,
            higher_is_better=False,
        )
    )
    results.add(Figure("segments", run["n"], "segments"))
    for role, peaks in run["peak_gb_by_role"].items():
        results.add(
            Figure(f"peak memory of the largest {role} process", peaks[0], "GB")
        )
        results.note(f"peak memory per {role} process (GB): {peaks}")

    if growth:
        smallest = growth[0]
        for name in steps:
            if name not in smallest["timings"]:
                continue
            # time per segment at the full size against time per segment at the
            # smallest size: about 1 for a step that grows linearly, above 1 for
            # one that grows faster
            per_small = smallest["timings"][name] / smallest["n"]
            per_full = run["timings"][name] / run["n"]
            results.add(
                Figure(
                    f"{name}: time per segment at {run['n']:,} vs at {smallest['n']:,}",
                    per_full * 1000,
                    "ms/segment",
                    f"at {smallest['n']:,}",
                    per_small * 1000,
                    higher_is_better=False,
                )
            )
    results.save()


if __name__ == "__main__":
    main()
