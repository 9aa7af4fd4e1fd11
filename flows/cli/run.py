"""``themes run`` and ``themes serve``: the pipeline's flow, now or on a schedule."""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
from pathlib import Path
from typing import Annotated

import typer

from flows.api_server import TemporaryServer, api_configured, no_heartbeats
from flows.cli.checks import (
    check_codes,
    check_out_folder,
    check_paths_exist,
    load_settings,
)
from flows.cli.console import (
    console,
    fail,
    in_step,
    print_summary,
    print_up_to_date,
    progress_bars,
    unexpected,
    warn,
)
from flows.cli.exit_codes import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_QUARANTINE,
    EXIT_USAGE,
)
from flows.cli.options import (
    AnonymiseOption,
    CodebookOption,
    ConfigOption,
    CorpusOption,
    IdColumnOption,
    TextColumnOption,
    UnitOption,
)
from flows.cli.prefect_logs import quiet_user_errors
from flows.environment import prepare_environment
from pipeline.errors import OutputFolderError, PipelineError, StoreBusyError
from pipeline.memory import limit_malloc_arenas
from pipeline.store.freshness import run_fingerprint, up_to_date_run


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
    anonymise: AnonymiseOption = None,
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
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Run even when --out already holds the results of these inputs.",
        ),
    ] = False,
) -> None:
    """Run the whole pipeline on a corpus and write a run folder.

    With --out naming the folder of an earlier run whose inputs (corpus,
    config, codebook, codes, model, code) have not changed, nothing is run.

    Example: themes run --corpus examples/nhs_managers --codebook
    config/codebooks/nhs_managers.yaml --out runs/demo
    """
    overrides, settings = load_settings(
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
        raise fail(
            "no corpus: pass --corpus PATH or set ingest.corpus in the config",
            EXIT_USAGE,
        )
    check_paths_exist(
        ("corpus", settings.ingest.corpus),
        ("codebook", settings.classify.codebook),
        ("model", settings.classify.model),
        ("codes file", settings.compare.codes),
    )
    check_codes(settings.compare.codes, settings.classify.codebook)
    check_out_folder(out, "run")
    done = None if out is None or force else _up_to_date(settings, out)
    if done is not None:
        print_up_to_date(done)
        _exit_status(done, strict=strict)
        return

    level = "DEBUG" if debug else "INFO" if verbose else None
    prepare_environment(settings.store.runs_dir, log_level=level)
    if debug:
        logging.getLogger("pipeline").setLevel(logging.DEBUG)

    limit_malloc_arenas()  # tasks run in threads; fewer arenas retain less memory
    # At exit, the interpreter's last garbage collections walk every object
    # of torch, spaCy and scikit-learn (1.5 s here); frozen objects are skipped.
    # Registered before Prefect and the server register theirs, so it runs after them.
    atexit.register(gc.freeze)

    # boots on the other core while the pipeline is imported
    server = TemporaryServer.start_if_needed()
    try:
        # heavy: Prefect and the pipeline, imported once the server is booting
        from flows.theme_pipeline import theme_pipeline
        from pipeline.startup import (
            freeze_imported,
            import_run_libraries,
            preload_models,
        )

        # the libraries the steps need, while the server boots on the other core
        import_run_libraries()
        # Prefect imports it as the first flow run is created (about 0.3 s)
        import fastapi.encoders  # noqa: F401

        quiet_user_errors(debug)
        if server is not None:
            # the models new documents need, loaded while the server boots
            preload_models(settings, until=server.ready)
            server.wait()
        freeze_imported()
        with (
            progress_bars(),
            no_heartbeats() if server is not None else contextlib.nullcontext(),
        ):
            summary = theme_pipeline(
                config_path=str(config) if config else None, overrides=overrides
            )
    except StoreBusyError as error:
        raise fail(str(error), EXIT_BUSY) from None
    except OutputFolderError as error:
        raise fail(str(error), EXIT_USAGE) from None
    except PipelineError as error:
        raise fail(in_step(error) + str(error), EXIT_FAILED) from None
    except Exception as error:
        if debug:
            raise
        raise fail(in_step(error) + unexpected(error), EXIT_FAILED) from None
    print_summary(summary)
    _exit_status(summary, strict=strict)


def _up_to_date(settings, out: str) -> dict | None:
    """The summary of the run in ``out`` if it holds these inputs' results.

    Checked before Prefect starts (a second or so); any problem reading the
    inputs is left to the run, which reports it.
    """
    try:
        done = up_to_date_run(out, run_fingerprint(settings))
    except (PipelineError, OSError):
        return None
    if done is None:
        return None
    return done | {"out_dir": str(out), "database": str(settings.store.database)}


def _exit_status(summary: dict, *, strict: bool) -> None:
    """Exit non-zero when nothing was ingested, or, with --strict, on quarantine."""
    if summary["counts"]["documents"] == 0:
        raise fail(
            "nothing could be ingested: every source was quarantined", EXIT_FAILED
        )
    if strict and summary["quarantined"]:
        raise fail(
            f"--strict: {len(summary['quarantined'])} source(s) quarantined",
            EXIT_QUARANTINE,
        )


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
    overrides, settings = load_settings(
        config, {"corpus": corpus, "codebook": codebook, "model": model, "codes": codes}
    )
    prepare_environment(settings.store.runs_dir, log_level="INFO")
    if not api_configured():
        warn(
            "no PREFECT_API_URL: serving on a temporary local server; its "
            "schedules and run history end when this command stops (see "
            "docs/operations.md to keep them)"
        )
    # heavy: Prefect reads the environment set above when it is imported
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
