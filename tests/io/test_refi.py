"""Writing REFI-QDA projects: schema-valid, reproducible, and read back exactly."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pipeline.coding.codebook import load_codebook
from pipeline.coding.codebook_records import Code, Codebook, validate_codes
from pipeline.errors import CodebookError, CodesError
from pipeline.io.codes.read import read_codes, unknown_codes
from pipeline.io.refi.archive import parse_xml
from pipeline.io.refi.export_input import ExportCoding, ExportDocument
from pipeline.io.refi.guids import auto_coder_name, is_auto_coder
from pipeline.io.refi.read import read_project
from pipeline.io.refi.write import PROJECT_NS, write_project
from tests.conftest import DATA

SCHEMA = DATA / "refi" / "Project-mrt2019.xsd"
AUTO = "auto: zero-shot (run 20261126-000000-abcd)"

# Non-ASCII before the coded spans: accents, an en dash, emoji (one code point
# each in Python, two UTF-16 units), a combining accent; \n line endings only.
INTERVIEW_A = (
    "Q: How did you learn the job? 🙂\n"
    "A: Naïve at first – I learnt on the job, really. 👩🏽‍⚕️ My mentor helped me.\n"
    "A: Cafe\u0301 chats with peers – that's where I learnt the most.\n"
)
INTERVIEW_B = (
    "Q: Who supports you?\nA: Nobody at my level 😔 – it is lonely. Ça va, though.\n"
)


def span(text: str, quote: str) -> tuple[int, int]:
    start = text.index(quote)
    return start, start + len(quote)


@pytest.fixture(scope="module")
def schema():
    import xmlschema

    return xmlschema.XMLSchema(str(SCHEMA))


@pytest.fixture()
def codebook() -> Codebook:
    return validate_codes(
        [
            Code(id="learning", name="Learning", definition="How managers learn."),
            Code(
                id="experience",
                name="Learning from experience",
                parent="learning",
                definition="Learning by doing – on the job.",
            ),
            Code(id="peers", name="Learning from peers", parent="experience"),
            Code(id="isolation", name="Isolation", definition="Feeling alone."),
        ],
        source="test",
        name="Nested codebook",
    )


@pytest.fixture()
def documents() -> list[ExportDocument]:
    return [
        ExportDocument(
            "interview_a", INTERVIEW_A, {"site": "Nord – Lille", "role": "nurse"}
        ),
        ExportDocument("interview_b", INTERVIEW_B, {"site": "Zürich"}),
    ]


@pytest.fixture()
def codings() -> list[ExportCoding]:
    return [
        ExportCoding(
            "interview_a",
            *span(INTERVIEW_A, "I learnt on the job"),
            "experience",
            "Ann",
        ),
        ExportCoding(
            "interview_a", *span(INTERVIEW_A, "My mentor helped me."), "learning", "Bob"
        ),
        ExportCoding(
            "interview_a",
            *span(INTERVIEW_A, "Cafe\u0301 chats with peers"),
            "peers",
            "Ann",
        ),
        ExportCoding(
            "interview_a", *span(INTERVIEW_A, "Naïve at first – I"), "experience", AUTO
        ),
        ExportCoding(
            "interview_b",
            *span(INTERVIEW_B, "Nobody at my level 😔 – it is lonely."),
            "isolation",
            "Bob",
        ),
        ExportCoding("interview_b", *span(INTERVIEW_B, "lonely"), "isolation", AUTO),
    ]


def export(path, documents, codebook, codings, **options) -> Path:
    return write_project(
        path,
        name="Managers & <learning>",
        documents=documents,
        codebook=codebook,
        codings=codings,
        **options,
    )


def project_qde(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("project.qde")


def test_written_project_validates_against_the_refi_schema(
    tmp_path, schema, documents, codebook, codings
):
    path = export(tmp_path / "out.qdpx", documents, codebook, codings)

    schema.validate(project_qde(path).decode("utf-8"))
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert names[0] == "project.qde"
    assert len(names) == 3 and all(
        n.startswith("sources/") and n.endswith(".txt") for n in names[1:]
    )


def test_export_then_import_gives_back_every_coding_and_the_hierarchy(
    tmp_path, documents, codebook, codings
):
    path = export(tmp_path / "out.qdpx", documents, codebook, codings)
    texts = {document.document_id: document.text for document in documents}

    imported = read_codes(
        path, codebook=codebook, documents=texts, include_auto_coders=True
    )

    assert imported.unused == ()
    assert imported.notes == ()
    assert {m.rule for m in imported.matched} == {"exact"}
    got = {
        (a.document_id, a.code, a.coder, a.start, a.end) for a in imported.assignments
    }
    want = {(c.document_id, c.code, c.user, c.start, c.end) for c in codings}
    assert got == want
    assert set(imported.coders) == {"Ann", "Bob", AUTO}
    quotes = {texts[a.document_id][a.start : a.end] for a in imported.assignments}
    assert "Nobody at my level 😔 – it is lonely." in quotes

    def hierarchy(book: Codebook) -> set[tuple[str, str | None, str]]:
        names = {code.id: code.name for code in book.codes}
        return {
            (code.name, names.get(code.parent), code.definition) for code in book.codes
        }

    assert hierarchy(load_codebook(path)) == hierarchy(codebook)


def test_sources_hold_the_exact_text_and_cases_hold_the_metadata(
    tmp_path, documents, codebook, codings
):
    path = export(tmp_path / "out.qdpx", documents, codebook, codings)

    project = read_project(path)
    assert [(s.name, s.text) for s in project.sources] == [
        (d.document_id, d.text) for d in documents
    ]
    texts = {document.document_id: document.text for document in documents}
    with zipfile.ZipFile(path) as archive:
        for source in project.sources:
            stored = archive.read(f"sources/{source.guid}.txt")
            assert stored == texts[source.name].encode("utf-8")
    root = parse_xml(project_qde(path), source="project.qde")
    ns = {"q": PROJECT_NS}
    variables = {
        v.get("guid"): v.get("name")
        for v in root.iterfind("q:Variables/q:Variable", ns)
    }
    assert sorted(variables.values()) == ["role", "site"]
    cases = {}
    for case in root.iterfind("q:Cases/q:Case", ns):
        cases[case.get("name")] = {
            variables[
                value.find("q:VariableRef", ns).get("targetGUID")
            ]: value.findtext("q:TextValue", namespaces=ns)
            for value in case.iterfind("q:VariableValue", ns)
        }
    assert cases == {
        "interview_a": {"site": "Nord – Lille", "role": "nurse"},
        "interview_b": {"site": "Zürich"},
    }


def test_markup_ampersands_and_quotes_round_trip_unchanged(tmp_path, schema):
    text = (
        'She wrote <script>alert(1)</script> & said "it\'s <b>fine</b>" 🙂\n'
        "]]> &amp; &#10; <!-- not a comment -->\n"
    )
    document_id = 'interview "A&B" <1>'
    codebook = validate_codes(
        [
            Code(
                id="odd",
                name='<script>alert("x")</script> & co',
                definition="a & b < c",
            )
        ],
        source="test",
        name="odd",
    )
    codings = [
        ExportCoding(
            document_id, *span(text, "<script>alert(1)</script> &"), "odd", "A&B"
        ),
        ExportCoding(document_id, *span(text, "]]> &amp; &#10;"), "odd", "<user>"),
    ]
    documents = [ExportDocument(document_id, text, {"note": "<i>&quot;</i>"})]
    path = write_project(
        tmp_path / "odd.qdpx",
        name="<script>",
        documents=documents,
        codebook=codebook,
        codings=codings,
        origin='x" onload="y',
    )

    qde = project_qde(path)
    schema.validate(qde.decode("utf-8"))
    assert b"<script>" not in qde
    project = read_project(path)
    assert project.name == "<script>"
    assert [(s.name, s.text) for s in project.sources] == [(document_id, text)]
    assert [(c.name, c.description) for c in project.codes] == [
        ('<script>alert("x")</script> & co', "a & b < c")
    ]
    imported = read_codes(path, codebook=codebook, documents={document_id: text})
    assert [(text[a.start : a.end], a.coder) for a in imported.assignments] == [
        ("<script>alert(1)</script> &", "A&B"),
        ("]]> &amp; &#10;", "<user>"),
    ]
    root = parse_xml(qde, source="project.qde")
    value = root.find(f"{{{PROJECT_NS}}}Cases//{{{PROJECT_NS}}}TextValue")
    assert value.text == "<i>&quot;</i>"


def test_same_inputs_give_a_byte_identical_file(tmp_path, documents, codebook, codings):
    first = export(tmp_path / "first.qdpx", documents, codebook, codings)
    second = export(tmp_path / "second.qdpx", documents, codebook, codings)
    again = export(tmp_path / "first.qdpx", documents, codebook, codings)

    assert first.read_bytes() == second.read_bytes() == again.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.qdpx", "second.qdpx"]


def test_a_project_xml_over_the_zip64_limit_is_written_with_zip64_fields(
    tmp_path, documents, codebook, codings, monkeypatch
):
    from pipeline.io.refi import archive

    small = project_qde(export(tmp_path / "small.qdpx", documents, codebook, codings))
    # the limit (2 GiB) lowered below this project's XML: streamed into the
    # archive, zipfile raised "File size too large" on closing the entry
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", len(small) // 2)
    monkeypatch.setattr(archive, "SPOOL_BYTES", 100)  # and spooled to a file
    large = export(tmp_path / "large.qdpx", documents, codebook, codings)
    monkeypatch.undo()

    assert project_qde(large) == small
    with zipfile.ZipFile(large) as read:
        assert read.testzip() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["large.qdpx", "small.qdpx"]


@pytest.mark.parametrize(
    ("coding", "message"),
    [
        (ExportCoding("nowhere", 0, 5, "learning", "Ann"), "unknown document"),
        (ExportCoding("interview_b", 0, 5, "no_such_code", "Ann"), "'no_such_code'"),
        (ExportCoding("interview_b", 0, 10_000, "learning", "Ann"), "outside the text"),
        (ExportCoding("interview_b", -1, 5, "learning", "Ann"), "outside the text"),
        (ExportCoding("interview_b", 5, 5, "learning", "Ann"), "outside the text"),
        (ExportCoding("interview_b", 0, 5, "learning", " "), "user is blank"),
    ],
)
def test_bad_coding_raises_naming_the_coding(
    tmp_path, documents, codebook, codings, coding, message
):
    target = tmp_path / "bad.qdpx"
    with pytest.raises(CodesError, match=message) as caught:
        export(target, documents, codebook, [*codings, coding])

    assert f"coding {len(codings)} (document {coding.document_id!r}" in str(
        caught.value
    )
    assert list(tmp_path.iterdir()) == []


def test_text_with_carriage_returns_is_refused(tmp_path, codebook):
    documents = [ExportDocument("crlf", "line one\r\nline two\r\n")]
    with pytest.raises(CodesError, match="carriage return"):
        export(tmp_path / "bad.qdpx", documents, codebook, [])


def test_codebook_with_unknown_parent_is_refused(tmp_path, documents):
    codebook = Codebook(name="broken", codes=(Code("child", "Child", parent="gone"),))
    with pytest.raises(CodebookError, match="'gone'"):
        export(tmp_path / "bad.qdpx", documents, codebook, [])


def users_of(path: Path) -> list[tuple[str, str]]:
    root = parse_xml(project_qde(path), source="project.qde")
    return [
        (user.get("guid"), user.get("name"))
        for user in root.iterfind(f"{{{PROJECT_NS}}}Users/{{{PROJECT_NS}}}User")
    ]


def test_our_auto_coder_read_back_is_skipped_with_a_note_not_taken_for_a_human(
    tmp_path, documents, codebook, codings
):
    path = export(
        tmp_path / "out.qdpx", documents, codebook, codings, auto_coders=[AUTO]
    )
    texts = {document.document_id: document.text for document in documents}

    imported = read_codes(path, codebook=codebook, documents=texts)

    assert imported.coders == ("Ann", "Bob")
    assert {a.coder for a in imported.assignments} == {"Ann", "Bob"}
    assert imported.skipped_auto_coders == {AUTO: 2}
    assert imported.summary()["skipped_auto_coders"] == {AUTO: 2}
    assert imported.unused == ()
    assert imported.notes == (
        f"2 codings by {AUTO!r} skipped: an auto-coder of this tool (from an "
        "exported auto_codes.qdpx), not a human coder",
    )
    assert unknown_codes(path, codebook) == {}
    every = read_codes(
        path, codebook=codebook, documents=texts, include_auto_coders=True
    )
    assert set(every.coders) == {"Ann", "Bob", AUTO}


def test_human_coders_are_the_first_users_and_the_auto_coder_is_marked(
    tmp_path, schema, documents, codebook, codings
):
    auto_first = sorted(codings, key=lambda coding: coding.user != AUTO)
    path = export(
        tmp_path / "out.qdpx", documents, codebook, auto_first, auto_coders=[AUTO]
    )

    schema.validate(project_qde(path).decode("utf-8"))
    users = users_of(path)
    assert [name for _, name in users] == ["Ann", "Bob", AUTO]
    assert [is_auto_coder(guid, name) for guid, name in users] == [
        False,
        False,
        True,
    ]
    # a QDA tool that exports the project again may give the users new GUIDs
    # but keeps their names: the auto-coder's name is enough
    assert is_auto_coder(
        "0f0f0f0f-0000-4000-8000-000000000000", auto_coder_name("x", "r1")
    )
    # an auto-coder of any name is known by the GUID written for that name
    robot = ExportCoding("interview_b", *span(INTERVIEW_B, "lonely"), "isolation", "R")
    other = export(
        tmp_path / "robot.qdpx", documents, codebook, [robot], auto_coders=["R"]
    )
    [(guid, name)] = users_of(other)
    assert is_auto_coder(guid, name) and not is_auto_coder(guid, "renamed")


@pytest.mark.parametrize(
    "name", ["auto", "Automatic Annie", "auto: Ann", "Ann (run 3)", "AUTO"]
)
def test_a_human_coder_is_never_taken_for_an_auto_coder(
    tmp_path, documents, codebook, name
):
    coding = ExportCoding(
        "interview_b", *span(INTERVIEW_B, "lonely"), "isolation", name
    )
    path = export(tmp_path / "out.qdpx", documents, codebook, [coding])
    [(guid, written)] = users_of(path)
    assert not is_auto_coder(guid, written)
    texts = {document.document_id: document.text for document in documents}
    imported = read_codes(path, codebook=codebook, documents=texts)
    assert imported.coders == (name,)
    assert imported.skipped_auto_coders == {}


def test_a_refi_codebook_keeps_its_guids_through_an_export(tmp_path, documents):
    qdc = tmp_path / "book.qdc"
    qdc.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
        '<Code guid="AAAAAAAA-1111-4111-8111-111111111111" name="Isolation" '
        'isCodable="true"/>'
        '<Code guid="{BBBBBBBB-2222-4222-8222-222222222222}" name="Isolation" '
        'isCodable="true"/></Codes></CodeBook>'
    )
    codebook = load_codebook(qdc)
    first, second = codebook.ids
    assert second == "{BBBBBBBB-2222-4222-8222-222222222222}"
    coding = ExportCoding("interview_b", *span(INTERVIEW_B, "lonely"), second, "Ann")
    path = export(tmp_path / "out.qdpx", documents, codebook, [coding])

    project = read_project(path)
    assert [code.guid for code in project.codes] == [first, second]
    texts = {document.document_id: document.text for document in documents}
    imported = read_codes(path, codebook=codebook, documents=texts)
    # two codes share the name: the GUID says which one was meant
    assert [
        (a.code, m.rule) for a, m in zip(imported.assignments, imported.matched)
    ] == [(second, "exact")]
