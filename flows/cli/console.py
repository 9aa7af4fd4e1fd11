"""What the ``themes`` commands print: summaries, tables, progress bars, errors.

Results go to standard output (:data:`console`); errors and warnings go to
standard error, one line each, never with a traceback.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from pipeline.errors import error_place

if TYPE_CHECKING:
    from pipeline.coding.trained_model import TrainedModel

MAX_LISTED = 20
"""Quarantined sources listed on the console (all are in the manifest and report)."""

OUTPUT_FILES = ("report.html", "results.xlsx", "auto_codes.qdpx")
"""A run's outputs listed after its results, in this order."""

console = Console(stderr=False)
error_console = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int) -> typer.Exit:
    """Print ``error:`` lines on standard error; return the exit to raise.

    Args:
        message: What went wrong; each of its lines gets its own ``error:``.
        code: The exit status (see :mod:`flows.cli.exit_codes`).

    Returns:
        The :class:`typer.Exit` for the caller to raise.
    """
    for line in str(message).splitlines():
        error_console.print(f"[bold red]error:[/] {line}", highlight=False, markup=True)
    return typer.Exit(code)


def warn(message: str) -> None:
    """Print a ``warning:`` line on standard error."""
    error_console.print(f"[bold yellow]warning:[/] {message}", highlight=False)


def unexpected(error: BaseException) -> str:
    """One line about an unexpected error, without its message (it may quote text)."""
    return (
        f"unexpected error {error_place(error)}: this is a bug, please report "
        "it; rerun with --debug for the traceback (it may quote transcript text)"
    )


def in_step(error: BaseException) -> str:
    """``"step report: "`` for an error raised in a run's step.

    The manifest says failed.
    """
    step = getattr(error, "failed_step", None)
    return f"run failed in step {step}: " if step else ""


