"""Prefect's logs during ``themes run``: no tracebacks of bad input, no transcript text.

The CLI explains the project's own errors in one line each (see
:mod:`flows.cli.console`), so Prefect's tracebacks of them are dropped; any
other error's message is hidden unless ``--debug``.
"""

from __future__ import annotations

import logging
import re

from pipeline.errors import PipelineError

PREFECT_LOGGERS = (
    "prefect",
    "prefect.flow_runs",
    "prefect.task_runs",
    "prefect.flow_engine",
    "prefect.task_engine",
)
"""The loggers Prefect reports task and flow failures on."""


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


def quiet_user_errors(debug: bool = False) -> None:
    """Keep Prefect from printing tracebacks of bad input or a busy store.

    Args:
        debug: Show other errors' messages and tracebacks (they may quote
            transcript text).
    """
    # A handler that cannot write (a closed or broken stream) would make the
    # logging module print the record's traceback, and with it an exception
    # message that may quote transcript text: what logging's documentation
    # advises for production.
    logging.raiseExceptions = debug
    user_errors = _UserErrorFilter(debug)
    for name in PREFECT_LOGGERS:
        logging.getLogger(name).addFilter(user_errors)
