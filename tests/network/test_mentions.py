"""Finding mentions: exact offsets, dismissals, kinds, resolution into sources."""

from __future__ import annotations

import pytest

from pipeline.config.analysis import SegmentConfig
from pipeline.network.extract import extract_knowledge_sources
from pipeline.records import transcripts_to_table
from pipeline.text.segment import segment_transcripts
from tests.network.conftest import interview


def sources_of(finder, *transcripts):
    segments = segment_transcripts(
        list(transcripts), SegmentConfig(spacy_model="blank:en")
    )
    return extract_knowledge_sources(segments, finder=finder, min_score=0.5)


def test_every_mention_keeps_exact_offsets_into_the_document(finder):
    transcript = interview(
        "A1",
        [
            "Um, I ring my line manager when I need advice, and the regional HR "
            "network is really useful.",
            "I did the Mary Seacole programme, and I read the NICE guidance.",
        ],
    )
    found = sources_of(finder, transcript)
    both = list(found.sources.itertuples()) + list(found.dismissed.itertuples())
    assert len(found.sources) >= 4
    for row in both:
        assert transcript.text[row.start : row.end] == row.mention


@pytest.mark.parametrize(
    "answer",
    [
        "I don't use the intranet, you can never find anything on it.",
        "I wouldn't go to the board for that.",
        "I've never found the CQC reports relevant to what we do.",
        "I haven't got a mentor or anything like that.",
        "I've heard of the Leadership Academy ones but never looked.",
        "There isn't really a forum where managers get together.",
        "One of the matrons did the Mary Seacole programme, I think.",
    ],
)
def test_rejected_or_only_named_mentions_are_not_sources(finder, answer):
    found = sources_of(finder, interview("A1", [answer]))
    assert found.sources.empty, found.sources[["mention", "kind"]].to_dict("records")


def test_a_mention_rejected_in_the_next_sentence_is_not_a_source(finder):
    answer = "My general manager is new. I wouldn't go to her with a problem like that."
    found = sources_of(finder, interview("A1", [answer]))
    assert found.sources.empty
    assert "rejected after" in set(found.dismissed["reason"])


def test_the_participants_own_job_is_not_a_source(finder):
    found = sources_of(
        finder, interview("A1", ["I'm the service manager for surgery."])
    )
    assert found.sources.empty


def test_kinds_and_scopes_come_from_the_words_and_their_context(finder):
    answer = (
        "I learned a lot from the regional therapy network, and inside the "
        "trust our ward managers' forum is where I ask for advice. I use the "
        "NICE guidance every week and my mentor helps with my career."
    )
    found = sources_of(finder, interview("A1", [answer])).sources
    kinds = dict(zip(found["mention"], zip(found["kind"], found["scope"])))
    assert kinds["regional therapy network"] == ("network", "external")
    assert kinds["ward managers' forum"] == ("community", "internal")
    assert kinds["NICE guidance"] == ("codified", "external")
    assert kinds["mentor"][0] == "person"
    assert "career" in found.loc[found["mention"] == "mentor", "purpose"].iloc[0]


def test_lowercase_words_that_spell_an_acronym_are_not_sources(finder):
    found = sources_of(
        finder, interview("A1", ["It was nice to meet people, honestly."])
    )
    assert found.sources.empty


def test_spelling_variants_of_a_named_source_resolve_to_one_node(finder):
    first = interview(
        "A1", ["I did a programme with the Leadership Academy and it helped."]
    )
    second = interview("A2", ["The NHS Leadership Academy course was useful to me."])
    found = sources_of(finder, first, second).sources
    academy = found[found["mention"].str.contains("Leadership Academy")]
    assert set(academy["document_id"]) == {"A1", "A2"}
    assert set(academy["source"]) == {"NHS Leadership Academy"}


def test_the_same_source_twice_in_an_interview_is_one_node(finder):
    answer = (
        "I did the Mary Seacole programme two years ago. The programme helped me "
        "get this job. I ring my line manager for advice, and my line manager "
        "always helps me."
    )
    found = sources_of(finder, interview("A1", [answer])).sources
    assert found.groupby("source").size().to_dict() == {
        "A1: line manager": 2,
        "Mary Seacole Programme": 2,
    }
    assert set(found.loc[found["kind"] == "person", "role"]) == {"line manager"}


def test_interviewer_speech_is_not_searched(finder):
    transcript = interview("A1", ["Not really, no."])
    text = transcript.text.replace("Question 1?", "Do you use NICE guidance?")
    shifted = type(transcript)(
        document_id="A1",
        source="A1.txt",
        format="txt",
        text=text,
        turns=(
            transcript.turns[0].__class__(
                speaker="Interviewer", role="interviewer", start=13, end=13 + 25
            ),
            transcript.turns[1].__class__(
                speaker="P",
                role="participant",
                start=text.index("Not"),
                end=len(text) - 2,
            ),
        ),
    )
    segments = segment_transcripts(
        [shifted], SegmentConfig(spacy_model="blank:en", include_interviewer=True)
    )
    assert "interviewer" in set(segments.column("role").to_pylist())
    assert transcripts_to_table([shifted]).num_rows == 1
    found = extract_knowledge_sources(segments, finder=finder, min_score=0.5)
    assert found.sources.empty and found.dismissed.empty
