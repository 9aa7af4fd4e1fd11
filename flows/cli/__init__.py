"""The ``themes`` command: one module per group of commands, and the console.

- :mod:`flows.cli.main`: the Typer app (``themes``), which registers the commands;
- :mod:`flows.cli.run`: ``themes run`` and ``themes serve``;
- :mod:`flows.cli.coding`: ``themes train``, ``suggest`` and ``compare``;
- :mod:`flows.cli.check`: ``themes check``;
- :mod:`flows.cli.results`: ``themes report`` and ``themes runs``;
- :mod:`flows.cli.options`, :mod:`flows.cli.checks` and
  :mod:`flows.cli.run_folders`: options, checks before any work, and run folders
  shared by the commands;
- :mod:`flows.cli.console`: what the commands print (summaries, tables, progress
  bars, error lines); :mod:`flows.cli.prefect_logs`: Prefect's logs kept quiet;
- :mod:`flows.cli.exit_codes`: the exit statuses.
"""
