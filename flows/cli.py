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

import atexit
import contextlib
import gc
import logging
import re
import sys
import threading
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
from pipeline.errors import (
    ConfigError,
    OutputFolderError,
    PipelineError,
    StoreBusyError,
)
from pipeline.store.permissions import use_file_modes

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_QUARANTINE, EXIT_BUSY = 0, 1, 2, 3, 4
MAX_LISTED = 20
"""Quarantined sources listed on the console (all are in the manifest and report)."""

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
errors = Console(stderr=True, soft_wrap=True)


@app.callback()
def _main() -> None:
    """Find themes in interview transcripts (see ``themes COMMAND --help``)."""


class _UserErrorFilter(logging.Filter):
    """Drops Prefect's tracebacks of the project's own errors: the CLI explains them.

    Any other error's message and traceback are hidden too unless ``--debug``:
    a library's message may quote the text it failed on (a transcript's), and
    no transcript text goes to the logs by default.
    """

    def __init__(self, debug: bool = False) -> None:
        super().__init__()
        self.debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None and record.args:
            error = next((a for a in record.args if isinstance(a, BaseException)), None)
        if isinstance(error, PipelineError) or "PipelineError" in str(
            getattr(record, "msg", "")
        ):
            return False
        if error is None and not self.debug:
            # Prefect's "Finished in state Failed('... exception ValueError:
            # <message>')"
            message = record.getMessage()
            found = re.search(r"exception (\w+):", message)
            if found:
                record.msg = (
                    f"{message[: found.end() - 1]} (message hidden: it may quote "
                    "transcript text; --debug shows it)"
                )
                record.args = ()
        if error is not None and not self.debug:
            record.msg = (
                f"{type(error).__name__} (message hidden: it may quote transcript "
                "text; --debug shows it)"
            )
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def _unexpected(error: BaseException) -> str:
    """One line about an unexpected error, without its message (it may quote text)."""
    from pipeline.errors import error_place

    return (
        f"unexpected error {error_place(error)}: this is a bug, please report "
        "it; rerun with --debug for the traceback (it may quote transcript text)"
    )


def _check_out_file(path: Path | None) -> None:
    """Exit 2 before any work when an ``--out`` file cannot be written."""
    if path is None:
        return
    from pipeline.store.folders import check_output_file

    try:
        check_output_file(path, option="--out")
    except PipelineError as error:
        raise _fail(str(error), EXIT_USAGE) from None


def _in_step(error: BaseException) -> str:
    """``"step report: "`` for an error raised in a run's step.

    The manifest says failed.
    """
    step = getattr(error, "failed_step", None)
    return f"run failed in step {step}: " if step else ""


def _quiet_user_errors(debug: bool = False) -> None:
    """Keep Prefect from printing tracebacks of bad input or a busy store."""
    # A handler that cannot write (a closed or broken stream) would make the
    # logging module print the record's traceback, and with it an exception
    # message that may quote transcript text: what logging's documentation
    # advises for production.
    logging.raiseExceptions = debug
    user_errors = _UserErrorFilter(debug)
    for name in (
        "prefect",
        "prefect.flow_runs",
        "prefect.task_runs",
        "prefect.flow_engine",
        "prefect.task_engine",
    ):
        logging.getLogger(name).addFilter(user_errors)


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


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config (default: built-in settings)."),
]
CorpusOption = Annotated[
    str | None, typer.Option(help="Folder of transcripts, or a .csv/.xlsx table.")
]
IdColumnOption = Annotated[
    str | None, typer.Option(help="Id column of a table corpus.")
]
TextColumnOption = Annotated[
    str | None, typer.Option(help="Text column of a table corpus.")
]
UnitOption = Annotated[
    str | None, typer.Option(help="Segment unit: turn, sentence or window.")
]
CodebookOption = Annotated[
    str | None, typer.Option(help="Codebook (.yaml, .csv, .qdc or .qdpx).")
]


