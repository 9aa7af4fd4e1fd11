"""The ONNX exports the embedding tests share.

Exporting MiniLM to ONNX and building its calibrated int8 graph take about a
minute; they are made once for all test processes (xdist workers share the
folder: the first to take the lock builds, the others read).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    """An ONNX cache folder holding MiniLM's fp32 export and its int8 graph."""
    from filelock import FileLock

    from pipeline.config.analysis import EmbedConfig
    from pipeline.embed.registry import make_embedder

    # the workers of one xdist session share their base folder's parent
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    shared = tmp_path_factory.getbasetemp()
    shared = shared.parent if run else shared
    folder = shared / "onnx-cache"
    with FileLock(str(shared / "onnx-cache.lock")):
        if not (folder / ".built").is_file():
            make_embedder(EmbedConfig(backend="onnx-int8", onnx_cache_dir=folder))
            (folder / ".built").touch()
    return folder
