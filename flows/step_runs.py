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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.config.run import PipelineConfig
from pipeline.memory import PeakMemory, release_memory
from pipeline.store import cache_keys
from pipeline.store.checksums import copy_into, discard_folder, verify_folder

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
    release_memory()  # what the step freed goes back to the system


def run_cached(task_fn, **parameters) -> tuple[Any, bool]:
    """Run a cached task; return its result and whether the cache served it.

    A cached result whose folder is missing or damaged (its files do not match
    the checksums written with them) is recomputed, with a one-line note.
    """
    state = task_fn(**parameters, return_state=True)
    result = state.result()
    if isinstance(result, dict):
        result = dict(result)
    reused = state.name == "Cached"
    folder = result.get("dir") if isinstance(result, dict) else None
    if reused and folder is not None:
        problem = verify_folder(folder)
        if problem is not None:
            _recompute_note(folder, problem)
            discard_folder(folder)
            state = task_fn.with_options(refresh_cache=True)(
                **parameters, return_state=True
            )
            result, reused = dict(state.result()), False
    return result, reused


def _recompute_note(folder: str | Path, problem: str) -> None:
    logger.warning(
        "cache: %s cannot be trusted (%s); recomputing it",
        Path(folder).name,
        problem,
    )


def run_step(
    task_fn, step: str, key: str, where: PipelineConfig, link_to: str, **parameters
) -> tuple[dict[str, Any], bool]:
    """Run a cached step in its step folder and copy its files into ``link_to``.

    ``where``: the run's settings, which say where the step folders are;
    ``link_to``: the run folder; ``parameters``: the task's own (its settings
    or run inputs among them).

    Returns:
        The task's summary (without its ``seconds``) and whether the cache served
        it.
    """
    result, reused = run_cached(
        task_fn,
        cache_key=key,
        step_dir=str(cache_keys.step_dir(where, step, key)),
        **parameters,
    )
    link_outputs(result["dir"], link_to)
    result.pop("seconds", None)
    return result, reused


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