class _ProgressHandler(logging.Handler):
    """Draws ``pipeline.progress`` records as rich progress bars."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(level=logging.DEBUG)
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def emit(self, record: logging.LogRecord) -> None:
        step = getattr(record, "progress_step", None)
        if step is None:
            return
        done, total = record.progress_done, record.progress_total
        if step not in self.tasks:
            self.tasks[step] = self.progress.add_task(step, total=total)
        self.progress.update(self.tasks[step], completed=done, total=total)


@contextlib.contextmanager
def progress_bars() -> Iterator[None]:
    """Draw ``pipeline.progress`` records as progress bars for the block."""
    progress = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    handler = _ProgressHandler(progress)
    progress_logger = logging.getLogger("pipeline.progress")
    progress_logger.addHandler(handler)
    progress_logger.setLevel(logging.DEBUG)
    try:
        with progress:
            yield
    finally:
        progress_logger.removeHandler(handler)


def print_listed(lines: Sequence[str], *, more: str) -> None:
    """Print the first :data:`MAX_LISTED` lines, indented, then how many more.

    Args:
        lines: One line per item (a source and why it was not read).
        more: What follows ``... and N more`` when some are left out.
    """
    for line in lines[:MAX_LISTED]:
        console.print(f"  {line}", highlight=False, markup=False)
    if len(lines) > MAX_LISTED:
        console.print(
            f"  ... and {len(lines) - MAX_LISTED:,} more{more}", highlight=False
        )


def print_outputs(outputs: Mapping[str, Any]) -> None:
    """Print where the report, the workbook and the REFI-QDA project are."""
    for name in OUTPUT_FILES:
        if name in outputs:
            console.print(f"  {name}: {outputs[name]}", highlight=False)


def print_summary(summary: dict[str, Any]) -> None:
    """Print a run's summary: counts, quarantined sources, notes, results.

    Args:
        summary: The summary ``theme_pipeline`` returns.
    """
    counts = summary["counts"]
    console.print(f"[bold]Run {summary['run_id']}[/]: {summary['status']}")
    table = Table(show_header=False)
    table.add_column("", style="bold")
    table.add_column("count", justify="right")
    for label, key in (
        ("documents", "documents"),
        ("speakers", "speakers"),
        ("segments", "segments"),
        ("quarantined", "quarantined"),
    ):
        table.add_row(label, f"{counts.get(key, 0):,}")
    console.print(table)
    if summary["quarantined"]:
        console.print("[bold yellow]Quarantined[/] (not processed; fix and rerun):")
        print_listed(
            [f"{item['source']}: {item['reason']}" for item in summary["quarantined"]],
            more=" (every one, with its reason: manifest.json and the report)",
        )
    if summary["notes"]:
        console.print("[bold]Notes:[/]")
        for note in summary["notes"]:
            console.print(f"  {note}", highlight=False, markup=False)
    anonymisation = summary.get("anonymisation") or {}
    if anonymisation.get("n_findings"):
        console.print(
            "[bold yellow]Anonymisation check[/]: "
            f"{anonymisation['n_findings']} possible identifiers in "
            f"{anonymisation['documents_with_findings']} documents (policy "
            f"{anonymisation['policy']}); where they are: anonymisation.csv, "
            "counts per document in the report"
        )
    topics = summary.get("topics") or {}
    if topics.get("message"):
        console.print(
            f"[bold]Topics[/]: {topics.get('n_topics', 0)}; {topics['message']}",
            highlight=False,
        )
    classify = summary.get("classify") or {}
    if "share_coded" in classify:
        console.print(
            f"[bold]Auto-codes[/]: {classify['share_coded']:.1%} of segments coded "
            f"({classify.get('model', '')})",
            highlight=False,
        )
    for note in classify.get("notes") or []:
        console.print(f"  [bold yellow]note:[/] {note}", highlight=False)
    if summary.get("compare"):
        print_agreement(summary["compare"])

    reused = [step for step, hit in summary.get("reused", {}).items() if hit]
    if reused or counts.get("embeddings_cached"):
        console.print(
            f"Reused from earlier runs: steps {', '.join(reused) or 'none'}; "
            f"{counts.get('embeddings_cached', 0):,} embeddings cached, "
            f"{counts.get('embedded', 0):,} computed; "
            f"{counts.get('documents_segmented', 0):,} documents segmented anew"
        )
    keyword_models = classify.get("keyword_models") or {}
    if keyword_models.get("action") == "reused":
        console.print(
            f"Zero-shot keyword models reused (trained on "
            f"{keyword_models['trained_on']:,} segments); "
            f"{keyword_models['scored']:,} new segments scored. "
            "Train them again with --refit-codes."
        )
    timings = summary.get("timings", {})
    if timings:
        console.print(
            "Timings: "
            + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items())
        )
    console.print(
        f"Results: [bold]{summary['out_dir']}[/]  (store: {summary['database']})"
    )
    print_outputs(summary.get("outputs") or {})


def print_up_to_date(summary: dict[str, Any]) -> None:
    """Say that the run folder already holds these inputs' results; show them.

    Args:
        summary: The folder's manifest, with ``out_dir`` and ``database``.
    """
    console.print(
        f"[bold]Nothing new[/]: {summary['out_dir']} holds run {summary['run_id']} "
        f"(finished {summary.get('finished_at', '?')}) of the same corpus, "
        "settings, codebook, codes, model and code; nothing was run "
        "(--force runs it again).",
        highlight=False,
    )
    print_summary(summary | {"reused": {}, "timings": {}})


def _share(value: Any) -> str:
    """A share of units as a percentage, ``-`` when absent (an older run) or NaN."""
    if value is None or value != value:
        return "-"
    return f"{value:.1%}"


def print_agreement(compare: dict[str, Any]) -> None:
    """Pooled agreement per unit and pair of coders, then how the codes were read.

    Each row shows both coders' share of units coded (prevalence, the mean
    over codes) side by side before kappa, so a coder that barely used the
    codes is never read as agreeing: the table's flags (a lopsided pair, an
    undefined kappa) are printed under it, numbered. Human-vs-human rows are
    the ceiling. Then: used and unused rows of the human codes, how their
    codes matched the codebook, auto-coders skipped, and the import's notes.

    Args:
        compare: The comparison's summary (``compare_run``'s, or a run's).
    """
    table = Table(title="Agreement with human codes (pooled over codes, Cohen's kappa)")
    table.add_column("unit")
    table.add_column("coder A vs B")
    table.add_column("A coded", justify="right")
    table.add_column("B coded", justify="right")
    table.add_column("kappa", justify="right")
    table.add_column("flag", justify="right")
    flags: list[str] = []
    for row in compare["pooled"]:
        kappa = row.get("kappa")
        undefined = kappa is None or kappa != kappa  # NaN
        flag = str(row.get("flag") or "")
        if undefined and "undefined" not in flag:
            flag = "; ".join(filter(None, ["kappa undefined", flag]))
        marker = ""
        if flag:
            flags.append(f"{row['unit']}, {row['coder_a']} vs {row['coder_b']}: {flag}")
            marker = f"[{len(flags)}]"
        table.add_row(
            row["unit"],
            f"{row['coder_a']} vs {row['coder_b']}",
            _share(row.get("prevalence_a")),
            _share(row.get("prevalence_b")),
            "undefined" if undefined else f"{kappa:.2f}",
            marker,
        )
    console.print(table)
    for number, flag in enumerate(flags, start=1):
        console.print(f"  [{number}] {flag}", highlight=False, markup=False)
    kinds = compare.get("disagreements_by_kind") or {}
    plural = {"false positive": "false positives", "miss": "misses"}
    split = ", ".join(
        f"{n} {kind if n == 1 else plural.get(kind, kind)}" for kind, n in kinds.items()
    )
    console.print(
        f"Human codes: {compare['n_assignments']} used, {compare['n_unused']} not "
        f"used; {compare['coverage']:.0%} of coded spans landed on a segment; "
        f"{compare['n_disagreements']} disagreements to review"
        + (f" ({split})" if split else "")
        + " in disagreements.csv, most informative first",
        highlight=False,
    )
    matches = compare.get("code_matches") or {}
    if matches.get("name") or matches.get("normalised"):
        console.print(
            f"Codes matched to the codebook: {matches.get('exact', 0)} as written, "
            f"{matches.get('name', 0)} by name, {matches.get('normalised', 0)} "
            "ignoring case, spacing and punctuation (codes_import.json lists them)",
            highlight=False,
        )
    notes = compare.get("notes") or []
    for note in notes[:10]:
        console.print(f"  {note}", highlight=False, markup=False)
    if len(notes) > 10:
        console.print(f"  ... and {len(notes) - 10} more notes in codes_import.json")


def print_training(model: TrainedModel, *, min_examples: int, out: Path) -> None:
    """Print a trained classifier's quality per code, what was not trained, where.

    Args:
        model: The saved classifier, with its card and reports.
        min_examples: Fewest human examples a code needs to be trained.
        out: The model folder.
    """
    table = Table(title=None)
    for column in (
        "code",
        "examples",
        "precision",
        "recall",
        "F1",
        "kappa",
        "threshold",
    ):
        table.add_column(column, justify="left" if column == "code" else "right")
    names = model.card.get("code_names") or {}
    for report in model.reports:
        if report.trained:
            table.add_row(
                names.get(report.code, report.code),
                str(report.n_examples),
                f"{report.precision:.2f}",
                f"{report.recall:.2f}",
                f"{report.f1:.2f}",
                f"{report.kappa:.2f}",
                f"{report.threshold:.2f}",
            )
    card = model.card
    if card.get("coding_unit"):
        console.print(
            f"Coded per {card['coding_unit']}: {card.get('coding_unit_reason', '')}.",
            highlight=False,
        )
    console.print("Cross-validated (grouped) quality per code:")
    console.print(table)
    untrained = [r for r in model.reports if not r.trained]
    if untrained:
        console.print(
            f"Not trained, not enough human examples (< {min_examples}): "
            + ", ".join(
                f"{names.get(r.code, r.code)} ({r.n_examples})" for r in untrained
            ),
            highlight=False,
        )

    for note in model.card.get("notes", []):
        console.print(f"  {note}", highlight=False, markup=False)
    console.print(f"Model: [bold]{out}[/] (card: {out / 'CARD.md'})")


def print_identifier_counts(counts: Mapping[str, Mapping[str, int]]) -> None:
    """Print possible identifiers per document and kind (counts, never the text).

    Args:
        counts: Per document id, the number of findings of each kind.
    """
    kinds = sorted({kind for per_kind in counts.values() for kind in per_kind})
    table = Table(title=f"Possible identifiers in {len(counts)} documents")
    table.add_column("document")
    for kind in kinds:
        table.add_column(kind, justify="right")
    table.add_column("total", justify="right")
    for document_id, per_kind in counts.items():
        table.add_row(
            document_id,
            *[str(per_kind.get(kind, 0) or "") for kind in kinds],
            str(sum(per_kind.values())),
        )
    console.print(table)


def print_runs(summaries: Sequence[Mapping[str, Any]]) -> None:
    """Print the runs in the store as a table that fits 80 columns.

    Args:
        summaries: One per run, as ``themes runs --json`` prints them.
    """
    # fits 80 columns: the run id holds the date and time it started
    table = Table(
        caption=(
            "kappa: Cohen's kappa at segments, pooled over codes, auto-coder vs "
            "human / human vs human (the ceiling). --json: every field"
        ),
        caption_justify="left",
    )
    table.add_column("run (started, UTC)", no_wrap=True)
    table.add_column("status", overflow="fold")
    table.add_column("corpus", overflow="fold", max_width=16)
    table.add_column("docs", justify="right")
    table.add_column("segs", justify="right")
    table.add_column("kappa", justify="right", no_wrap=True)
    for summary in summaries:
        table.add_row(
            summary["run_id"],
            summary["status"] or "",
            Path(summary["corpus"] or "").name,
            f"{summary['documents'] or 0:,}",
            f"{summary['segments'] or 0:,}",
            summary["agreement"],
        )
    console.print(table)
