from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from pipeline.config.run import load_config
from pipeline.errors import ConfigError
from pipeline.io.ingest import ingest_corpus


def by_id(result):
    return {t.document_id: t for t in result.transcripts}


def speech(transcript):
    return [
        (turn.speaker, turn.role, transcript.text[turn.start : turn.end])
        for turn in transcript.turns
    ]


@pytest.fixture(scope="module")
def sample(data_dir):
    return ingest_corpus(load_config().ingest, data_dir / "corpus")


EXPECTED_FIRST_ANSWER = {
    "interview_labels": (
        "P07",
        "Sure. I manage the outpatient service at [Trust A]. It is busy.\n"
        "I have been doing it for about six years now.",
    ),
    "int_resp": (
        "RESP",
        "Leadership is about vision. Management is just the paperwork, really.",
    ),
    "timestamps": (
        "Speaker 2",
        "I trained as a physiotherapist. Then I moved into a lead role.",
    ),
    "teams": (
        "Respondent 03",
        "I manage the finance team. We support three directorates, and it is a lot.",
    ),
    "zoom": (
        "Respondent 06",
        "I am a clinical director. I still do two clinical sessions a week.",
    ),
    "session": ("P2", "We mapped the discharge process with lean tools."),
    "word_plain": (
        "Participant",
        "I was a ward sister first. Then the matron post came up.",
    ),
    "word_bold": (
        "Participant",
        "I was a ward sister first. Then the matron post came up.",
    ),
    "word_bold_colon": (
        "Participant",
        "I was a ward sister first. Then the matron post came up.",
    ),
    "word_table": (
        "Participant",
        "I was a ward sister first. Then the matron post came up.",
    ),
}


@pytest.mark.parametrize("document_id", sorted(EXPECTED_FIRST_ANSWER))
def test_each_format_gives_speaker_turns_with_exact_offsets(sample, document_id):
    transcript = by_id(sample)[document_id]
    turns = speech(transcript)
    first_answer = next(t for t in turns if t[1] == "participant")
    assert first_answer[0] == EXPECTED_FIRST_ANSWER[document_id][0]
    assert first_answer[2] == EXPECTED_FIRST_ANSWER[document_id][1]
    assert turns[0][1] == "interviewer"


def test_sample_corpus_reads_every_file_and_quarantines_none(sample):
    assert sample.quarantined == ()
    assert len(sample.transcripts) == 10
    assert {i.source for i in sample.inputs} >= {"teams.vtt", "word_bold.docx"}
    assert all(len(i.sha256) == 64 for i in sample.inputs)


def test_teams_vtt_voice_tags_and_cue_times(sample):
    transcript = by_id(sample)["teams"]
    assert transcript.format == "vtt"
    answer = transcript.turns[1]
    assert (answer.speaker, answer.time_start, answer.time_end) == (
        "Respondent 03",
        5.0,
        12.25,
    )
    assert transcript.text.splitlines()[0] == "Interviewer: So tell me about your role."


def test_docx_with_bold_speaker_names_skips_the_bold_title(sample):
    transcript = by_id(sample)["word_bold"]
    assert transcript.text.startswith("Transcript of interview 5\n")
    assert [t[0] for t in speech(transcript)] == ["Interviewer", "Participant"] * 2


def test_metadata_is_attached_and_mismatches_reported(sample):
    assert by_id(sample)["int_resp"].metadata == {
        "site": "Trust B",
        "managerial_group": "clinical",
        "role": "Matron",
    }
    assert sample.metadata.unmatched_ids == ("unknown_doc",)
    assert "zoom" in sample.metadata.documents_without_metadata
    assert any("unknown_doc" in note for note in sample.notes)


def test_generic_speaker_labels_get_the_interviewer_who_asks_questions(sample):
    transcript = by_id(sample)["timestamps"]
    assert [t.role for t in transcript.turns] == ["interviewer", "participant"] * 2
    assert transcript.turns[1].time_start == 12.0
    assert any("'Speaker 1' asks questions" in note for note in sample.notes)


def test_other_encodings_are_converted_and_reported(tmp_path, data_dir):
    shutil.copy(data_dir / "cp1252.txt", tmp_path / "old.txt")
    result = ingest_corpus(load_config().ingest, tmp_path)
    transcript = result.transcripts[0]
    assert "Café culture? Naïve question." in transcript.text
    assert "rôle is hard – really." in transcript.text
    assert "\r" not in transcript.text
    assert transcript.encoding != "utf-8"
    assert any(note.startswith("old.txt: not UTF-8") for note in result.notes)


