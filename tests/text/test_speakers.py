from __future__ import annotations

import pytest

from pipeline.config.inputs import IngestConfig, SpeakerConfig
from pipeline.io.ingest import ingest_corpus
from pipeline.io.readers.labels import confirm_speaker_labels
from pipeline.text.speakers import (
    SpeakerRules,
    asks_question,
    assemble_turns,
    infer_interviewer,
)


def turns_of(text: str, **settings):
    rules = SpeakerRules(SpeakerConfig(**settings))
    lines = confirm_speaker_labels(text, rules.label_text_lines(text), rules)
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


# --- Speaker labels from the document itself: the convention corpus ----------

SPEAKERS = {
    "focus_group_ids.txt": (
        {
            "Moderator": "interviewer",
            "nR1-04": "participant",
            "nR1-07": "participant",
            "nR1-11": "participant",
            "nR1-12": "participant",
        },
        10,
    ),
    "interviewer_p_numbers.txt": (
        {"Interviewer": "interviewer", "P07": "participant"},
        6,
    ),
    "dash_ids.txt": ({"INT": "interviewer", "p7": "participant"}, 6),
    "i_r.txt": ({"I": "interviewer", "R": "participant"}, 6),
    "q_a.txt": ({"Q": "interviewer", "A": "participant"}, 6),
    "int_resp_tabs.txt": ({"INT": "interviewer", "RESP": "participant"}, 4),
    "bracketed.txt": (
        {"[Interviewer]": "interviewer", "[Participant]": "participant"},
        6,
    ),
    "otter.txt": ({"Speaker 1": "interviewer", "Speaker 2": "participant"}, 6),
    "zoom_names.txt": (
        {"Amira Haddad": "interviewer", "Tom Reilly": "participant"},
        6,
    ),
    "facilitator_names.txt": (
        {"Facilitator": "interviewer", "Sam": "participant", "Priya": "participant"},
        9,
    ),
    "moderator_only.txt": (
        {"MODERATOR": "interviewer", None: "participant"},
        5,
    ),
    "word_bold_names.docx": (
        {"Researcher": "interviewer", "nR3-02": "participant"},
        4,
    ),
    "teams_names.docx": (
        {"Dana Whitfield": "interviewer", "Leo Marsh": "participant"},
        4,
    ),
    "teams_voice.vtt": (
        {"Dana Whitfield": "interviewer", "Leo Marsh": "participant"},
        4,
    ),
    "zoom_ids.vtt": (
        {"Moderator": "interviewer", "nR2-01": "participant", "nR2-03": "participant"},
        5,
    ),
}


@pytest.fixture(scope="module")
def conventions(data_dir):
    config = IngestConfig(exclude=(*IngestConfig().exclude, "*.py"))
    return ingest_corpus(config, data_dir / "speakers")


def test_convention_corpus_has_one_expectation_per_transcript(data_dir):
    files = {
        path.name
        for path in (data_dir / "speakers").iterdir()
        if path.suffix in (".txt", ".docx", ".vtt")
    }
    assert files == set(SPEAKERS)


def test_no_transcript_of_the_convention_corpus_is_quarantined(conventions):
    assert conventions.quarantined == ()
    assert len(conventions.transcripts) == len(SPEAKERS)


@pytest.mark.parametrize("source", sorted(SPEAKERS))
def test_each_convention_gives_its_speakers_roles_and_turns(conventions, source):
    roles, n_turns = SPEAKERS[source]
    (transcript,) = [t for t in conventions.transcripts if t.source == source]
    assert {turn.speaker: turn.role for turn in transcript.turns} == roles
    assert len(transcript.turns) == n_turns
    previous_end = 0
    for turn in transcript.turns:
        speech = transcript.text[turn.start : turn.end]
        assert speech and speech == speech.strip()
        if turn.speaker is not None:
            # the label is in the text before the speech, never part of it
            assert turn.speaker in transcript.text[previous_end : turn.start]
        previous_end = turn.end


def test_one_off_phrases_and_times_at_line_starts_stay_speech(conventions):
    (transcript,) = [
        t for t in conventions.transcripts if t.document_id == "focus_group_ids"
    ]
    speech = [transcript.text[t.start : t.end] for t in transcript.turns]
    assert "Honestly it took me ages the first time.\nNote: I was on" in speech[1]
    assert speech[2].endswith(
        "\n10:30 was the only slot left, and the confirmation came the next day."
    )
    assert speech[5] == (
        "Because I forget everything.\nOkay, wait: I mean appointments, not everything."
    )


def test_labels_on_their_own_line_keep_their_times(conventions):
    (transcript,) = [t for t in conventions.transcripts if t.document_id == "otter"]
    assert [t.time_start for t in transcript.turns] == [0, 6, 14, 18, 31, 35]
    assert transcript.text[transcript.turns[3].start : transcript.turns[3].end] == (
        "Graphic novels, by a long way.\nAnd anything about football."
    )


def test_notes_give_the_evidence_for_inferred_roles(conventions):
    notes = "\n".join(conventions.notes)
    assert "'Speaker 1' asks questions in 3 of 3 turns" in notes
    assert "moderator_only.txt: only the interviewer is labelled" in notes
    assert "ingest.speakers.unlabelled_lines" in notes


@pytest.mark.parametrize(
    ("line", "speaker", "speech"),
    [
        ("nR1-04: Lower-case ids.", "nR1-04", "Lower-case ids."),
        ("p7 - A dash.", "p7", "A dash."),
        ("p7 \u2013 An en dash.", "p7", "An en dash."),
        ("INT\tA tab.", "INT", "A tab."),
        ("[Interviewer] No colon.", "[Interviewer]", "No colon."),
        ("MODERATOR: Capitals.", "MODERATOR", "Capitals."),
        ("Dr. O'Neil-Hart: Punctuation.", "Dr. O'Neil-Hart", "Punctuation."),
    ],
)
def test_label_pattern_finds_more_conventions(line, speaker, speech):
    rules = SpeakerRules(SpeakerConfig())
    found = rules.match_label(line, 0, len(line))
    assert found.speaker == speaker
    assert line[found.content_start :] == speech


