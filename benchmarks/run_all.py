"""``make bench``: run every benchmark script and write ``benchmarks/results.md``.

Each script prints its figures and saves them to ``benchmarks/out/<name>.json``;
this runs them one after the other in fresh processes, then writes one
results file with every figure, its baseline measured in the same run, the
ratio, the machine (cores, memory, CPU model) and the date, and refreshes the
headline table of the README from it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import OUT, ROOT, machine  # noqa: E402

SCRIPTS = [
    ["embed_throughput.py"],
    ["classify_nhs_feedback.py"],
    ["agreement_real.py"],
    ["world_after_covid.py"],
    ["new_study.py"],
    ["anonymise_recall.py"],
    ["incremental.py"],
    ["scale.py", "--sizes", "10000"],
    ["csv_write.py"],
    ["workbook_write.py"],
    ["network_extraction.py"],
]
ON_REQUEST = [
    ["fewshot.py"],  # 12 fine-tunes: 10-40 min on 2 cores
    ["encoders.py"],  # all-mpnet-base-v2 on every quality benchmark (make mpnet)
    ["topic_step.py"],  # a full topic fit at 100,000 segments: 10-15 min on 2 cores
    ["classify_scale.py"],  # classify, compare, outputs at 10,000 and 100,000: ~10 min
    ["report_scale.py"],  # the report step alone at 10,000 and 100,000: ~15 min
    ["scale_dask.py"],  # 1,000,000 segments on a local Dask cluster: about an hour
]
"""Scripts run only when named (``run_all.py fewshot``); their last figures
stay in results.md."""
HERE = Path(__file__).resolve().parent


def fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)


def write_results(durations: dict[str, float]) -> Path:
    info = machine()
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {info['date']}: {info['cores']} cores, "
        f"{info['memory_gb']} GB, "
        f"{info['cpu']}, Python {info['python']}. "
        "Every ratio compares two figures measured in the "
        "same run of the same script "
        "(the machine is noisy: ratios travel better than seconds).",
        "",
        f"The scripts took {sum(durations.values()):,.0f} s "
        f"({sum(durations.values()) / 60:.1f} min) "
        "in all, the install not included.",
        "",
    ]
    for script in [s[0] for s in SCRIPTS + ON_REQUEST]:
        name = script.removesuffix(".py")
        path = OUT / f"{name}.json"
        lines.append(f"## {name} ([`{script}`]({script}))")
        lines.append("")
        if not path.is_file():
            lines += ["Not run.", ""]
            continue
        data = json.loads(path.read_text())
        lines.append(f"Took {durations.get(name, 0):.0f} s.")
        lines.append("")
        lines.append("| figure | value | unit | baseline | baseline value | ratio |")
        lines.append("|---|---:|---|---|---:|---:|")
        for figure in data["figures"]:
            lines.append(
                f"| {figure['name']} | {fmt(figure['value'])} | {figure['unit']} "
                f"| {figure['baseline_name'] or ''} "
                f"| {fmt(figure['baseline_value'])} | {fmt(figure['ratio'])} |"
            )
        lines.append("")
        for note in data["notes"]:
            lines.append(f"- {note}")
        lines.append("")
    target = HERE / "results.md"
    target.write_text("\n".join(lines) + "\n")
    return target


def main() -> None:
    only = sys.argv[1:]
    durations = {}
    for script in SCRIPTS + ON_REQUEST:
        named = script[0].removesuffix(".py") in only
        if (only and not named) or (not only and script in ON_REQUEST):
            continue
        print(f"== {script[0]}", flush=True)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(HERE / script[0]), *script[1:]], check=True, cwd=ROOT
        )
        durations[script[0].removesuffix(".py")] = time.perf_counter() - started
    timings_file = OUT / "durations.json"
    previous = json.loads(timings_file.read_text()) if timings_file.is_file() else {}
    names = {script[0].removesuffix(".py") for script in SCRIPTS + ON_REQUEST}
    previous = {name: s for name, s in previous.items() if name in names} | durations
    OUT.mkdir(exist_ok=True)
    timings_file.write_text(json.dumps(previous, indent=2))
    print(f"wrote {write_results(previous).relative_to(ROOT)}")
    subprocess.run([sys.executable, str(HERE / "headline.py")], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