WINDOWS_1252_TEXT = (
    "Interviewer: Café or tea? A naïve question.\r\n"
    "P1: ‘Tea’, and “plenty of it” – £2 a cup.\r\n"
)


def test_windows_1252_text_reads_back_exactly(tmp_path):
    (tmp_path / "legacy.txt").write_bytes(WINDOWS_1252_TEXT.encode("cp1252"))
    result = ingest_corpus(load_config().ingest, tmp_path)
    (transcript,) = result.transcripts
    assert transcript.text == WINDOWS_1252_TEXT.replace("\r\n", "\n")
    assert transcript.encoding == "cp1252"
    assert speech(transcript)[1][2] == "‘Tea’, and “plenty of it” – £2 a cup."
    (note,) = result.notes
    assert note.startswith("legacy.txt: not UTF-8; read as Windows-1252 (cp1252)")


@pytest.mark.parametrize(
    ("encoding", "expected"), [("utf-16-le", "utf-16-le"), ("utf-16", "utf-16")]
)
def test_utf16_with_or_without_a_byte_order_mark_is_read_as_utf16(
    tmp_path, encoding, expected
):
    (tmp_path / "wide.txt").write_bytes(WINDOWS_1252_TEXT.encode(encoding))
    result = ingest_corpus(load_config().ingest, tmp_path)
    (transcript,) = result.transcripts
    assert transcript.text == WINDOWS_1252_TEXT.replace("\r\n", "\n")
    assert transcript.encoding == expected
    assert any("wide.txt: not UTF-8 but UTF-16" in note for note in result.notes)


def test_non_western_legacy_text_is_not_read_as_windows_1252(tmp_path):
    text = "Интервьюер: Как дела? Расскажите о работе.\n"
    (tmp_path / "cyrillic.txt").write_bytes(text.encode("cp1251"))
    result = ingest_corpus(load_config().ingest, tmp_path)
    (transcript,) = result.transcripts
    assert transcript.text == text
    assert transcript.encoding == "cp1251"
    assert any("not Windows-1252 text; read as cp1251" in n for n in result.notes)


def test_utf8_bom_and_crlf_are_tolerated(tmp_path, data_dir):
    shutil.copy(data_dir / "bom.txt", tmp_path / "bom.txt")
    result = ingest_corpus(load_config().ingest, tmp_path)
    transcript = result.transcripts[0]
    assert transcript.text == "Interviewer: Hello.\nP1: Hi there.\n"
    assert result.notes == ()


def test_csv_table_rows_become_documents(data_dir):
    config = load_config(
        overrides={"ingest.id_column": "id", "ingest.text_column": "answer"}
    )
    result = ingest_corpus(config.ingest, data_dir / "answers.csv")
    documents = by_id(result)
    assert sorted(documents) == ["r1", "r2", "r4"]
    assert documents["r2"].text == "Waited four hours.\nNobody told us why."
    assert documents["r2"].metadata == {"site": "Trust B", "score": "4"}
    assert documents["r2"].source == "answers.csv:row 2"
    assert [(q.source, q.reason) for q in result.quarantined] == [
        ("answers.csv:row 3", "empty text in column 'answer'")
    ]


def test_xlsx_table_with_metadata_column_choice(data_dir):
    config = load_config(
        overrides={
            "ingest.id_column": "id",
            "ingest.text_column": "answer",
            "ingest.metadata_columns": ["site"],
        }
    )
    result = ingest_corpus(config.ingest, data_dir / "answers.xlsx")
    assert [t.document_id for t in result.transcripts] == ["x1", "x3"]
    assert result.transcripts[1].metadata == {"site": "Trust C"}
    assert result.transcripts[0].format == "xlsx"
    assert len(result.quarantined) == 1


def test_missing_text_column_is_quarantined_with_the_columns_listed(data_dir):
    config = load_config(overrides={"ingest.text_column": "comment_text"})
    result = ingest_corpus(config.ingest, data_dir / "answers.csv")
    assert result.transcripts == ()
    (lost,) = result.quarantined
    assert "text column 'comment_text' not found" in lost.reason
    assert "id, answer, site, score" in lost.reason


