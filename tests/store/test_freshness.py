"""A run folder is up to date exactly when nothing its results depend on changed."""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from pipeline.config.run import PipelineConfig, load_config
from pipeline.store import run_files
from pipeline.store.freshness import (
    FINGERPRINTED_PATHS,
    NOT_INPUTS,
    record_run_inputs,
    run_fingerprint,
    up_to_date_run,
)


def _path_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Dotted names of every field of the config that holds a path."""
    found = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        options = typing.get_args(annotation) or (annotation,)
        for option in options:
            if isinstance(option, type) and issubclass(option, BaseModel):
                found |= _path_fields(option, f"{prefix}{name}.")
            elif option is Path:
                found.add(f"{prefix}{name}")
    return found


def test_every_file_the_config_can_name_is_an_input_or_a_cache():
    fields = _path_fields(PipelineConfig)
    assert fields == set(FINGERPRINTED_PATHS) | set(NOT_INPUTS), (
        "a new path setting: add it to run_fingerprint (an input) or to "
        "NOT_INPUTS (a cache or output place)"
    )


@pytest.fixture()
def finished_run(tmp_path):
    """A corpus, its config and a run folder recorded as completed on it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Interviewer: Why?\nP1: Because.\n")
    (corpus / "b.txt").write_text("Interviewer: How?\nP2: Slowly.\n")
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text("codes:\n  - id: a\n    name: A\n    definition: a\n")
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        f"ingest:\n  corpus: {corpus}\nclassify:\n  codebook: {codebook}\n"
        f"store:\n  runs_dir: {tmp_path / 'runs'}\n"
    )
    run = tmp_path / "run"
    run.mkdir()
    (run / run_files.MANIFEST).write_text(
        json.dumps({"run_id": "r1", "status": "completed", "counts": {}})
    )
    (run / "auto_codes.csv").write_text("segment_id,code\n")
    config = load_config(config_file)
    record_run_inputs(run, fingerprint=run_fingerprint(config), run_id="r1")
    return types.SimpleNamespace(
        config_file=config_file, corpus=corpus, codebook=codebook, run=run
    )


def _fresh(case) -> bool:
    config = load_config(case.config_file)
    return up_to_date_run(case.run, run_fingerprint(config)) is not None


def test_an_unchanged_run_folder_is_up_to_date(finished_run):
    assert _fresh(finished_run)
    done = up_to_date_run(
        finished_run.run, run_fingerprint(load_config(finished_run.config_file))
    )
    assert done["run_id"] == "r1"


@pytest.mark.parametrize(
    "change",
    [
        "a corpus file",
        "a new corpus file",
        "the codebook",
        "a setting",
        "an output file",
        "a later failed run",
    ],
)
def test_any_change_to_inputs_or_outputs_means_work_to_do(finished_run, change):
    case = finished_run
    if change == "a corpus file":
        (case.corpus / "a.txt").write_text("Interviewer: Why?\nP1: Because!\n")
    elif change == "a new corpus file":
        (case.corpus / "c.txt").write_text("Interviewer: Who?\nP3: Me.\n")
    elif change == "the codebook":
        case.codebook.write_text("codes:\n  - id: a\n    name: A\n    definition: b\n")
    elif change == "a setting":
        text = case.config_file.read_text()
        case.config_file.write_text(
            text.replace("classify:\n", "classify:\n  margin: 0.2\n")
        )
    elif change == "an output file":
        (case.run / "auto_codes.csv").write_text("segment_id,code\ns1,a\n")
    elif change == "a later failed run":
        (case.run / run_files.MANIFEST).write_text(
            json.dumps({"run_id": "r2", "status": "failed"})
        )
    assert not _fresh(case)


def test_a_folder_without_a_record_or_with_a_damaged_one_is_not_up_to_date(
    finished_run, tmp_path
):
    assert up_to_date_run(tmp_path / "nowhere", "0" * 16) is None
    (finished_run.run / run_files.RUN_INPUTS).write_text("{not json")
    assert not _fresh(finished_run)
