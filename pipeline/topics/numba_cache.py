"""Keep UMAP's compiled code between processes.

UMAP's numba functions are compiled on first use and, unlike most of
pynndescent's, are not marked ``cache=True``: every new process compiled
them again (about 16 s of a small corpus's topic step on 2 cores, with
pynndescent already cached). :func:`cache_umap_functions` turns numba's
file cache on for every jitted function of UMAP's modules before they are
first called, so a later process loads the machine code from
``NUMBA_CACHE_DIR`` (``<runs_dir>/.cache/numba``, set by
``flows.environment``) instead of compiling it. The functions themselves are
UMAP's, unchanged: results are identical.

Functions that UMAP compiles eagerly at import (those declared with a type
signature) cannot be cached this way; they take well under a second.
"""

from __future__ import annotations

import importlib
import logging

logger = logging.getLogger(__name__)

UMAP_MODULES = (
    "umap.distances",
    "umap.layouts",
    "umap.umap_",
    "umap.utils",
    "umap.sparse",
)
"""The modules whose jitted functions the topic step's UMAP fits call."""

_done = False


def cache_umap_functions() -> int:
    """Turn on numba's file cache for UMAP's jitted functions (once per process).

    Must run before UMAP's functions are first called in the process (it may
    run after ``import umap``). Without ``NUMBA_CACHE_DIR`` numba writes the
    cache beside UMAP's sources, or keeps it in memory when that folder is
    read-only.

    Returns:
        The number of functions whose cache was turned on (0 on later calls).
    """
    global _done
    if _done:
        return 0
    # heavy: kept out of start-up
    from numba.core.dispatcher import Dispatcher

    n_cached = 0
    for name in UMAP_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            # the same function is often imported into several modules
            if isinstance(value, Dispatcher) and not getattr(
                value, "_topics_cached", 0
            ):
                value.enable_caching()
                value._topics_cached = 1
                n_cached += 1
    _done = True
    logger.debug("topics: numba file cache on for %d UMAP functions", n_cached)
    return n_cached
