"""What a process that runs the pipeline does once, before its first step.

A run imports spaCy and scikit-learn (about 2 s here) and then keeps their
modules, classes and functions, some 400,000 objects, for its whole life.
:func:`import_run_libraries` imports them up front, spaCy without torch, and
:func:`freeze_imported` takes what is then alive out of later garbage
collections, which otherwise walk it all after every step (about 0.2 s each).
"""

from __future__ import annotations

import functools
import gc
import importlib
import logging
import sys
from collections.abc import Callable

from pipeline.config.run import PipelineConfig
from pipeline.embed.registry import cached_embedder
from pipeline.text.identifiers.policy import cached_checker
from pipeline.text.spacy_pipelines import shared_pipeline

logger = logging.getLogger(__name__)

#: What the steps import, imported first by :func:`import_run_libraries`.
RUN_LIBRARIES = ("spacy", "sklearn.linear_model")


def import_run_libraries() -> None:
    """Import the libraries the steps use; spaCy without torch when it can.

    spaCy's layer library, thinc, imports torch whenever torch is installed
    (1.2 s of a 1.7 s ``import spacy`` here), though the spaCy pipelines this
    project loads run on numpy alone. So while neither spaCy nor torch is
    imported, spaCy is imported with torch hidden. torch itself is not
    affected: the steps that use it (the torch embedding engine, BERTopic's
    fit) import it as usual later; only thinc's own torch layers, which no
    pipeline here uses, stay off.

    Hiding torch applies to the whole process for the length of the import:
    call this before any other thread imports. A library that is not
    installed is left to the step that needs it, which says what is missing.
    """
    if "spacy" not in sys.modules and "torch" not in sys.modules:
        sys.modules["torch"] = None  # `import torch` now fails at once
        try:
            importlib.import_module("spacy")
        except ImportError:
            pass
        finally:
            if "torch" in sys.modules and sys.modules["torch"] is None:
                del sys.modules["torch"]
    for name in RUN_LIBRARIES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def preload_models(config: PipelineConfig, *, until: Callable[[], bool]) -> list[str]:
    """Load the models a run with new documents needs, until ``until()`` is true.

    For a process that would otherwise wait (``themes run`` while Prefect's
    server boots on the other core). In the order a run uses them: the spaCy
    packages of the anonymisation check, segmentation and the network step
    (each once: :func:`~pipeline.text.spacy_pipelines.shared_pipeline`),
    then the embedding model, each into the cache its steps take it from, so
    no step loads it again. A run with nothing new leaves them unused. A
    model that fails to load is left to its step, which reports it.

    Args:
        config: The run's settings.
        until: Checked before each model; loading stops once it is true.

    Returns:
        What was loaded: spaCy package names, then ``embedder``.
    """
    packages = []
    if cached_checker(config.anonymise).uses_ner:
        packages.append(config.anonymise.spacy_model)
    if not config.segment.spacy_model.startswith("blank:"):
        packages.append(config.segment.spacy_model)
    if config.network.enabled:
        packages.append(config.network.spacy_model)
    loaders: list[tuple[str, Callable[[], object]]] = [
        (name, functools.partial(shared_pipeline, name))
        for name in dict.fromkeys(packages)
    ]
    loaders.append(("embedder", lambda: cached_embedder(config.embed)))
    loaded = []
    for name, load in loaders:
        if until():
            break
        try:
            load()
        except Exception as error:  # noqa: BLE001 - the step reports it
            logger.debug("preload: %s not loaded (%s)", name, type(error).__name__)
            continue
        loaded.append(name)
    return loaded


def freeze_imported() -> None:
    """Leave every object alive now out of later garbage collections.

    Call it once the libraries are imported (and any models preloaded), before
    the first step. Frozen objects are still freed when nothing refers to
    them; only a reference cycle among them would be kept, and modules,
    classes, functions and cached models live as long as the process.
    """
    gc.freeze()