@pytest.mark.parametrize(
    ("line", "seconds"),
    [("Speaker 2  00:03:12", 192.0), ("Jane Doe   0:03", 3.0), ("[Jo] 01:00", 60.0)],
)
def test_label_on_its_own_line_with_a_time_after_it(line, seconds):
    rules = SpeakerRules(SpeakerConfig())
    found = rules.match_label(line, 0, len(line))
    assert found.speaker is not None
    assert found.time == seconds
    assert found.content_start == len(line)


@pytest.mark.parametrize(
    "line",
    [
        "Okay, wait: that was it",
        "Case study: example events",
        "10:30 was the time",
        "Well - I think so",
        "I - I mean it",
        "[00:03:12] no speaker here",
    ],
)
def test_label_pattern_ignores_phrases_that_are_not_labels(line):
    rules = SpeakerRules(SpeakerConfig())
    found = rules.match_label(line, 0, len(line))
    assert found.speaker is None or not any(c.isalpha() for c in found.speaker)


def test_one_off_dashed_capitals_in_speech_are_not_a_speaker():
    text = "INT - Why?\np7 - Because.\nNHS - they said so.\nINT - OK?\np7 - Yes."
    assert [speaker for speaker, _, _ in turns_of(text)] == ["INT", "p7"] * 2


def test_remarks_and_notes_at_line_starts_are_not_speakers():
    text = (
        "Interviewer: Why?\nP1: Because.\n[laughs] It was.\nNote: not sure.\n"
        "Interviewer: OK.\nP1: Yes.\n[inaudible] fine.\nNote: again."
    )
    assert [speaker for speaker, _, _ in turns_of(text)] == ["Interviewer", "P1"] * 2


def test_a_once_seen_id_beside_recurring_ones_is_a_speaker():
    text = "Moderator: Go?\nP1: One.\nP2: Two.\nModerator: Again?\nP1: A.\nP9: Once."
    assert turns_of(text)[-1] == ("P9", "participant", "Once.")


def test_only_the_moderator_labelled_gives_participant_turns_by_default():
    text = " I start here.\nMODERATOR: Go on.\n I click.\n I wait.\nMODERATOR: Good."
    found = turns_of(text)
    assert found == [
        (None, "participant", "I start here."),
        ("MODERATOR", "interviewer", "Go on."),
        (None, "participant", "I click.\n I wait."),
        ("MODERATOR", "interviewer", "Good."),
    ]
    assert turns_of(text, unlabelled_lines="continue")[0] == (
        "MODERATOR",
        "interviewer",
        "Go on.\n I click.\n I wait.",
    )


def test_interviewer_label_alone_on_its_line_takes_the_next_line_in_auto_mode():
    text = "Interviewer:\nWhat do you do?\nI manage a ward.\nInterviewer: Thanks."
    assert turns_of(text) == [
        ("Interviewer", "interviewer", "What do you do?"),
        (None, "participant", "I manage a ward."),
        ("Interviewer", "interviewer", "Thanks."),
    ]


def test_custom_label_pattern_is_trusted_even_for_one_off_words():
    text = "Jo> Hi?\nSam> Basically yes.\nJo> OK?\nAl> Once."
    found = turns_of(text, label_pattern=r"^(?P<speaker>\w+)> ")
    assert [speaker for speaker, _, _ in found] == ["Jo", "Sam", "Jo", "Al"]


@pytest.mark.parametrize(
    ("speech", "asks"),
    [
        ("So how did you start?", True),
        ("Thanks. Tell me about the team.", True),
        ("Could you say more", True),
        ("I started in 2010. It was hard.", False),
        ("Yes. It was fine, really.", False),
    ],
)
def test_asks_question(speech, asks):
    assert asks_question(speech) is asks


def test_interviewer_inference_reports_when_nobody_clearly_asks():
    text = "Ann: I think so.\nBen: Me too.\nAnn: Right.\nBen: Yes."
    rules = SpeakerRules(SpeakerConfig())
    turns = assemble_turns(text, rules.label_text_lines(text), rules)
    updated, note = infer_interviewer(text, turns, rules)
    assert updated == turns
    assert "no speaker clearly asks the questions" in note
    assert "ingest.speakers.interviewer_names" in note


@pytest.mark.parametrize(
    ("text", "settings", "setting_named"),
    [
        ("Interviewer: Hello?\nINT: Anyone?\n", {}, "interviewer_names"),
        (
            "MODERATOR: Try it.\nI click here.\nMODERATOR: Good.\n",
            {"unlabelled_lines": "continue"},
            "ingest.speakers.unlabelled_lines",
        ),
        (
            "Moderator: Go?\nSERDIF - it is fine.\nModerator: Again?\n",
            {"unlabelled_lines": "continue"},
            "ingest.speakers.label_pattern",
        ),
    ],
)
def test_quarantine_reason_names_the_setting_that_fixes_it(
    tmp_path, text, settings, setting_named
):
    (tmp_path / "doc.txt").write_text(text)
    config = IngestConfig(speakers=SpeakerConfig(**settings))
    result = ingest_corpus(config, tmp_path)
    (lost,) = result.quarantined
    assert lost.reason.startswith("no participant speech")
    assert setting_named in lost.reason
    assert "\n" not in lost.reason
    assert "click" not in lost.reason and "SERDIF" not in lost.reason
