"""Peak resident memory of a block of work, for run manifests and benchmarks.

A thread samples the resident set size of this process (and of its child
processes, such as Dask workers or a subprocess the block starts) while the
block runs; ``peak_gb`` holds the largest sum seen. Sampling misses peaks
shorter than the interval, so figures are a lower bound within that.

Listing child processes means reading every process's parent from ``/proc``,
so the list is refreshed only every ``children_every`` seconds; in between,
the processes already known are sampled (cheap: one small file each). A
child that starts and ends within that time is not counted.
"""

from __future__ import annotations

import threading
import time

import psutil


class PeakMemory:
    """Samples resident memory in a thread; ``peak_gb`` after the block.

    Args:
        interval: Seconds between samples.
        children_every: Seconds between two listings of the child processes.

    Example:
        >>> with PeakMemory() as memory:
        ...     data = bytearray(10_000_000)
        >>> memory.peak_gb > 0
        True
    """

    def __init__(self, interval: float = 0.05, children_every: float = 1.0) -> None:
        self.interval = interval
        self.children_every = children_every
        self.start = 0
        self.peak = 0
        self.peak_by_process: dict[int, int] = {}
        """Each process's own peak resident memory in bytes, by process id."""
        self.commands: dict[int, str] = {}
        """Each sampled process's command line, by process id."""
        self._stop = threading.Event()

    def __enter__(self) -> PeakMemory:
        self._process = psutil.Process()
        self._processes: list[psutil.Process] = []
        self._listed_at = -float("inf")
        self._stop.clear()
        self.start = self.peak = self._rss(list_children=True)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _rss(self, *, list_children: bool = False) -> int:
        now = time.monotonic()
        if list_children or now - self._listed_at >= self.children_every:
            try:
                children = self._process.children(recursive=True)
            except psutil.Error:
                children = []
            self._processes = [self._process, *children]
            self._listed_at = now
        total = 0
        for process in self._processes:
            try:
                rss = process.memory_info().rss
                if process.pid not in self.commands:
                    self.commands[process.pid] = " ".join(process.cmdline())
            except psutil.Error:
                continue  # a child that ended between listing and reading
            total += rss
            self.peak_by_process[process.pid] = max(
                rss, self.peak_by_process.get(process.pid, 0)
            )
        return total

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss(list_children=True))

    @property
    def peak_gb(self) -> float:
        """The peak in GiB."""
        return self.peak / 2**30

    @property
    def growth(self) -> int:
        """Bytes the block added at its peak, over the memory it started with."""
        return self.peak - self.start


def release_memory() -> None:
    """Give memory freed by a finished step back to the operating system.

    Python frees a step's arrays, but glibc's allocator keeps the pages for
    reuse (in one arena per thread that allocated them), so the process's
    resident memory only grows from step to step. ``malloc_trim`` returns
    the free pages; elsewhere than glibc this only collects garbage.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc (macOS, musl): nothing to trim


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Let glibc keep at most ``arenas`` malloc arenas (one per thread by default).

    Prefect runs tasks in worker threads; each thread's arena keeps the
    memory it freed, so many threads mean much retained memory. The same as
    ``MALLOC_ARENA_MAX`` in the environment, set from inside the process.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        ctypes.CDLL(name).mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass
