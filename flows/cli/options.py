"""Command-line options that several ``themes`` commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
AnonymiseOption = Annotated[
    str | None,
    typer.Option(
        help="What to do with identifiers the check finds: report, redact or block."
    ),
]
RunFolderOption = Annotated[
    Path | None,
    typer.Option("--run", help="Run folder (default: the newest run in the store)."),
]