def test_missing_corpus_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="corpus not found"):
        ingest_corpus(load_config().ingest, tmp_path / "nowhere")


def write_bad_corpus(folder: Path, data_dir: Path) -> None:
    shutil.copy(data_dir / "corpus" / "int_resp.txt", folder / "good.txt")
    shutil.copy(data_dir / "corpus" / "teams.vtt", folder / "good_too.vtt")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_text("  \n\n  ")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    random.seed(0)
    (folder / "garbled.txt").write_bytes(
        bytes(random.randrange(128, 256) for _ in range(500))
    )
    (folder / "notazip.docx").write_text("Interviewer: I am not a Word file")
    (folder / "slides.pptx").write_bytes(b"PK\x03\x04")
    (folder / "questions_only.txt").write_text("Interviewer: Hello?\nINT: Anyone?\n")
    (folder / "sub").mkdir()
    shutil.copy(data_dir / "corpus" / "zoom.vtt", folder / "sub" / "good.vtt")
    (folder / "metadata.csv").write_text(
        "document_id,site\ngood,Trust A\nghost,Trust B\n"
    )


def test_bad_files_are_quarantined_and_good_ones_kept(tmp_path, data_dir):
    write_bad_corpus(tmp_path, data_dir)
    result = ingest_corpus(load_config().ingest, tmp_path)
    assert [t.document_id for t in result.transcripts] == ["good_too"]
    reasons = {q.source: q.reason for q in result.quarantined}
    assert reasons["empty.txt"].startswith("empty file")
    assert reasons["blank.txt"].startswith("empty file")
    assert "binary" in reasons["binary.txt"]
    assert "cannot be decoded" in reasons["garbled.txt"]
    assert "not a .docx file" in reasons["notazip.docx"]
    assert "unknown file type '.pptx'" in reasons["slides.pptx"]
    assert "no participant speech" in reasons["questions_only.txt"]
    assert (
        "duplicate document_id 'good': also given by sub/good.vtt"
        in reasons["good.txt"]
    )
    assert "also given by good.txt" in reasons["sub/good.vtt"]
    assert result.metadata.unmatched_ids == ("ghost", "good")
    for reason in reasons.values():
        assert "\n" not in reason


def test_reasons_never_quote_transcript_text(tmp_path, data_dir):
    write_bad_corpus(tmp_path, data_dir)
    result = ingest_corpus(load_config().ingest, tmp_path)
    for lost in result.quarantined:
        assert "I am not a Word file" not in lost.reason
        assert "Anyone?" not in lost.reason


def test_excluded_files_are_not_read(tmp_path, data_dir):
    shutil.copy(data_dir / "corpus" / "int_resp.txt", tmp_path / "a.txt")
    (tmp_path / "README.md").write_text("# notes")
    (tmp_path / "codes.csv").write_text("document_id,code\na,x\n")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01")
    result = ingest_corpus(load_config().ingest, tmp_path)
    assert [t.document_id for t in result.transcripts] == ["a"]
    assert result.quarantined == ()


def test_reversed_cue_times_are_quarantined(tmp_path):
    (tmp_path / "bad.vtt").write_text(
        "WEBVTT\n\n00:00:05.000 --> 00:00:02.000\n<v Interviewer>Hi?</v>\n\n"
        "00:00:06.000 --> 00:00:08.000\n<v P1>Hello.</v>\n"
    )
    result = ingest_corpus(load_config().ingest, tmp_path)
    assert "cue 1 ends" in result.quarantined[0].reason


def test_overlapping_cues_are_quarantined(tmp_path):
    (tmp_path / "overlap.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:09.000\n<v Interviewer>Hi?</v>\n\n"
        "00:00:03.000 --> 00:00:08.000\n<v P1>Hello.</v>\n"
    )
    result = ingest_corpus(load_config().ingest, tmp_path)
    assert "overlap" in result.quarantined[0].reason


def test_too_long_line_is_quarantined(tmp_path):
    (tmp_path / "long.txt").write_text("P1: " + "word " * 400)
    config = load_config(overrides={"ingest.limits.max_line_chars": 1000})
    result = ingest_corpus(config.ingest, tmp_path)
    assert "line 1 has 2,004 characters" in result.quarantined[0].reason
