"""``themes train``: the anonymisation policy applies, output folders are safe."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.coding.autocodes import code_segments
from pipeline.coding.context import context_features
from pipeline.coding.train_from_files import train_from_files
from pipeline.coding.units import (
    SegmentGroups,
    choose_unit,
    chunks,
    document_units,
    unit_embeddings,
)
from pipeline.config.run import load_config
from pipeline.errors import ConfigError
from pipeline.io.codes.records import CodeAssignment, CodesImport
from pipeline.steps.prepare import prepare_corpus
from tests.conftest import ROOT

NAME = "Sarah Jones"
COURSE = [
    "The course on budgets taught me how to write a business case.",
    "I did the leadership programme at the academy and it helped.",
    "The MBA course gave me frameworks I still use in meetings.",
    "Our programme for new managers covered finance and planning.",
]
JOB = [
    "Nobody taught me, I picked it up on the job as I went along.",
    "You learn by trial and error, getting it wrong on the job.",
    "It was all on the job, trial and error with the rota every week.",
    "I learnt on the job by watching the others and trying things.",
]


def write_study(folder: Path) -> tuple[Path, Path]:
    """A table corpus of 48 comments, half naming the same person, coded per comment."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "comments.csv"
    with open(corpus, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "answer", "courses", "experience"])
        for number in range(48):
            course = number % 2 == 0
            text = (COURSE if course else JOB)[number % 4 // 2 + (number // 8) % 2 * 2]
            if number % 3 == 0:
                text += f" I rang {NAME} about it on 07700 900{number:03d}."
            writer.writerow([f"c{number:02d}", text, int(course), int(not course)])
    config = folder / "config.yaml"
    config.write_text(
        f"""
ingest:
  corpus: {corpus}
  id_column: id
  text_column: answer
segment:
  unit: turn
  spacy_model: 'blank:en'
embed:
  backend: hashing
classify:
  codebook: {ROOT / "tests" / "data" / "codebooks" / "mini.yaml"}
  min_examples: 4
  cv_folds: 3
store:
  database: {folder / "store" / "themes.duckdb"}
  runs_dir: {folder / "store"}
""",
        encoding="utf-8",
    )
    return corpus, config


def train(config: Path, corpus: Path, out: Path, *extra: str):
    from flows.cli.main import app

    return CliRunner().invoke(
        app,
        [
            "train",
            "--config",
            str(config),
            "--codes",
            str(corpus),
            "--out",
            str(out),
            *extra,
        ],
    )


def apply_model(config):
    """Prepare the corpus as a run does and code it with ``classify.model``."""
    prepared = prepare_corpus(config)
    result = code_segments(
        prepared.segments,
        prepared.documents,
        prepared.embeddings,
        embedding_model_id=prepared.model_id,
        config=config,
        codebook=None,
        embedder=prepared.embedder,
        settings_hash=config.section_hash("segment"),
    )
    return prepared, result


def model_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.mark.slow
def test_model_trained_under_redact_holds_no_identifier(tmp_path):
    corpus, config = write_study(tmp_path / "study")
    out = tmp_path / "model"
    result = train(config, corpus, out, "--anonymise", "redact")
    assert result.exit_code == 0, result.output
    everything = model_bytes(out).lower()
    for planted in (b"sarah", b"jones", b"07700", b"900003"):
        assert planted not in everything
    from pipeline.coding.trained_model import load_model

    vocabulary = load_model(out).features.vectorizer_.vocabulary_
    assert "person" in " ".join(vocabulary)  # the placeholder took the name's place
    card = json.loads((out / "card.json").read_text())
    assert card["anonymisation"]["policy"] == "redact"
    assert card["anonymisation"]["n_findings"] >= 16


@pytest.mark.slow
def test_model_trained_under_block_leaves_blocked_documents_out(tmp_path):
    corpus, config = write_study(tmp_path / "study")
    out = tmp_path / "model"
    result = train(config, corpus, out, "--anonymise", "block")
    assert result.exit_code == 0, result.output
    card = json.loads((out / "card.json").read_text())
    blocked = {f"c{n:02d}" for n in range(48) if n % 3 == 0}
    assert card["anonymisation"]["documents_blocked"] == len(blocked)
    assert not blocked & set(card["training_documents"])
    assert any("left out of training" in note for note in card["notes"])
    assert b"sarah" not in model_bytes(out).lower()


def test_train_refuses_an_out_folder_it_did_not_make(tmp_path):
    corpus, config = write_study(tmp_path / "study")
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"years of work")
    result = train(config, corpus, out)
    assert result.exit_code == 2
    assert "not made by themes" in result.output
    assert (out / "thesis.docx").read_bytes() == b"years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious", "study"]


@pytest.mark.parametrize("kind", ["file", "under a file"])
def test_train_out_naming_a_file_is_a_usage_error_before_any_work(tmp_path, kind):
    corpus, config = write_study(tmp_path / "study")
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    out = blocker if kind == "file" else blocker / "model"
    result = train(config, corpus, out)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1, result.output
    assert blocker.read_text() == "mine"
    assert not (tmp_path / "study" / "store").exists()  # nothing was read or written


