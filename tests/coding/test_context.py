"""Context features: a segment with its turn and the question before it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from pipeline.coding.context import context_features, turn_means
from pipeline.config.analysis import SegmentConfig
from pipeline.records import Transcript, Turn
from pipeline.text.segment import segment_transcripts


def _embed_by_length(texts):
    # a deterministic stand-in encoder: one direction per text length
    out = np.zeros((len(texts), 4), dtype=np.float32)
    for row, text in enumerate(texts):
        out[row, len(text) % 4] = 1.0
    return out


def test_turn_means_follow_each_segments_document_and_turn():
    embeddings = np.array([[1, 0], [0, 1], [1, 1], [3, 4]], dtype=np.float32)
    means = turn_means(["a", "a", "b", "a"], [0, 0, 0, 1], embeddings)
    both = np.array([1, 1]) / np.sqrt(2)
    np.testing.assert_allclose(means[0], both, atol=1e-6)
    np.testing.assert_allclose(means[1], both, atol=1e-6)
    np.testing.assert_allclose(means[2], both, atol=1e-6)  # its own turn, in b
    np.testing.assert_allclose(means[3], [0.6, 0.8], atol=1e-6)


def test_context_features_are_built_from_the_segmenters_turns_and_questions(
    blank_nlp,
):
    text = (
        "Interviewer: How do you learn?\n"
        "Manager: On the job. Mostly by doing it.\n"
        "Interviewer: Who helps?\n"
        "Manager: My mentor does.\n"
    )
    starts = [text.index(line) for line in text.splitlines()]

    def turn(line: int, speaker: str, role: str) -> Turn:
        label_end = text.index(":", starts[line]) + 2
        return Turn(
            speaker=speaker,
            role=role,
            start=label_end,
            end=text.index("\n", starts[line]),
        )

    transcript = Transcript(
        document_id="M1",
        source="M1.txt",
        format="txt",
        text=text,
        turns=(
            turn(0, "Interviewer", "interviewer"),
            turn(1, "Manager", "participant"),
            turn(2, "Interviewer", "interviewer"),
            turn(3, "Manager", "participant"),
        ),
    )
    segments = segment_transcripts(
        [transcript], SegmentConfig(spacy_model="blank:en"), nlp=blank_nlp
    )
    texts = segments.column("text").to_pylist()
    assert texts == ["On the job.", "Mostly by doing it.", "My mentor does."]
    starts_ = segments.column("start").to_pylist()
    assert [text[s : s + len(t)] for s, t in zip(starts_, texts)] == texts

    embeddings = _embed_by_length(texts)
    features = context_features(segments, embeddings, _embed_by_length)
    assert features.shape == (3, 12)
    np.testing.assert_array_equal(features[:, :4], embeddings)
    # the first two sentences share their turn; the third has its own
    np.testing.assert_array_equal(features[0, 4:8], features[1, 4:8])
    np.testing.assert_allclose(np.linalg.norm(features[:, 4:8], axis=1), 1, atol=1e-6)
    np.testing.assert_array_equal(features[2, 4:8], embeddings[2])
    # each sentence carries the question asked before its turn
    questions = _embed_by_length(["How do you learn?", "Who helps?"])
    np.testing.assert_array_equal(features[0, 8:], questions[0])
    np.testing.assert_array_equal(features[1, 8:], questions[0])
    np.testing.assert_array_equal(features[2, 8:], questions[1])


def test_a_segment_without_a_question_gets_zeros_for_it():
    segments = pa.table(
        {
            "document_id": ["c1", "c2"],
            "turn_index": pa.array([0, 0], pa.int32()),
            "question": pa.array([None, "  "], pa.string()),
        }
    )
    features = context_features(segments, np.eye(2, dtype=np.float32), _embed_by_length)
    assert not features[:, 4:].any()


def test_embeddings_not_aligned_with_the_segments_are_refused():
    segments = pa.table(
        {
            "document_id": ["a"],
            "turn_index": [0],
            "question": pa.array([None], pa.string()),
        }
    )
    with pytest.raises(ValueError, match="2 embeddings for 1 segments"):
        context_features(segments, np.eye(2, dtype=np.float32), _embed_by_length)
