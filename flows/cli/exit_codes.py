"""Exit statuses of the ``themes`` command.

- 0: the run completed (some sources may be quarantined; they are listed);
- 1: nothing could be ingested, or the run failed;
- 2: bad usage or configuration (unknown key, missing file, wrong value);
- 3: ``--strict`` was given and at least one source was quarantined;
- 4: the results store is busy with another run.

Bad input never shows a traceback: the CLI prints one line per problem.
"""

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_QUARANTINE, EXIT_BUSY = 0, 1, 2, 3, 4
