"""``themes check``: where a corpus seems to hold identifiers, as counts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.checks import check_out_file, check_paths_exist, load_settings
from flows.cli.console import (
    console,
    fail,
    print_identifier_counts,
    print_listed,
    progress_bars,
)
from flows.cli.exit_codes import EXIT_FAILED, EXIT_QUARANTINE
from flows.cli.options import ConfigOption, IdColumnOption, TextColumnOption
from pipeline.errors import PipelineError


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
    _, settings = load_settings(
        config,
        {"corpus": str(corpus), "id_column": id_column, "text_column": text_column},
    )
    check_paths_exist(("corpus", corpus))
    check_out_file(out)
    # heavy: pulls in pyarrow (and spaCy when checking); kept out of start-up
    from pipeline.io.ingest import ingest_corpus
    from pipeline.store.run_folder import RunFolder
    from pipeline.text.identifiers.checker import IdentifierChecker
    from pipeline.text.identifiers.policy import apply_policy

    try:
        with progress_bars():
            ingested = ingest_corpus(settings.ingest)
        result = apply_policy(
            ingested.transcripts, IdentifierChecker(settings.anonymise), "report"
        )
    except PipelineError as error:
        raise fail(str(error), EXIT_FAILED) from None
    print_listed(
        [f"not read: {item.source}: {item.reason}" for item in ingested.quarantined],
        more=" not read",
    )
    if not ingested.transcripts:
        # a script gating on this command must not pass a corpus it never read
        raise fail(
            f"nothing could be checked: none of the {len(ingested.quarantined)} "
            "source(s) could be read (see the reasons above)",
            EXIT_FAILED,
        )
    print_identifier_counts(result.counts())
    if out is not None:
        RunFolder(out.parent).write_csv(out.name, result.findings_table())
        console.print(f"Findings (kind, document, offsets; no text): {out}")
    total = len(result.findings)
    console.print(
        f"{total} possible identifiers found"
        + (" (check them, then anonymise, or use --anonymise redact)" if total else "")
    )
    if total:
        raise typer.Exit(EXIT_QUARANTINE)