def _settings(config: Path | None, overrides: dict[str, Any]):
    """Load the config with overrides, or exit 2 with the config error."""
    from pydantic import ValidationError

    from pipeline.config import format_validation_error

    try:
        run_overrides = RunOverrides(**overrides)
    except ValidationError as error:
        message = format_validation_error(error, "command line").replace(
            "command line: ", "command line: --"
        )
        raise _fail(message, EXIT_USAGE) from None

    try:
        settings = load_config(config, overrides=run_overrides.as_dotted())
    except ConfigError as error:
        raise _fail(str(error), EXIT_USAGE) from None
    # everything written from here on can hold transcript text: owner only
    use_file_modes(share_with_group=settings.store.share_with_group)
    return run_overrides, settings


def _check_out(path: str | Path | None, kind: str) -> None:
    """Exit 2 before any work when ``--out`` cannot be written.

    See pipeline.store.folders.
    """
    if path is None:
        return
    from pipeline.store.folders import check_output_folder

    try:
        check_output_folder(path, kind=kind, option="--out")
    except PipelineError as error:
        raise _fail(str(error), EXIT_USAGE) from None


@contextlib.contextmanager
def _progress_bars():
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


@app.command()
def run(
    config: ConfigOption = None,
    corpus: CorpusOption = None,
    out: Annotated[
        str | None, typer.Option(help="Run folder (default: runs/<run_id>/).")
    ] = None,
    id_column: IdColumnOption = None,
    text_column: TextColumnOption = None,
    unit: UnitOption = None,
    codebook: CodebookOption = None,
    model: Annotated[
        str | None,
        typer.Option(help="A classifier trained with `themes train` (models/<name>)."),
    ] = None,
    codes: Annotated[
        str | None,
        typer.Option(help="Human codes to compare with (CSV, XLSX or .qdpx)."),
    ] = None,
    anonymise: Annotated[
        str | None,
        typer.Option(
            help="What to do with identifiers the check finds: report, redact or block."
        ),
    ] = None,
    refit_topics: Annotated[
        bool,
        typer.Option(
            "--refit-topics", help="Refit the topic model instead of reusing it."
        ),
    ] = False,
    refit_codes: Annotated[
        bool,
        typer.Option(
            "--refit-codes",
            help="Train the zero-shot keyword models again instead of reusing them.",
        ),
    ] = False,
    executor: Annotated[
        str | None, typer.Option(help="Where tasks run: local or dask.")
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

    Example: themes run --corpus examples/nhs_managers --codebook
    config/codebooks/nhs_managers.yaml --out runs/demo
    """
    overrides, settings = _settings(
        config,
        {
            "corpus": corpus,
            "out": out,
            "id_column": id_column,
            "text_column": text_column,
            "unit": unit,
            "codebook": codebook,
            "model": model,
            "codes": codes,
            "refit_topics": refit_topics,
            "refit_codes": refit_codes,
            "executor": executor,
            "anonymise": anonymise,
        },
    )
    if settings.ingest.corpus is None:
        raise _fail(
            "no corpus: pass --corpus PATH or set ingest.corpus in the config",
            EXIT_USAGE,
        )
    if not Path(settings.ingest.corpus).exists():
        raise _fail(f"corpus not found: {settings.ingest.corpus}", EXIT_USAGE)
    for label, path in (
        ("codebook", settings.classify.codebook),
        ("model", settings.classify.model),
        ("codes file", settings.compare.codes),
    ):
        if path is not None and not Path(path).exists():
            raise _fail(f"{label} not found: {path}", EXIT_USAGE)
    _check_codes(settings.compare.codes, settings.classify.codebook)
    _check_out(out, "run")

    from flows.environment import prepare_environment

    level = "DEBUG" if debug else "INFO" if verbose else None
    prepare_environment(settings.store.runs_dir, log_level=level)
    if debug:
        logging.getLogger("pipeline").setLevel(logging.DEBUG)
    from flows.api_server import TemporaryServer, no_heartbeats
    from pipeline.memory import limit_malloc_arenas

    limit_malloc_arenas()  # tasks run in threads; fewer arenas retain less memory
    # At exit, the interpreter's last garbage collections walk every object
    # of torch, spaCy and scikit-learn (1.5 s here); frozen objects are skipped.
    # Registered before Prefect and the server register theirs, so it runs after them.
    atexit.register(gc.freeze)

    # boots on the other core while the pipeline is imported
    server = TemporaryServer.start_if_needed()
    try:
        from flows.theme_pipeline import theme_pipeline

        _quiet_user_errors(debug)
        if server is not None:
            # the libraries new documents need load while the server boots
            threading.Thread(target=_warm_imports, daemon=True).start()
            server.wait()
        with (
            _progress_bars(),
            no_heartbeats() if server is not None else contextlib.nullcontext(),
        ):
            summary = theme_pipeline(
                config_path=str(config) if config else None, overrides=overrides
            )
    except StoreBusyError as error:
        raise _fail(str(error), EXIT_BUSY) from None
    except OutputFolderError as error:
        raise _fail(str(error), EXIT_USAGE) from None
    except PipelineError as error:
        raise _fail(_in_step(error) + str(error), EXIT_FAILED) from None
    except Exception as error:
        if debug:
            raise
        raise _fail(_in_step(error) + _unexpected(error), EXIT_FAILED) from None
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


@app.command()
def train(
    codes: Annotated[
        Path,
        typer.Option(help="Human codes: long or wide CSV/XLSX, or a .qdpx project."),
    ],
    out: Annotated[Path, typer.Option(help="Model folder, e.g. models/my_study.")],
    config: ConfigOption = None,
    corpus: CorpusOption = None,
    codebook: CodebookOption = None,
    id_column: IdColumnOption = None,
    text_column: TextColumnOption = None,
    unit: UnitOption = None,
    holdout: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.9,
            help=(
                "Share of documents (or groups) kept out of training, "
                "for later testing."
            ),
        ),
    ] = 0.0,
    anonymise: Annotated[
        str | None,
        typer.Option(
            help="What to do with identifiers the check finds: report, redact or block."
        ),
    ] = None,
) -> None:
    """Train a supervised classifier from human codes and save it with its card.

    Example: themes train --corpus examples/nhs_feedback/feedback.csv --id-column
    "Comment ID" --text-column "FFT answer" --codes examples/nhs_feedback/feedback.csv
    --codebook config/codebooks/nhs_feedback.yaml --out models/nhs_feedback
    """
    _, settings = _settings(
        config,
        {
            "corpus": corpus,
            "id_column": id_column,
            "text_column": text_column,
            "unit": unit,
            "codebook": codebook,
            "anonymise": anonymise,
        },
    )
    if settings.ingest.corpus is None or settings.classify.codebook is None:
        raise _fail(
            "train needs --corpus and --codebook (or both in the config)", EXIT_USAGE
        )
    for label, path in (
        ("corpus", settings.ingest.corpus),
        ("codebook", settings.classify.codebook),
        ("codes file", codes),
    ):
        if not Path(path).exists():
            raise _fail(f"{label} not found: {path}", EXIT_USAGE)
    _check_codes(codes, settings.classify.codebook)
    _check_out(out, "model")
    from flows.environment import prepare_environment

    prepare_environment(settings.store.runs_dir)
    from pipeline.coding.train import train_from_files

    try:
        with _progress_bars():
            result = train_from_files(
                settings, codes_path=codes, out=out, holdout=holdout
            )
    except PipelineError as error:
        usage = isinstance(error, ConfigError | OutputFolderError)
        raise _fail(str(error), EXIT_USAGE if usage else EXIT_FAILED) from None
    except Exception as error:
        raise _fail(_unexpected(error), EXIT_FAILED) from None
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
    names = result.card.get("code_names") or {}
    for report in result.reports:
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
    console.print("Cross-validated (grouped) quality per code:")
    console.print(table)
    untrained = [r for r in result.reports if not r.trained]
    if untrained:
        console.print(
            "Not trained, not enough human examples "
            f"(< {settings.classify.min_examples}): "
            + ", ".join(
                f"{names.get(r.code, r.code)} ({r.n_examples})" for r in untrained
            ),
            highlight=False,
        )

    for note in result.card.get("notes", []):
        console.print(f"  {note}", highlight=False, markup=False)
    console.print(f"Model: [bold]{out}[/] (card: {out / 'CARD.md'})")


@app.command()
def suggest(
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run", help="Run folder (default: the newest run in the store)."
        ),
    ] = None,
    n: Annotated[
        int, typer.Option("--n", min=1, help="How many segments to suggest.")
    ] = 50,
    codes: Annotated[
        Path | None,
        typer.Option(help="Human codes so far (those segments are skipped)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="CSV to write (default: <run>/suggestions.csv).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """List the uncoded segments whose human coding would help the classifier most.

    Example: themes suggest --run runs/demo --codes examples/nhs_managers/codes.csv --n 50
    """  # noqa: E501 (one line, so the help shows the example unbroken)
    _, settings = _settings(config, {})
    _check_out_file(out)
    from pipeline.coding.suggest import suggest_from_run

    try:
        folder = run_dir or _newest_run(settings)
        path = suggest_from_run(folder, settings, n=n, codes_path=codes, out=out)
    except PipelineError as error:
        raise _fail(str(error), EXIT_FAILED) from None
    if path is None:
        console.print(
            "Nothing to suggest: every segment is in a document that already has "
            "human codes (nothing written)."
        )
        return
    console.print(f"Suggestions: [bold]{path}[/]")


@app.command()
def compare(
    codes: Annotated[Path, typer.Option(help="Human codes (CSV, XLSX or .qdpx).")],
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run", help="Run folder (default: the newest run in the store)."
        ),
    ] = None,
    codebook: CodebookOption = None,
    config: ConfigOption = None,
) -> None:
    """Compare a run's auto-codes with human codes; rebuild its report and exports.

    Writes the agreement tables, then the report, the workbook and the
    REFI-QDA project again with these human codes.

    Example: themes compare --run runs/demo --codes examples/nhs_managers/codes.csv
    """
    _, settings = _settings(config, {"codebook": codebook, "codes": str(codes)})
    if not codes.exists():
        raise _fail(f"codes file not found: {codes}", EXIT_USAGE)
    _check_codes(codes, settings.classify.codebook)
    from pipeline.agreement.compare import compare_run
    from pipeline.outputs.export import rebuild_outputs, record_comparison

    try:
        folder = run_dir or _newest_run(settings)
        run_config = _run_config(folder, settings)
        summary = compare_run(folder, run_config, codes_path=codes)
        record_comparison(folder, summary)
        written = rebuild_outputs(
            folder,
            run_config,
            codes=codes,
            codebook=run_config.classify.codebook,
        )
    except ConfigError as error:
        raise _fail(str(error), EXIT_USAGE) from None
    except PipelineError as error:
        raise _fail(str(error), EXIT_FAILED) from None
    _print_agreement(summary)
    console.print(f"Results: [bold]{folder}[/] (agreement.csv, disagreements.csv)")
    for name in ("report.html", "results.xlsx", "auto_codes.qdpx"):
        if name in written:
            console.print(f"  {name}: {written[name]}", highlight=False)


@app.command()
def check(
    corpus: Annotated[Path, typer.Argument(help="Folder of transcripts, or a table.")],
    config: ConfigOption = None,
    id_column: IdColumnOption = None,
    text_column: TextColumnOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Also write the findings (kind, document, offsets) to this CSV."
        ),
    ] = None,
) -> None:
    """Check a corpus for identifiers left in the speech; print findings per document.

    Reads the corpus as a run would, and reports where names, places,
    organisations, e-mail addresses, phone numbers, postcodes, NHS and
    National Insurance numbers, dates of birth and web addresses seem to be
    left, as counts per kind; it never prints the identifiers. Writes nothing
    unless --out is given. Exit status 3 when anything is found, 1 when no
    source could be read (nothing was checked).

    Example: themes check examples/nhs_managers
    """
    _, settings = _settings(
        config,
        {"corpus": str(corpus), "id_column": id_column, "text_column": text_column},
    )
    if not corpus.exists():
        raise _fail(f"corpus not found: {corpus}", EXIT_USAGE)
    _check_out_file(out)
    from pipeline.io.ingest import ingest_corpus
    from pipeline.text.anonymise import IdentifierChecker, apply_policy

    try:
        with _progress_bars():
            ingested = ingest_corpus(settings.ingest)
        result = apply_policy(
            ingested.transcripts, IdentifierChecker(settings.anonymise), "report"
        )
    except PipelineError as error:
        raise _fail(str(error), EXIT_FAILED) from None
    for item in ingested.quarantined[:MAX_LISTED]:
        console.print(
            f"  not read: {item.source}: {item.reason}", highlight=False, markup=False
        )
    if len(ingested.quarantined) > MAX_LISTED:
        console.print(
            f"  ... and {len(ingested.quarantined) - MAX_LISTED:,} more not read",
            highlight=False,
        )
    if not ingested.transcripts:
        # a script gating on this command must not pass a corpus it never read
        raise _fail(
            f"nothing could be checked: none of the {len(ingested.quarantined)} "
            "source(s) could be read (see the reasons above)",
            EXIT_FAILED,
        )
    counts = result.counts()
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
    if out is not None:
        from pipeline.store.database import RunFolder

        RunFolder(out.parent).write_csv(out.name, result.findings_table())
        console.print(f"Findings (kind, document, offsets; no text): {out}")
    total = len(result.findings)
    console.print(
        f"{total} possible identifiers found"
        + (" (check them, then anonymise, or use --anonymise redact)" if total else "")
    )
    if total:
        raise typer.Exit(EXIT_QUARANTINE)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="The run folder.")],
    config: ConfigOption = None,
    codes: Annotated[
        Path | None,
        typer.Option(
            help="Human codes to put in the REFI-QDA project (default: the ones "
            "the run last compared with)."
        ),
    ] = None,
) -> None:
    """Rebuild a run's report, workbook and REFI-QDA project from its files.

    The human codes are the ones the run (or a later `themes compare`) compared
    with, so the rebuilt project keeps their codings.

    Example: themes report runs/demo
    """
    _, settings = _settings(config, {})
    if codes is not None and not codes.exists():
        raise _fail(f"codes file not found: {codes}", EXIT_USAGE)
    from pipeline.outputs.export import rebuild_outputs

    try:
        run_config = _run_config(run_dir, settings)
        written = rebuild_outputs(
            run_dir, run_config, codes=codes or settings.compare.codes
        )
    except PipelineError as error:
        raise _fail(str(error), EXIT_FAILED) from None
    for name, path in written.items():
        console.print(f"{name}: {path}", highlight=False)


@app.command()
def runs(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List runs in the store: date, corpus, counts and key agreement figures.

    Example: themes runs
    """
    import json

    _, settings = _settings(config, {})
    from pipeline.store.database import ResultsStore

    try:
        rows = ResultsStore(settings.store.database).list_runs()
    except PipelineError as error:
        raise _fail(str(error), EXIT_FAILED) from None
    summaries = []
    for row in rows:
        agreement = ""
        manifest = Path(row["out_dir"] or "") / "manifest.json"
        if manifest.is_file():
            pooled = (json.loads(manifest.read_text()).get("compare") or {}).get(
                "pooled", []
            )
            auto = [
                r["kappa"]
                for r in pooled
                if r["coder_b"] == "auto" and r["unit"] == "segments"
            ]
            human = [
                r["kappa"]
                for r in pooled
                if r["coder_b"] != "auto" and r["unit"] == "segments"
            ]
            if auto:
                agreement = f"{max(auto):.2f}" + (
                    f" / {max(human):.2f}" if human else ""
                )
        summaries.append(
            {
                "run_id": row["run_id"],
                "started_at": str(row["started_at"] or ""),
                "status": row["status"],
                "corpus": row["corpus"],
                "documents": row["n_documents"],
                "segments": row["n_segments"],
                "quarantined": row["n_quarantined"],
                "agreement": agreement,
                "folder": row["out_dir"],
            }
        )
    if as_json:
        console.print_json(json.dumps(summaries))
        return
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


def _check_codes(codes_path, codebook_path) -> None:
    """Exit 2 when the codes file uses codes the codebook does not have.

    A code matches as the codebook writes it, by name, or ignoring case,
    spacing and punctuation; the comparison's summary says which matched how.
    """
    if codes_path is None or codebook_path is None:
        return
    from pipeline.coding.codebook import load_codebook
    from pipeline.io.codes import unknown_codes

    try:
        missing = unknown_codes(codes_path, load_codebook(codebook_path))
    except PipelineError as error:
        raise _fail(str(error), EXIT_USAGE) from None
    if missing:
        listed = "; ".join(
            f"{code!r} ({', '.join(places[:3])}{', ...' if len(places) > 3 else ''})"
            for code, places in list(missing.items())[:8]
        )
        raise _fail(
            f"{codes_path}: {len(missing)} code(s) not in the codebook "
            f"{codebook_path}, neither as written, by name, nor ignoring case, "
            f"spacing and punctuation (or matching two codes): {listed}. Add them "
            "to the codebook, or write them as the codebook does",
            EXIT_USAGE,
        )


def _run_config(folder: Path, settings):
    """The run's own config, with the codebook and codes given on the command line."""
    import json

    from pipeline.config import PipelineConfig

    manifest = Path(folder) / "manifest.json"
    if not manifest.is_file():
        return settings
    stored = PipelineConfig.model_validate(json.loads(manifest.read_text())["config"])
    classify = stored.classify.model_copy(
        update={"codebook": settings.classify.codebook or stored.classify.codebook}
    )
    return stored.model_copy(update={"classify": classify, "compare": settings.compare})


@app.command()
def serve(
    cron: Annotated[
        str | None,
        typer.Option(help='Cron schedule, e.g. "0 2 * * *" (every night at 02:00).'),
    ] = None,
    refit_cron: Annotated[
        str | None,
        typer.Option(
            help=(
                "A second schedule that refits the topic model and the keyword "
                'models, e.g. "0 3 * * 0" (Sundays).'
            )
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="Deployment name.")] = "nightly",
    config: ConfigOption = None,
    corpus: CorpusOption = None,
    codebook: CodebookOption = None,
    model: Annotated[str | None, typer.Option(help="A trained classifier.")] = None,
    codes: Annotated[
        str | None, typer.Option(help="Human codes to compare with.")
    ] = None,
) -> None:
    """Serve theme_pipeline on a schedule, and for runs triggered through Prefect's API.

    Schedules live on a Prefect server: start one with `prefect server start`
    and set PREFECT_API_URL (see docs/operations.md). Without PREFECT_API_URL,
    serve starts a temporary local server that lives only as long as this
    command: its schedules and run history end when you stop it (Ctrl-C).

    Example: themes serve --config config/demo.yaml --cron "0 2 * * *"
    """
    overrides, settings = _settings(
        config, {"corpus": corpus, "codebook": codebook, "model": model, "codes": codes}
    )
    from flows.environment import prepare_environment

    prepare_environment(settings.store.runs_dir, log_level="INFO")
    from flows.api_server import api_configured

    if not api_configured():
        errors.print(
            "[bold yellow]warning:[/] no PREFECT_API_URL: serving on a temporary "
            "local server; its schedules and run history end when this command "
            "stops (see docs/operations.md to keep them)",
            highlight=False,
        )
    from prefect import serve as prefect_serve

    from flows.theme_pipeline import theme_pipeline

    parameters = {
        "config_path": str(Path(config).resolve()) if config else None,
        "overrides": overrides.model_dump(mode="json", exclude_none=True),
    }
    deployments = [
        theme_pipeline.to_deployment(name=name, cron=cron, parameters=parameters)
    ]
    if refit_cron:
        refit = {
            **parameters,
            "overrides": {
                **parameters["overrides"],
                "refit_topics": True,
                "refit_codes": True,
            },
        }
        deployments.append(
            theme_pipeline.to_deployment(
                name=f"{name}-refit", cron=refit_cron, parameters=refit
            )
        )
    console.print(
        f"Serving theme_pipeline/{name}"
        + (f" on '{cron}'" if cron else " (runs when triggered)")
        + (f", refit on '{refit_cron}'" if refit_cron else "")
    )
    prefect_serve(*deployments)


def _newest_run(settings) -> Path:

    from pipeline.errors import RunNotFoundError
    from pipeline.store.database import ResultsStore

    store = ResultsStore(settings.store.database)
    for run in store.list_runs():
        if run.get("status") == "completed" and run.get("out_dir"):
            return Path(run["out_dir"])
    raise RunNotFoundError(f"no completed run in {settings.store.database}; pass --run")


def _warm_imports() -> None:
    """Import spaCy and scikit-learn (about 4 s here) while the main thread waits.

    Neither imports this project's modules, so the main thread, which needs
    them later, can only ever wait for this import, never deadlock with it.
    """
    try:
        import sklearn.linear_model  # noqa: F401
        import spacy  # noqa: F401
    except ImportError:
        pass  # the step that needs it says what is missing


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
        quarantined = summary["quarantined"]
        console.print("[bold yellow]Quarantined[/] (not processed; fix and rerun):")
        for item in quarantined[:MAX_LISTED]:
            console.print(
                f"  {item['source']}: {item['reason']}", highlight=False, markup=False
            )
        if len(quarantined) > MAX_LISTED:
            console.print(
                f"  ... and {len(quarantined) - MAX_LISTED:,} more (every one, with "
                "its reason: manifest.json and the report)",
                highlight=False,
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
        _print_agreement(summary["compare"])

    reused = [step for step, hit in summary.get("reused", {}).items() if hit]
    counts = summary["counts"]
    if reused or counts.get("embeddings_cached"):
        console.print(
            f"Reused from earlier runs: steps {', '.join(reused) or 'none'}; "
            f"{counts.get('embeddings_cached', 0):,} embeddings cached, "
            f"{counts.get('embedded', 0):,} computed; "
            f"{counts.get('documents_segmented', 0):,} documents segmented anew"
        )
    keyword_models = (summary.get("classify") or {}).get("keyword_models") or {}
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
    outputs = summary.get("outputs") or {}
    for name in ("report.html", "results.xlsx", "auto_codes.qdpx"):
        if name in outputs:
            console.print(f"  {name}: {outputs[name]}", highlight=False)


def main() -> None:
    """Entry point for ``python -m flows.cli``."""
    app()


if __name__ == "__main__":
    sys.exit(main())


def _print_agreement(compare: dict[str, Any]) -> None:
    """Pooled agreement per unit and pair of coders, then how the codes were read.

    Each row shows both coders' share of units coded (prevalence, the mean
    over codes) side by side before kappa, so a coder that barely used the
    codes is never read as agreeing: the table's flags (a lopsided pair, an
    undefined kappa) are printed under it, numbered. Human-vs-human rows are
    the ceiling. Then: used and unused rows of the human codes, how their
    codes matched the codebook, auto-coders skipped, and the import's notes.
    """

    def share(value: Any) -> str:
        if value is None or value != value:  # absent (an older run) or NaN
            return "-"
        return f"{value:.1%}"

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
            share(row.get("prevalence_a")),
            share(row.get("prevalence_b")),
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
