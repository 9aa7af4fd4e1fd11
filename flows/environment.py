"""Environment set before Prefect or any model library is imported.

- ``PREFECT_HOME`` inside the runs folder unless the user has set one, so a
  run needs no server to start by hand and leaves nothing in ``~/.prefect``.
- ``PREFECT_SERVER_ANALYTICS_ENABLED=false``: no telemetry.
- ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1``: models come from local
  packages; nothing is downloaded at run time.
- ``PREFECT_LOGGING_EXTRA_LOGGERS=pipeline``: the library's log records go
  through Prefect's loggers (they never hold transcript text).
- ``NUMBA_CACHE_DIR`` in ``<runs_dir>/.cache/numba``: the compiled code of
  UMAP and pynndescent is kept, so a later run does not compile it again.
  pynndescent marks its functions ``cache=True``; UMAP does not, and the
  topic step turns the cache on for them
  (:mod:`pipeline.topics.numba_cache`). HDBSCAN is compiled with Cython and
  needs no cache. ``tests/topics/test_numba_cache.py`` checks that a second
  process compiles none of them.
"""

from __future__ import annotations

import os
from pathlib import Path


def prepare_environment(runs_dir: str | Path, *, log_level: str | None = None) -> None:
    """Set the environment variables above (user-set values are kept).

    Args:
        runs_dir: The runs folder; Prefect's home goes in ``<runs_dir>/.prefect``.
        log_level: Prefect's log level; by default ``WARNING`` unless the user
            set ``PREFECT_LOGGING_LEVEL``.

    """
    home = Path(runs_dir).resolve() / ".prefect"
    os.environ.setdefault("PREFECT_HOME", str(home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "pipeline")
    if log_level is not None:
        os.environ["PREFECT_LOGGING_LEVEL"] = log_level
    else:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault(
        "NUMBA_CACHE_DIR", str(Path(runs_dir).resolve() / ".cache" / "numba")
    )
    os.environ.setdefault("TQDM_DISABLE", "1")  # the CLI draws its own progress bars

    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
