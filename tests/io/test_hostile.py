"""Hostile and broken input: quarantined with a clear reason, never a crash, nothing
written outside the run folder, the rest of the corpus processed; fuzzed parsers
raise only the project's own errors."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.coding.codebook import load_codebook
from pipeline.config.inputs import IngestConfig
from pipeline.config.run import load_config
from pipeline.errors import CodesError, PipelineError
from pipeline.io.codes.read import read_codes
from pipeline.io.ingest import ingest_corpus
from pipeline.io.readers.base import ReadContext
from pipeline.io.readers.registry import DOCUMENT_READERS
from pipeline.io.readers.tables import read_table
from pipeline.text.speakers import SpeakerRules
from tests.conftest import DATA, ROOT

EXPECTED = {
    "zip_bomb.docx": "looks like a zip bomb",
    "traversal.docx": "points outside the archive",
    "billion_laughs.docx": "declares a DTD or entities",
    "external_entity.docx": "declares a DTD or entities",
    "broken_xml.docx": "malformed XML",
    "nul_bytes.txt": "NUL characters",
    "picture.txt": "binary file",
    "reversed.vtt": "ends (2.000 s) before it starts",
    "overlapping.vtt": "cues overlap",
    "long_line.txt": "line 2 has 1,500,000 characters",
    "answers.csv:row 2": "field 'answer' has 50,000,000 characters",
}


@pytest.fixture(scope="module")
def hostile_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile") / "corpus"
    shutil.copytree(DATA / "hostile", folder)
    (folder / "long_line.txt").write_text(
        "Interviewer: Go on?\nP1: " + "x" * 1_499_996 + "\n"
    )
    with open(folder / "answers.csv", "w") as handle:
        handle.write("document_id,answer\nfine,The crew were kind.\nhuge,")
        handle.write("y" * 50_000_000)
        handle.write("\n")
    return folder


def test_every_hostile_file_is_quarantined_with_its_reason_and_the_rest_is_read(
    hostile_corpus,
):
    config = load_config(overrides={"ingest.text_column": "answer"})
    before = set(hostile_corpus.parent.rglob("*"))
    result = ingest_corpus(config.ingest, hostile_corpus)
    reasons = {q.source: q.reason for q in result.quarantined}
    for source, expected in EXPECTED.items():
        assert expected in reasons[source], (source, reasons.get(source))
    assert sorted(t.document_id for t in result.transcripts) == [
        "fine",
        "good",
        "good_too",
    ]
    assert not any("escaped" in p.name for p in hostile_corpus.parent.parent.rglob("*"))
    assert set(hostile_corpus.parent.rglob("*")) == before


def test_themes_run_on_the_hostile_corpus(prefect_harness, hostile_corpus, tmp_path):
    from typer.testing import CliRunner

    from flows.cli.main import app

    config = tmp_path / "config.yaml"
    config.write_text(
        f"ingest:\n  corpus: {hostile_corpus}\n  text_column: answer\n"
        "segment:\n  spacy_model: 'blank:en'\nembed:\n  backend: hashing\n"
        "topics:\n  enabled: false\n"
        f"store:\n  database: {tmp_path / 'store' / 'db.duckdb'}\n"
        f"  runs_dir: {tmp_path / 'store'}\n"
    )
    result = CliRunner().invoke(
        app, ["run", "--config", str(config), "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    for source in EXPECTED:
        assert source in output
    assert "Traceback" not in result.output
    import json

    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["counts"]["documents"] == 3
    assert {q["source"] for q in manifest["quarantined"]} == set(EXPECTED)


def qdpx(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


PROJECT = b'<?xml version="1.0"?><Project xmlns="urn:QDA-XML:project:1.0" name="p"/>'


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            {"project.qde": PROJECT, "../../evil.txt": b"x"},
            "points outside the archive",
        ),
        ({"/etc/evil.txt": b"x", "project.qde": PROJECT}, "points outside the archive"),
        (
            {
                "project.qde": (
                    b'<?xml version="1.0"?><!DOCTYPE p '
                    b'[<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                    b'<Project name="&e;"/>'
                )
            },
            "DTD or entities",
        ),
        ({"project.qde": b"<Project><unclosed>"}, "malformed XML"),
        (
            {
                "project.qde": PROJECT.replace(
                    b"/>", b">" + b" " * 30_000_000 + b"</Project>"
                )
            },
            "zip bomb",
        ),
        ({"readme.txt": b"no project here"}, "no project.qde"),
    ],
)
def test_hostile_qdpx_codes_files_give_a_clear_error(tmp_path, entries, message):
    path = tmp_path / "codes.qdpx"
    path.write_bytes(qdpx(entries))
    codebook = load_codebook(DATA / "codebooks" / "mini.yaml")
    with pytest.raises(CodesError, match=message):
        read_codes(path, codebook=codebook, documents={"d": "text"})
    assert not (tmp_path.parent / "evil.txt").exists()


# Fuzzing: whatever the bytes, the readers raise nothing but the project's errors.

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
CONFIG = IngestConfig()
CONTEXT = ReadContext(source="fuzz", config=CONFIG, rules=SpeakerRules(CONFIG.speakers))
TEXTISH = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.lists(
        st.sampled_from(
            [
                "WEBVTT",
                "\n",
                "00:00:01.000 --> 00:00:02.000",
                "00:00:03,000 --> 00:00:01,000",
                "<v Bob>",
                "</v>",
                "Interviewer:",
                "P1:",
                "1",
                "hello",
                "\r\n",
                "\x00",
                "é",
                "-->",
                "[00:01:02] Speaker 2:",
                ",",
                '"',
                "document_id,text",
                "\t",
            ]
        ),
        max_size=40,
    ).map(lambda parts: "".join(parts).encode("utf-8")),
)


@FUZZ
@given(data=TEXTISH, suffix=st.sampled_from([".txt", ".vtt", ".srt"]))
def test_fuzzed_transcript_readers_raise_only_project_errors(data, suffix):
    try:
        DOCUMENT_READERS[suffix](data, CONTEXT)
    except PipelineError:
        pass


@FUZZ
@given(data=TEXTISH)
def test_fuzzed_csv_table_reader_raises_only_project_errors(data):
    try:
        read_table(data, source="fuzz.csv", stem="fuzz", suffix=".csv", config=CONFIG)
    except PipelineError:
        pass


@FUZZ
@given(data=TEXTISH)
def test_fuzzed_codes_files_raise_only_project_errors(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("codes") / "codes.csv"
    path.write_bytes(data)
    codebook = load_codebook(DATA / "codebooks" / "mini.yaml")
    try:
        read_codes(path, codebook=codebook, documents={"d1": "some text here"})
    except PipelineError:
        pass


@FUZZ
@given(
    project=st.one_of(st.binary(max_size=300), TEXTISH),
    extra=st.dictionaries(
        st.sampled_from(["sources/a.txt", "x/../../y", "b.qde"]),
        st.binary(max_size=50),
        max_size=2,
    ),
)
def test_fuzzed_qdpx_reader_raises_only_project_errors(
    tmp_path_factory, project, extra
):
    path = tmp_path_factory.mktemp("qdpx") / "p.qdpx"
    path.write_bytes(qdpx({"project.qde": project, **extra}))
    codebook = load_codebook(DATA / "codebooks" / "mini.yaml")
    try:
        read_codes(path, codebook=codebook, documents={"d1": "some text"})
    except PipelineError:
        pass


@FUZZ
@given(data=st.binary(max_size=2000))
def test_fuzzed_docx_reader_raises_only_project_errors(data):
    template = (ROOT / "tests" / "data" / "corpus" / "word_plain.docx").read_bytes()
    # half the time, corrupt a real .docx instead of sending pure noise
    payload = template[: len(data)] + data if len(data) % 2 else data
    try:
        DOCUMENT_READERS[".docx"](payload, CONTEXT)
    except PipelineError:
        pass
