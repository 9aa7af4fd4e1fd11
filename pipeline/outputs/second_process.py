"""Writers handed to one second process while the report step goes on.

The report step writes several files that need nothing from each other: the
workbook and the REFI-QDA project are long at scale (a 100,000-segment run:
about 20 s and 17 s of one core), and the HTML report and the CSVs are
written meanwhile. A :class:`SecondProcess` runs what it is given in one
spawned process, in the order given; disabled (one CPU, or too little to
write to pay for a process's start), it runs each at once in this process.
Either way the files are the same (tested).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class SecondProcess:
    """Runs functions in one spawned process, one after another.

    Args:
        enabled: Use a second process (ignored on a one-CPU machine).
    """

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled and (os.cpu_count() or 1) >= 2
        self._pool = None

    def submit(self, function: Callable[..., T], *args, **kwargs) -> Callable[[], T]:
        """Start ``function(*args, **kwargs)``; the function returned waits for it.

        Disabled, the call runs now and what it raises is raised here; in the
        second process, the arguments are pickled, and what it raises is
        raised by the waiting function.
        """
        if not self.enabled:
            result = function(*args, **kwargs)
            return lambda: result
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool.submit(function, *args, **kwargs).result

    def __enter__(self) -> SecondProcess:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            # the process ends once what it was given is done
            self._pool.shutdown(wait=False, cancel_futures=exc[0] is not None)
