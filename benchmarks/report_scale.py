"""The report step alone at scale: wall time, CPU time and memory (issue 20).

The report step (``run_export_step``: ``report.html``, ``results.xlsx``,
``prevalence_by_group.csv``, ``auto_codes.qdpx``, and the auto-code CSVs
rewritten with names and quotes) run on a finished run folder through
library calls, without Prefect, in a fresh child process per measurement,
on a copy of the folder (the step rewrites files in it).

Printed per run folder: its segments, the step's wall time and CPU time, the
child's resident memory when the step starts (Python and the libraries
imported) and at its peak, and the growth between them: what the step adds
to a process, which in a real run already holds the earlier steps' memory.

By default two run folders are made as ``benchmarks/scale.py`` makes its run
(comments resampled from the NHS feedback file, one segment each, 32 codes,
through ``themes run``; about 1 and 6 minutes), in temporary folders. With
``--run DIR`` (repeatable) finished run folders are measured instead, e.g. a
100,000-segment folder kept from an earlier ``scale.py``-style run.

Before the streamed outputs (issue 20), on the same 100,000-segment folder,
machine and load, the step took 115 s wall and 110 s CPU and grew the process
by 2.2 GB (peak 2.3 GB from 0.13 GB): the by-document CSV (3.2 million rows
with their words) read whole, merged in pandas and kept to the end of the
step; after: 92 s, 88 s CPU, 0.88 GB (peak 1.0 GB). XlsxWriter's cells (6.9
million, about 7 microseconds each) are now half of the step's time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import ROOT, Figure, PeakMemory, Results  # noqa: E402


def measure_in_this_process(run_dir: Path) -> dict:
    """Run the report step on ``run_dir``; its seconds, CPU seconds and memory."""
    import time

    from pipeline.config.run import PipelineConfig
    from pipeline.steps.export import run_export_step
    from pipeline.steps.inputs import resolve_run_inputs
    from pipeline.store.run_folder import RunFolder

    folder = RunFolder(run_dir)
    config = PipelineConfig.model_validate(folder.manifest()["config"])
    inputs = resolve_run_inputs(config)
    with PeakMemory(interval=0.05) as memory:
        started, cpu = time.perf_counter(), time.process_time()
        run_export_step(inputs, folder)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "start_gb": memory.start / 2**30,
        "peak_gb": memory.peak_gb,
        "growth_gb": memory.growth / 2**30,
    }


def measure(run_dir: Path) -> dict:
    """The report step on a copy of ``run_dir``, in a fresh child process."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "run"
        shutil.copytree(run_dir, copy)
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(copy)],
            cwd=ROOT,  # the run's config may name files relative to the project
            env=os.environ.copy(),
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise SystemExit(f"the report step failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def n_segments(run_dir: Path) -> int:
    """Rows of the run's ``segments.parquet``."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(run_dir / "segments.parquet").metadata.num_rows


def report(results: Results, run_dir: Path) -> None:
    """Measure one run folder and add its figures."""
    n = n_segments(run_dir)
    figures = measure(run_dir)
    label = f"report step at {n:,} segments"
    results.add(
        Figure(f"{label}: wall time", figures["seconds"], "s", higher_is_better=False)
    )
    results.add(
        Figure(
            f"{label}: CPU time", figures["cpu_seconds"], "s", higher_is_better=False
        )
    )
    results.add(
        Figure(
            f"{label}: peak memory", figures["peak_gb"], "GB", higher_is_better=False
        )
    )
    results.add(
        Figure(
            f"{label}: memory growth during the step",
            figures["growth_gb"],
            "GB",
            note=f"from {figures['start_gb']:.2f} GB at its start",
            higher_is_better=False,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--run", type=Path, action="append", default=[], help="a finished run folder"
    )
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="comma-separated sizes of the run folders made when no --run is given",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure_in_this_process(args.child)), flush=True)
        return

    results = Results("report_scale")
    for run_dir in args.run:
        report(results, run_dir.resolve())
    if not args.run:
        from benchmarks.scale import export_model, run_once

        export_model()
        for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
            with tempfile.TemporaryDirectory() as tmp:
                run_once(n, Path(tmp))
                report(results, Path(tmp) / "run")
    results.note(
        "the report step through library calls (no Prefect), in a fresh child "
        "process, on a copy of the run folder; memory: the child's resident set"
    )
    results.save()


if __name__ == "__main__":
    main()
