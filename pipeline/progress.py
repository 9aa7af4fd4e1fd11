"""Progress reports from long steps, as log records a front end can draw.

Library code calls :func:`report_progress`; it never draws anything itself.
The ``themes`` CLI attaches a handler to the ``pipeline.progress`` logger and
turns these records into progress bars. The records carry counts only, never
transcript text.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("pipeline.progress")


def report_progress(step: str, done: int, total: int) -> None:
    """Say that ``done`` of ``total`` items of ``step`` are finished."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s: %d/%d",
            step,
            done,
            total,
            extra={
                "progress_step": step,
                "progress_done": done,
                "progress_total": total,
            },
        )


# Progress records are for a front end's handler, not for log files or the
# Prefect API: they do not travel up to the ``pipeline`` logger.
logger.propagate = False
