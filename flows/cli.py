"""The ``themes`` command.

Exit status:

- 0: the run completed (some sources may be quarantined; they are listed);
- 1: nothing could be ingested, or the run failed;
- 2: bad usage or configuration (unknown key, missing file, wrong value);
- 3: ``--strict`` was given and at least one source was quarantined;
- 4: the results store is busy with another run.

Bad input never shows a traceback: the CLI prints one line per problem.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

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

from pipeline.config import RunOverrides, load_config
from pipeline.errors import ConfigError, PipelineError, StoreBusyError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_QUARANTINE, EXIT_BUSY = 0, 1, 2, 3, 4

app = typer.Typer(
    name="themes",
    help=(
        "Find themes in interview transcripts: ingest, segment, embed, topics, "
        "codebook classifiers and agreement with human codes.\n\n"
        "Example: themes run --config config/demo.yaml"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False)
errors = Console(stderr=True)


@app.callback()
def _main() -> None:
    """Find themes in interview transcripts (see ``themes COMMAND --help``)."""


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


def _fail(message: str, code: int) -> typer.Exit:
    for line in str(message).splitlines():
        errors.print(f"[bold red]error:[/] {line}", highlight=False, markup=True)
    return typer.Exit(code)


@app.command()
def run(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="YAML config (default: built-in settings)."
        ),
    ] = None,
    corpus: Annotated[
        str | None, typer.Option(help="Folder of transcripts, or a .csv/.xlsx table.")
    ] = None,
    out: Annotated[
        str | None, typer.Option(help="Run folder (default: runs/<run_id>/).")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option(help="Id column of a table corpus.")
    ] = None,
    text_column: Annotated[
        str | None, typer.Option(help="Text column of a table corpus.")
    ] = None,
    unit: Annotated[
        str | None, typer.Option(help="Segment unit: turn, sentence or window.")
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit with status 3 if any source is quarantined."
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show debug logs.")] = False,
) -> None:
    """Run the whole pipeline on a corpus and write a run folder.

    Example: themes run --corpus examples/nhs_managers --out runs/demo
    """
    try:
        overrides = RunOverrides(
            corpus=corpus,
            out=out,
            id_column=id_column,
            text_column=text_column,
            unit=unit,
        )
    except ValueError as error:
        raise _fail(f"bad option: {error}", EXIT_USAGE) from None
    try:
        settings = load_config(config, overrides=overrides.as_dotted())
    except ConfigError as error:
        raise _fail(str(error), EXIT_USAGE) from None
    if settings.ingest.corpus is None:
        raise _fail(
            "no corpus: pass --corpus PATH or set ingest.corpus in the config",
            EXIT_USAGE,
        )
    if not Path(settings.ingest.corpus).exists():
        raise _fail(f"corpus not found: {settings.ingest.corpus}", EXIT_USAGE)

    from flows.environment import prepare_environment

    level = "DEBUG" if debug else "INFO" if verbose else None
    prepare_environment(settings.store.runs_dir, log_level=level)
    if debug:
        logging.getLogger("pipeline").setLevel(logging.DEBUG)
    from flows.theme_pipeline import theme_pipeline

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
            summary = theme_pipeline(
                config_path=str(config) if config else None, overrides=overrides
            )
    except StoreBusyError as error:
        raise _fail(str(error), EXIT_BUSY) from None
    except PipelineError as error:
        raise _fail(str(error), EXIT_FAILED) from None
    finally:
        progress_logger.removeHandler(handler)
    _print_summary(summary)
    if summary["counts"]["documents"] == 0:
        raise _fail(
            "nothing could be ingested: every source was quarantined", EXIT_FAILED
        )
    if strict and summary["quarantined"]:
        raise _fail(
            f"--strict: {len(summary['quarantined'])} source(s) quarantined",
            EXIT_QUARANTINE,
        )


def _print_summary(summary: dict[str, Any]) -> None:
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
        for item in summary["quarantined"]:
            console.print(
                f"  {item['source']}: {item['reason']}", highlight=False, markup=False
            )
    if summary["notes"]:
        console.print("[bold]Notes:[/]")
        for note in summary["notes"]:
            console.print(f"  {note}", highlight=False, markup=False)
    timings = summary.get("timings", {})
    if timings:
        console.print(
            "Timings: "
            + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items())
        )
    console.print(
        f"Results: [bold]{summary['out_dir']}[/]  (store: {summary['database']})"
    )


def main() -> None:
    """Entry point for ``python -m flows.cli``."""
    app()


if __name__ == "__main__":
    sys.exit(main())
