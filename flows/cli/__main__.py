"""``python -m flows.cli``: the ``themes`` command."""

from flows.cli.main import app

app()
