"""``themes train``, ``suggest`` and ``compare``: classifiers and human codes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.checks import (
    check_codes,
    check_out_file,
    check_out_folder,
    check_paths_exist,
    load_settings,
)
from flows.cli.console import (
    console,
    fail,
    print_agreement,
    print_outputs,
    print_training,
    progress_bars,
    unexpected,
)
from flows.cli.exit_codes import EXIT_FAILED, EXIT_USAGE
from flows.cli.options import (
    AnonymiseOption,
    CodebookOption,
    ConfigOption,
    CorpusOption,
    IdColumnOption,
    RunFolderOption,
    TextColumnOption,
    UnitOption,
)
from flows.cli.run_folders import newest_run, run_config
from flows.environment import prepare_environment
from pipeline.errors import ConfigError, OutputFolderError, PipelineError


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
    anonymise: AnonymiseOption = None,
) -> None:
    """Train a supervised classifier from human codes and save it with its card.

    Example: themes train --corpus examples/nhs_feedback/feedback.csv --id-column
    "Comment ID" --text-column "FFT answer" --codes examples/nhs_feedback/feedback.csv
    --codebook config/codebooks/nhs_feedback.yaml --out models/nhs_feedback
    """
    _, settings = load_settings(
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
        raise fail(
            "train needs --corpus and --codebook (or both in the config)", EXIT_USAGE
        )
    check_paths_exist(
        ("corpus", settings.ingest.corpus),
        ("codebook", settings.classify.codebook),
        ("codes file", codes),
    )
    check_codes(codes, settings.classify.codebook)
    check_out_folder(out, "model")
    prepare_environment(settings.store.runs_dir)
    # heavy: pulls in scikit-learn and pandas; kept out of start-up
    from pipeline.coding.train_from_files import train_from_files

    try:
        with progress_bars():
            model = train_from_files(
                settings, codes_path=codes, out=out, holdout=holdout
            )
    except PipelineError as error:
        usage = isinstance(error, ConfigError | OutputFolderError)
        raise fail(str(error), EXIT_USAGE if usage else EXIT_FAILED) from None
    except Exception as error:
        raise fail(unexpected(error), EXIT_FAILED) from None
    print_training(model, min_examples=settings.classify.min_examples, out=out)


def suggest(
    run_dir: RunFolderOption = None,
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
    _, settings = load_settings(config, {})
    check_out_file(out)
    # heavy: pulls in pandas and pyarrow; kept out of start-up
    from pipeline.coding.suggest import suggest_from_run
    from pipeline.steps.inputs import resolve_run_inputs

    try:
        folder = run_dir or newest_run(settings)
        config_of_run = run_config(folder, settings)
        path = suggest_from_run(
            folder,
            config_of_run,
            codebook=resolve_run_inputs(config_of_run).codebook,
            n=n,
            codes_path=codes,
            out=out,
        )
    except PipelineError as error:
        raise fail(str(error), EXIT_FAILED) from None
    if path is None:
        console.print(
            "Nothing to suggest: every segment is in a document that already has "
            "human codes (nothing written)."
        )
        return
    console.print(f"Suggestions: [bold]{path}[/]")


def compare(
    codes: Annotated[Path, typer.Option(help="Human codes (CSV, XLSX or .qdpx).")],
    run_dir: RunFolderOption = None,
    codebook: CodebookOption = None,
    config: ConfigOption = None,
) -> None:
    """Compare a run's auto-codes with human codes; rebuild its report and exports.

    Writes the agreement tables, then the report, the workbook and the
    REFI-QDA project again with these human codes.

    Example: themes compare --run runs/demo --codes examples/nhs_managers/codes.csv
    """
    _, settings = load_settings(config, {"codebook": codebook, "codes": str(codes)})
    check_paths_exist(("codes file", codes))
    check_codes(codes, settings.classify.codebook)
    # heavy: pulls in pandas and pyarrow; kept out of start-up
    from pipeline.agreement.run_comparison import compare_run
    from pipeline.outputs.rebuild import rebuild_outputs, record_comparison
    from pipeline.steps.inputs import resolve_run_inputs

    try:
        folder = run_dir or newest_run(settings)
        config_of_run = run_config(folder, settings)
        inputs = resolve_run_inputs(config_of_run)
        summary = compare_run(
            folder,
            config_of_run,
            codebook=inputs.codebook,
            codebook_path=inputs.codebook_path,
            codes_path=codes,
        )
        record_comparison(folder, summary)
        written = rebuild_outputs(
            folder,
            config_of_run,
            codes=codes,
            codebook=config_of_run.classify.codebook,
        )
    except ConfigError as error:
        raise fail(str(error), EXIT_USAGE) from None
    except PipelineError as error:
        raise fail(str(error), EXIT_FAILED) from None
    print_agreement(summary)
    console.print(f"Results: [bold]{folder}[/] (agreement.csv, disagreements.csv)")
    print_outputs(written)
