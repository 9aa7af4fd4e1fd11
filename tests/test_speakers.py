from __future__ import annotations

import pytest

from pipeline.config import SpeakerConfig
from pipeline.speakers import SpeakerRules, assemble_turns, drop_one_off_labels


def turns_of(text: str, **settings):
    rules = SpeakerRules(SpeakerConfig(**settings))
    lines = drop_one_off_labels(rules.label_text_lines(text), rules)
    return [
        (turn.speaker, turn.role, text[turn.start : turn.end])
        for turn in assemble_turns(text, lines, rules)
    ]


@pytest.mark.parametrize(
    ("line", "speaker", "speech"),
    [
        ("Interviewer: So, your role?", "Interviewer", "So, your role?"),
        ("P07: I run the clinic.", "P07", "I run the clinic."),
        ("INT: Next question.", "INT", "Next question."),
        ("RESP: An answer.", "RESP", "An answer."),
        ("[00:03:12] Speaker 2: Timed words.", "Speaker 2", "Timed words."),
        ("(00:03:12) Dr Okafor: Bracketed time.", "Dr Okafor", "Bracketed time."),
        ("[Participant]: Placeholder label.", "[Participant]", "Placeholder label."),
    ],
)
def test_label_pattern_finds_common_speaker_labels(line, speaker, speech):
    rules = SpeakerRules(SpeakerConfig())
    found = rules.match_label(line, 0, len(line))
    assert found.speaker == speaker
    assert line[found.content_start :] == speech


@pytest.mark.parametrize(
    "line",
    [
        "so the point is: we never had time",
        "Well, I think: maybe",
        "http://example.org: a link",
        "",
    ],
)
def test_label_pattern_ignores_ordinary_speech(line):
    rules = SpeakerRules(SpeakerConfig())
    assert rules.match_label(line, 0, len(line)).speaker is None


def test_timestamp_in_label_becomes_seconds():
    rules = SpeakerRules(SpeakerConfig())
    line = "[01:02:03] Speaker 1: hello"
    assert rules.match_label(line, 0, len(line)).time == 3723.0


def test_unlabelled_line_continues_previous_turn():
    text = "Interviewer: Why?\nP1: Because.\nIt was hard.\n\nInterviewer: OK."
    assert turns_of(text) == [
        ("Interviewer", "interviewer", "Why?"),
        ("P1", "participant", "Because.\nIt was hard."),
        ("Interviewer", "interviewer", "OK."),
    ]


def test_preamble_before_first_label_is_not_speech():
    text = "Transcript 4, [Trust A]\n\nQ: First?\nA: Yes.\nQ: Second?\nA: No."
    assert turns_of(text)[0] == ("Q", "interviewer", "First?")
    assert len(turns_of(text)) == 4


def test_document_without_labels_is_one_participant_turn():
    text = "  I just wrote my thoughts.\nOn two lines.  \n"
    assert turns_of(text) == [
        (None, "participant", "I just wrote my thoughts.\nOn two lines.")
    ]


def test_one_off_capitalised_phrase_is_text_not_a_speaker():
    text = (
        "Interviewer: Why?\nP1: Because.\nBasically: it was hard.\n"
        "Interviewer: OK.\nP1: Yes."
    )
    assert turns_of(text)[1] == (
        "P1",
        "participant",
        "Because.\nBasically: it was hard.",
    )


def test_label_on_its_own_line_takes_the_following_lines():
    text = (
        "Interviewer:\nWhat do you do?\n\nP2:\nI manage.\n"
        "Interviewer: Thanks.\nP2: Bye."
    )
    assert turns_of(text)[:2] == [
        ("Interviewer", "interviewer", "What do you do?"),
        ("P2", "participant", "I manage."),
    ]


def test_unlabelled_lines_after_moderator_are_participant_speech_when_configured():
    text = "MODERATOR: Try task 2.\nOkay, I click here.\nNow the map.\nMODERATOR: Good."
    assert turns_of(
        text, unlabelled_lines="participant", interviewer_names=("MODERATOR",)
    ) == [
        ("MODERATOR", "interviewer", "Try task 2."),
        (None, "participant", "Okay, I click here.\nNow the map."),
        ("MODERATOR", "interviewer", "Good."),
    ]


def test_interviewer_names_and_patterns_are_configurable():
    text = "Researcher Jo: Hi?\nMgr: Hello.\nResearcher Jo: Bye?\nMgr: Bye."
    found = turns_of(text, interviewer_names=(), interviewer_patterns=(r"^researcher",))
    assert [role for _, role, _ in found] == ["interviewer", "participant"] * 2


def test_custom_label_pattern():
    text = ">> ALICE << hello\n>> BOB << hi there"
    found = turns_of(
        text,
        label_pattern=r"^>> (?P<speaker>[A-Z]+) << ",
        interviewer_names=("ALICE",),
    )
    assert found == [
        ("ALICE", "interviewer", "hello"),
        ("BOB", "participant", "hi there"),
    ]


def test_label_pattern_without_speaker_group_is_rejected():
    with pytest.raises(ValueError, match="speaker"):
        SpeakerConfig(label_pattern=r"^\w+:")
