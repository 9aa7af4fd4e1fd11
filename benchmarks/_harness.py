"""Shared helpers of the benchmark scripts: machine facts, timing, peak memory, results.

Every script measures its figures against a baseline run in the same process
(the machine is noisy: ratios travel better than seconds), prints them, and
saves them as JSON under ``benchmarks/out/`` for ``run_all.py``, which writes
``benchmarks/results.md``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

from pipeline.memory import PeakMemory  # noqa: F401  (re-exported for the scripts)

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"
SHARED = ROOT.parent / "shared" / "data"
FEEDBACK_CSV = SHARED / "nhs_patient_feedback" / "feedback_dev.csv"
THINK_ALOUD = SHARED / "usability_think_aloud"
ONNX_CACHE = ROOT / "runs" / ".cache" / "onnx"
"""The ONNX exports of the embedding model (the config's default place): a
machine makes them once, so the scripts share them; no figure times them."""

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def machine() -> dict:
    """Cores, memory, CPU model, Python, and the date."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


@dataclass
class Figure:
    """One measured figure and, where it has one, its baseline."""

    name: str
    value: float
    unit: str
    baseline_name: str | None = None
    baseline_value: float | None = None
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value


@dataclass
class Results:
    """The figures of one benchmark script."""

    script: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        ratio = f"  ratio {figure.ratio:.2f}" if figure.ratio is not None else ""
        base = (
            f"  (baseline {figure.baseline_name}: "
            f"{figure.baseline_value:,.3g} {figure.unit})"
            if figure.baseline_name
            else ""
        )
        print(
            f"{figure.name}: {figure.value:,.4g} {figure.unit}{base}{ratio}", flush=True
        )
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"note: {text}", flush=True)

    def save(self) -> Path:
        OUT.mkdir(exist_ok=True)
        path = OUT / f"{self.script}.json"
        data = {
            "script": self.script,
            "machine": machine(),
            "figures": [asdict(f) | {"ratio": f.ratio} for f in self.figures],
            "notes": self.notes,
        }
        path.write_text(json.dumps(data, indent=2) + "\n")
        print(f"saved {path.relative_to(ROOT)}")
        return path


def themes_run(config: Path, out: Path, env: dict) -> float:
    """``themes run`` in a fresh process, as a researcher runs it.

    Returns:
        Its wall time in seconds.

    Raises:
        SystemExit: The run failed (with the end of its error output).
    """
    import subprocess
    import sys

    themes = str(Path(sys.executable).parent / "themes")
    started = time.perf_counter()
    done = subprocess.run(
        [themes, "run", "--config", str(config), "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"themes run failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return seconds


@contextmanager
def timed(label: str, sink: dict):
    """Time a block into ``sink[label]`` (seconds) and print it."""
    started = time.perf_counter()
    yield
    sink[label] = time.perf_counter() - started
    print(f"  {label}: {sink[label]:.1f} s", flush=True)


def feedback_comments() -> list[str]:
    """Non-empty comments of the NHS feedback development file."""
    import pandas as pd

    frame = pd.read_csv(FEEDBACK_CSV, dtype=str, keep_default_na=False)
    return [text for text in frame["FFT answer"] if text.strip()]
