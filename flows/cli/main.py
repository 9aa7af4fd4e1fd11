"""The ``themes`` command: the Typer app and its commands, in the order of its help.

Exit statuses are listed in :mod:`flows.cli.exit_codes`.
"""

from __future__ import annotations

import typer

from flows.cli.check import check
from flows.cli.coding import compare, suggest, train
from flows.cli.results import report, runs
from flows.cli.run import run, serve

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


@app.callback()
def _main() -> None:
    """Find themes in interview transcripts (see ``themes COMMAND --help``)."""


app.command()(run)
app.command()(train)
app.command()(suggest)
app.command()(compare)
app.command()(check)
app.command()(report)
app.command()(runs)
app.command()(serve)
