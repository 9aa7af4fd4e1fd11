"""Auto-codes merged into passages: within a turn, with exact offsets."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.coding.passages import PASSAGE_COLUMNS, fill_gaps, merge_passages
from pipeline.config.analysis import SegmentConfig
from pipeline.text.segment import segment_transcripts
from tests.text.test_segment import transcript_from_text

TEXT = (
    "Interviewer: Where do you learn?\n"
    "P1: I learnt on the job. Nobody showed me. I went on a course once.\n"
    "Interviewer: And then?\n"
    "P1: Trial and error again. My mentor helped.\n"
)


def table(rows):
    """A segment table from ``(document, turn, start, end)`` rows."""
    return pa.table(
        {
            "document_id": [r[0] for r in rows],
            "turn_index": [r[1] for r in rows],
            "segment_id": [f"{r[0]}:{n}" for n, r in enumerate(rows)],
            "start": [r[2] for r in rows],
            "end": [r[3] for r in rows],
        }
    )


def test_adjacent_segments_of_a_turn_merge_and_never_cross_turns():
    segments = table(
        [
            ("d1", 1, 0, 10),
            ("d1", 1, 11, 20),
            ("d1", 3, 30, 40),  # the next turn: a new passage
            ("d1", 3, 41, 50),
            ("d2", 1, 0, 12),  # the next document
        ]
    )
    decisions = np.array([[1, 0], [1, 1], [1, 1], [0, 1], [1, 0]], dtype=bool)
    scores = np.array([[0.7, 0], [0.9, 0.6], [0.8, 0.5], [0.1, 0.95], [0.6, 0]])
    passages = merge_passages(segments, ["a", "b"], scores, decisions)
    assert list(passages.columns) == PASSAGE_COLUMNS
    rows = passages[["document_id", "turn_index", "code", "start", "end"]]
    assert rows.values.tolist() == [
        ["d1", 1, "a", 0, 20],
        ["d1", 1, "b", 11, 20],
        ["d1", 3, "a", 30, 40],
        ["d1", 3, "b", 30, 50],
        ["d2", 1, "a", 0, 12],
    ]
    assert passages["n_segments"].tolist() == [2, 1, 1, 2, 1]
    assert passages["score"].tolist() == [0.9, 0.6, 0.8, 0.95, 0.6]
    assert passages["first_segment_id"].tolist()[0] == "d1:0"
    assert passages["last_segment_id"].tolist()[0] == "d1:1"


def test_a_gap_of_uncoded_segments_is_bridged_only_when_allowed():
    segments = table([("d", 0, 0, 5), ("d", 0, 6, 10), ("d", 0, 11, 15)])
    decisions = np.array([[True], [False], [True]])
    scores = np.array([[0.9], [0.2], [0.8]])
    assert len(merge_passages(segments, ["a"], scores, decisions)) == 2
    bridged = merge_passages(segments, ["a"], scores, decisions, max_gap=1)
    assert bridged[["start", "end", "n_segments"]].values.tolist() == [[0, 15, 3]]
    filled = fill_gaps(segments, decisions, max_gap=1)
    assert filled[:, 0].tolist() == [True, True, True]
    assert fill_gaps(segments, decisions, max_gap=0)[:, 0].tolist() == [
        True,
        False,
        True,
    ]
    # a gap across a turn is never filled
    split = table([("d", 0, 0, 5), ("d", 1, 6, 10), ("d", 1, 11, 15)])
    assert not fill_gaps(split, np.array([[True], [False], [True]]), max_gap=1)[1, 0]


def test_nothing_coded_gives_no_passages():
    segments = table([("d", 0, 0, 5)])
    passages = merge_passages(segments, ["a"], np.zeros((1, 1)), np.zeros((1, 1)))
    assert passages.empty and list(passages.columns) == PASSAGE_COLUMNS


def test_passages_of_real_segments_quote_the_document_exactly():
    transcript = transcript_from_text(TEXT, "t1")
    segments = segment_transcripts(
        [transcript], SegmentConfig(unit="sentence", spacy_model="blank:en")
    )
    n = segments.num_rows
    assert n == 5
    decisions = np.ones((n, 1), dtype=bool)
    passages = merge_passages(segments, ["a"], np.ones((n, 1)), decisions)
    # one passage per participant turn, each quoting the turn's speech
    text = transcript.text
    spans = zip(passages["start"], passages["end"], strict=True)
    quotes = [text[s:e] for s, e in spans]
    assert quotes == [
        "I learnt on the job. Nobody showed me. I went on a course once.",
        "Trial and error again. My mentor helped.",
    ]
