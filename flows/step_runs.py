"""Running a cached step: its folder, its checksums, its copy into the run folder.

The flow (:mod:`flows.theme_pipeline`) calls its tasks through these helpers:
:func:`run_step` runs a cached task in its step folder and copies its files
into the run folder; a folder whose files do not match their checksums is
recomputed with a one-line note (:func:`run_cached`, :func:`fresh_folder`);
:func:`measured` records each step's time and peak memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config.run import PipelineConfig
from pipeline.memory import PeakMemory, release_memory
from pipeline.steps.summary import StepSummary
from pipeline.store import cache_keys
from pipeline.store.checksums import SEAL, copy_into, discard_folder, verify_folder

logger = logging.getLogger("pipeline.cache")


def link_outputs(source: str | Path, run_dir: str | Path) -> list[str]:
    """Copy a cached step's files into the run folder (never hard links).

    A copy (a reflink where the filesystem has them) keeps damage to a run
    folder's file from reaching the cache or other runs.
    """
    names = []
    for path in sorted(Path(source).iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        copy_into(path, Path(run_dir) / path.name)
        names.append(path.name)
    return names


RELEASE_AFTER_GROWTH = 64 * 2**20
"""A step that grew the process by this many bytes gives its freed memory back."""


@contextmanager
def measured(
    step: str, timings: dict[str, float], memory: dict[str, float]
) -> Iterator[None]:
    """Record a step's wall time and the peak resident memory during it.

    The memory is that of the whole process tree. An error raised in the block
    is tagged with the step (``failed_step``), so the run's manifest can say
    where it failed.
    """
    started = time.perf_counter()
    try:
        with PeakMemory(interval=0.1) as peak:
            yield
    except BaseException as error:
        if getattr(error, "failed_step", None) is None:
            with contextlib.suppress(AttributeError, TypeError):
                error.failed_step = step
        raise
    timings[step] = time.perf_counter() - started
    memory[step] = round(peak.peak_gb, 3)
    if peak.growth >= RELEASE_AFTER_GROWTH:
        # what the step freed goes back to the system; a step that grew the
        # process little (most reused ones) skips the garbage collection that
        # walks every object of torch, spaCy and scikit-learn (0.2 s a step)
        release_memory()


@dataclass(frozen=True)
class StepOutput:
    """What a cached step's task returns: its sealed folder and summary record.

    Attributes:
        dir: The step folder (``<runs>/.cache/steps/<step>-<key>/``).
        summary: The step's summary record (``as_dict()`` for the manifest).
        seconds: How long the step took when it ran (not when reused).
    """

    dir: str
    summary: StepSummary
    seconds: float

    def for_manifest(self) -> dict[str, Any]:
        """The summary as the manifest keeps it, with the step folder."""
        return {"dir": self.dir, **self.summary.as_dict()}


@dataclass(frozen=True)
class StepRun:
    """A step as the flow ran it: its output, and whether the cache served it."""

    output: StepOutput | None
    reused: bool


def run_cached(task_fn, **parameters) -> StepRun:
    """Run a cached task; return its output and whether the cache served it.

    A cached output whose folder is missing or damaged (its files do not match
    the checksums written with them) is recomputed, with a one-line note.
    """
    return _trusted(task_fn, task_fn(**parameters, return_state=True), parameters)


def _trusted(task_fn, state, parameters: dict[str, Any]) -> StepRun:
    """A finished task's output, recomputed in line if its cached folder is damaged."""
    output = state.result()
    reused = state.name == "Cached"
    if reused and output is not None:
        problem = verify_folder(output.dir)
        if problem is not None:
            _recompute_note(output.dir, problem)
            discard_folder(output.dir)
            state = task_fn.with_options(refresh_cache=True)(
                **parameters, return_state=True
            )
            output, reused = state.result(), False
    return StepRun(output, reused)


def _recompute_note(folder: str | Path, problem: str) -> None:
    logger.warning(
        "cache: %s cannot be trusted (%s); recomputing it",
        Path(folder).name,
        problem,
    )


def run_step(
    task_fn, step: str, key: str, where: PipelineConfig, link_to: str, **parameters
) -> StepRun:
    """Run a cached step in its step folder and copy its files into ``link_to``.

    ``where``: the run's settings, which say where the step folders are;
    ``link_to``: the run folder; ``parameters``: the task's own (its settings
    or run inputs among them).

    Returns:
        The step's output (None when the step had nothing to do) and whether the
        cache served it.
    """
    ran = run_cached(
        task_fn,
        cache_key=key,
        step_dir=str(cache_keys.step_dir(where, step, key)),
        **parameters,
    )
    if ran.output is not None:
        link_outputs(ran.output.dir, link_to)
    return ran


def start_step(
    runner,
    task_fn,
    step: str,
    key: str,
    where: PipelineConfig,
    link_to: str,
    **parameters,
) -> Callable[[], StepRun]:
    """Start a cached step on ``runner`` (another process or a Dask worker).

    The same as :func:`run_step`, except that the flow goes on while the step
    runs. ``runner``: an entered task runner, or None for the flow's own.

    Returns:
        A function that waits for the step, checks its folder and copies its
        files into ``link_to``, as :func:`run_step` does, and returns the same.
    """
    parameters = dict(
        cache_key=key, step_dir=str(cache_keys.step_dir(where, step, key)), **parameters
    )
    if runner is None:
        future = task_fn.submit(**parameters)
    else:
        future = runner.submit(task_fn, parameters)

    def finish() -> StepRun:
        future.wait()
        ran = _trusted(task_fn, future.state, parameters)
        if ran.output is not None:
            link_outputs(ran.output.dir, link_to)
        return ran

    return finish


@contextmanager
def side_runner(
    config: PipelineConfig, n_segments: int, step: str, key: str | None
) -> Iterator[Any]:
    """Where a step runs beside the flow's next ones: ``False`` for in line.

    In line when there is nothing to run (``key`` None) or a sealed folder
    of the step is there to reuse. Otherwise on Dask, None (the flow's own
    runner: a worker); locally, a one-process pool when the run has at least
    ``execution.parallel_topics_from`` segments and the machine two or more
    CPUs, else ``False``.
    """
    execution = config.execution
    if key is None or (cache_keys.step_dir(config, step, key) / SEAL).is_file():
        yield False  # nothing to run, or a cached result to reuse
        return
    if execution.executor == "dask":
        yield None
        return
    threshold = execution.parallel_topics_from
    if threshold is None or n_segments < threshold or (os.cpu_count() or 1) < 2:
        yield False
        return
    from prefect.task_runners import ProcessPoolTaskRunner

    with ProcessPoolTaskRunner(max_workers=1, initializer=one_thread_each) as runner:
        yield runner


def one_thread_each() -> None:
    """Keep a second process's libraries to one thread each (BLAS, OpenMP).

    The flow's process works on the other core meanwhile; two processes of
    two threads each on two cores only swap them in and out.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def fresh_folder(folder: str, task_fn, **parameters) -> str:
    """A mapped task's folder; recomputed when it is missing or damaged."""
    problem = verify_folder(folder)
    if problem is None:
        return folder
    if Path(folder).is_dir():
        _recompute_note(folder, problem)
        discard_folder(folder)
    return task_fn.with_options(refresh_cache=True)(**parameters)


def task_runner_for(config: PipelineConfig):
    """The task runner of the ``analyse`` subflow: threads, or Dask."""
    if config.execution.executor == "dask":
        from prefect_dask import DaskTaskRunner

        if config.execution.dask_address:
            return DaskTaskRunner(address=config.execution.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": config.execution.dask_workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=1)
