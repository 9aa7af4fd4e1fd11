"""UMAP's compiled code is kept in NUMBA_CACHE_DIR: a second process compiles none."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# A topic fit on 300 blobs (UMAP + HDBSCAN, then the intertopic map's UMAP),
# listing the numba functions of UMAP, pynndescent and HDBSCAN compiled after
# the imports (functions UMAP compiles eagerly at import are not cacheable).
FIT_AND_LIST_COMPILED = """
import json

import numpy as np
from numba.core import event
from sklearn.datasets import make_blobs

from pipeline.config.analysis import TopicsConfig
from pipeline.topics.estimator import TopicModeler
from pipeline.topics.figures import topic_figures

compiled = []


class Compiled(event.Listener):
    def on_start(self, ev):
        pass

    def on_end(self, ev):
        function = ev.data["dispatcher"].py_func
        compiled.append(f"{function.__module__}.{function.__qualname__}")


import umap  # noqa: E402,F401

event.register("numba:compile", Compiled())
vectors, groups = make_blobs(n_samples=300, centers=4, n_features=16, random_state=0)
vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
words = ["budget", "staff", "rota", "patients"]
texts = [f"the {words[g]} plan and the {words[g]} review" for g in groups]
modeler = TopicModeler(TopicsConfig(), random_state=0).fit(texts, vectors)
topic_figures(modeler, texts, {})
libraries = ("umap", "pynndescent", "hdbscan")
ours = sorted({name for name in compiled if name.split(".")[0] in libraries})
print(json.dumps(ours))
"""


def _compiled_in_new_process(cache_dir) -> list[str]:
    env = os.environ | {"NUMBA_CACHE_DIR": str(cache_dir), "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-c", FIT_AND_LIST_COMPILED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_second_process_does_not_compile_umap_again(tmp_path):
    first = _compiled_in_new_process(tmp_path)
    assert any(name.startswith("umap.") for name in first), first
    assert any(path.suffix == ".nbi" for path in tmp_path.rglob("*"))
    second = _compiled_in_new_process(tmp_path)
    assert second == []