@pytest.mark.slow
def test_retraining_replaces_only_our_own_model_folder(tmp_path):
    corpus, config = write_study(tmp_path / "study")
    out = tmp_path / "model"
    assert train(config, corpus, out).exit_code == 0
    first = json.loads((out / "card.json").read_text())["created_at"]
    assert train(config, corpus, out).exit_code == 0
    assert (out / "card.json").is_file()
    assert json.loads((out / "card.json").read_text())["created_at"] >= first
    # no temporary sibling is left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "study"]


@pytest.mark.slow
def test_a_trained_model_gives_its_training_documents_out_of_fold_scores(tmp_path):
    corpus, config = write_study(tmp_path / "study")
    out = tmp_path / "model"
    per_segment = {"classify.tfidf": True, "classify.unit": "segment"}
    settings = load_config(config, overrides=per_segment)
    model = train_from_files(settings, codes_path=corpus, out=out, holdout=0.25)
    assert model.card["coding_unit"] == "segment"
    applying = load_config(config, overrides=per_segment | {"classify.model": str(out)})
    prepared, result = apply_model(applying)
    documents = prepared.segments.column("document_id").to_pylist()
    held_out = np.isin(documents, model.card["holdout_documents"])
    assert held_out.any() and not held_out.all()
    methods = np.asarray(result.methods)
    assert set(methods[~held_out]) == {"supervised (out-of-fold)"}
    assert set(methods[held_out]) == {"supervised"}
    np.testing.assert_allclose(
        result.scores[~held_out], model.oof[model.codes].to_numpy()
    )
    texts = prepared.segments.column("text").to_pylist()
    # the model scores each segment in its context (turn and question)
    assert model.card["context"] and model.card["features"] == [
        "segment",
        "turn",
        "question",
    ]
    in_context = context_features(
        prepared.segments, prepared.embeddings, prepared.embedder.embed
    )
    features = model.features.transform(
        in_context[held_out],
        texts=[text for text, held in zip(texts, held_out, strict=True) if held],
    )
    np.testing.assert_allclose(
        result.scores[held_out], model.classifier.score_codes(features)
    )


def test_codes_without_offsets_train_and_predict_per_document(tmp_path):
    corpus, config = write_study(tmp_path / "study")
    out = tmp_path / "model"
    # sentences: each comment is cut in several segments, coded as a whole
    overrides = {"segment.unit": "sentence", "segment.spacy_model": "blank:en"}
    model = train_from_files(
        load_config(config, overrides=overrides),
        codes_path=corpus,
        out=out,
        holdout=0.25,
    )
    card = model.card
    assert card["coding_unit"] == "document"
    assert "whole-document codes" in card["coding_unit_reason"]
    assert card["features"] == ["document"] and card["n_units"] == 36
    assert card["n_segments"] > card["n_units"]
    assert card["encoder"]["id"] == card["embedding_model_id"]
    assert len(card["encoder"]["sha256"]) > 0
    written = (out / "CARD.md").read_text(encoding="utf-8")
    assert "Coding unit: document" in written
    assert card["encoder"]["sha256"][:16] in written
    applying = load_config(config, overrides=overrides | {"classify.model": str(out)})
    prepared, result = apply_model(applying)
    units = document_units(prepared.segments)
    assert len(units) == 48 and prepared.segments.num_rows > 48
    # every segment of a document has the document's scores
    for rows in units.rows:
        assert (result.scores[rows] == result.scores[rows[0]]).all()
    held = np.isin(units.document_ids, card["holdout_documents"])
    first_rows = np.array([rows[0] for rows in units.rows])
    methods = np.asarray(result.methods)[first_rows]
    assert set(methods[held]) == {"supervised"}
    assert set(methods[~held]) == {"supervised (out-of-fold)"}
    features = unit_embeddings(
        units, prepared.segments.column("text").to_pylist(), prepared.embedder.embed
    )
    held_texts = [t for t, h in zip(units.texts, held, strict=True) if h]
    np.testing.assert_allclose(
        result.scores[first_rows[held]],
        model.classifier.score_codes(
            model.features.transform(features[held], texts=held_texts)
        ),
        rtol=1e-5,
    )


def test_the_coding_unit_follows_the_codes_unless_set():
    def imported(*spans):
        return CodesImport(
            tuple(
                CodeAssignment("d1", "c", "human", s, None if s is None else s + 5)
                for s in spans
            ),
            (),
            ("human",),
            "codes.csv",
            "long",
        )

    assert choose_unit(imported(None, None)).name == "document"
    assert choose_unit(imported(0, None)).name == "segment"
    assert choose_unit(imported()).name == "segment"
    assert choose_unit(imported(None), "segment").name == "segment"
    with pytest.raises(ConfigError, match="classify.unit"):
        choose_unit(imported(None), "turns")


def test_documents_are_embedded_in_chunks_that_keep_their_order():
    assert chunks(["a b", "c d e", "f"], max_words=4) == ["a b", "c d e f"]
    assert chunks(["a b c d e f"], max_words=2) == ["a b c d e f"]
    seen = []

    def embed(texts):
        seen.extend(texts)
        return np.eye(len(texts), 4, dtype=np.float32)

    units = SegmentGroups(
        ["d1", "d2"], [np.array([0, 1]), np.array([2])], ["a b c", "d"]
    )
    vectors = unit_embeddings(units, ["a b", "c", "d"], embed, max_words=1)
    assert sorted(seen) == ["a b", "c", "d"]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    assert vectors[0][vectors[0] > 0].size == 2  # the mean of two chunks
