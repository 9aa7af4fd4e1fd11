from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from pipeline.coding.codebook import load_codebook
from pipeline.errors import CodesError
from pipeline.io.codes.align import align_codes
from pipeline.io.codes.read import read_codes, unknown_codes
from pipeline.io.codes.tables import locate_quote
from tests.conftest import DATA

MINI = DATA / "codebooks" / "mini.yaml"
NUMBERED = DATA / "codebooks" / "numbered.csv"
THINK_ALOUD = DATA / "think_aloud"
DOCUMENTS = {
    "d1": "I learnt on the job. Nobody helped.\nIt is lonely. It is lonely.",
    "d2": "The MBA course was good. Then a programme.",
}


@pytest.fixture()
def codebook():
    return load_codebook(MINI)


def write(tmp_path, text: str, name: str = "codes.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_long_codes_with_offsets_quotes_and_whole_documents(tmp_path, codebook):
    path = write(
        tmp_path,
        "document_id,code,start,end,coder,text\n"
        "d1,experience,0,20,ann,\n"
        "d1,Isolation,,,bob,\n"
        "d2,courses,,,ann,The MBA course\n"
        'd2,courses,,,bob,"The  MBA\ncourse was good."\n',
    )
    imported = read_codes(path, codebook=codebook, documents=DOCUMENTS)
    spans = [
        (a.document_id, a.code, a.coder, a.start, a.end) for a in imported.assignments
    ]
    assert spans == [
        ("d1", "experience", "ann", 0, 20),
        ("d1", "isolation", "bob", None, None),
        ("d2", "courses", "ann", 0, 14),
        ("d2", "courses", "bob", 0, 24),
    ]
    assert imported.coders == ("ann", "bob")
    assert imported.unused == ()


def test_every_row_is_used_or_reported_with_its_reason(tmp_path, codebook):
    path = write(
        tmp_path,
        "document_id,code,start,end,text\n"
        "d9,experience,,,\n"
        "d1,no_such_code,,,\n"
        "d1,experience,5,500,\n"
        "d1,isolation,,,It is lonely.\n"
        "d1,isolation,,,never said this\n"
        "d1,experience,a,b,\n",
    )
    imported = read_codes(path, codebook=codebook, documents=DOCUMENTS)
    reasons = [u.reason for u in imported.unused]
    assert imported.assignments == ()
    assert reasons == [
        "unknown document: 'd9'",
        "unknown code: 'no_such_code' is not in the codebook",
        "offsets out of range: 5-500 in a document of 63 characters",
        "ambiguous quote: it occurs 2 times in the document",
        "quote not found in the document",
        "bad offsets: start='a', end='b'",
    ]
    assert [u.origin for u in imported.unused][0] == "codes.csv:row 1"


def test_wide_codes_table_uses_codebook_columns_ids_or_names(tmp_path, codebook):
    path = write(
        tmp_path,
        "document_id,Learning from experience,courses,Isolation,other\n"
        "d1,1,,1.0,1\nd2,,x,,\nd3,1,,,\n",
    )
    imported = read_codes(path, codebook=codebook, documents=DOCUMENTS)
    assert [(a.document_id, a.code) for a in imported.assignments] == [
        ("d1", "experience"),
        ("d1", "isolation"),
        ("d2", "courses"),
    ]
    assert imported.unused[0].reason == "unknown document: 'd3'"
    assert imported.format == "wide"


def test_wide_codes_table_reads_every_spelling_of_yes_and_counts_each_column(
    tmp_path, codebook
):
    path = write(
        tmp_path,
        "document_id,Learning from experience,Isolation\n"
        "d1, Yes ,no\nd2,0,TRUE\nd9,t,\nd1,,\nd2,Y,X\nd1,false,1.0\n",
    )
    imported = read_codes(path, codebook=codebook, documents=DOCUMENTS)
    assert [(a.document_id, a.code, a.origin) for a in imported.assignments] == [
        ("d1", "experience", "codes.csv:row 1"),
        ("d2", "isolation", "codes.csv:row 2"),
        ("d2", "experience", "codes.csv:row 5"),
        ("d2", "isolation", "codes.csv:row 5"),
        ("d1", "isolation", "codes.csv:row 6"),
    ]
    assert [(u.origin, u.reason) for u in imported.unused] == [
        ("codes.csv:row 3", "unknown document: 'd9'")
    ]
    assert {m.code: m.n_rows for m in imported.matched} == {
        "experience": 3,
        "isolation": 3,
    }


def test_unreadable_codes_files(tmp_path, codebook):
    with pytest.raises(CodesError, match="not found"):
        read_codes(tmp_path / "x.csv", codebook=codebook, documents=DOCUMENTS)
    path = write(tmp_path, "foo,bar\n1,2\n")
    with pytest.raises(CodesError, match="no column matches a code"):
        read_codes(path, codebook=codebook, documents=DOCUMENTS)


def test_locate_quote_is_whitespace_tolerant_but_exact_first():
    text = "It was  hard.\nReally hard."
    assert locate_quote(text, "Really hard.") == ((14, 26), "")
    assert locate_quote(text, "was hard. Really") == ((3, 20), "")
    assert locate_quote(text, "hard")[0] is None


def segments_table(spans):
    return pa.table(
        {
            "document_id": [d for d, _, _ in spans],
            "segment_id": [f"{d}#s{i}" for i, (d, _, _) in enumerate(spans)],
            "start": [s for _, s, _ in spans],
            "end": [e for _, _, e in spans],
        }
    )


def test_alignment_needs_half_of_segment_or_half_of_span(tmp_path, codebook):
    segments = segments_table(
        [("d1", 0, 20), ("d1", 21, 30), ("d1", 40, 49), ("d2", 0, 24)]
    )
    path = write(
        tmp_path,
        "document_id,code,start,end,coder\n"
        # all of segment 0; 3 of 9 of segment 1, 3 of 24 of span
        "d1,experience,0,24,ann\n"
        "d1,isolation,28,42,ann\n"  # mostly between segments: 2 of 9, 2 of 9, 2 of 14
        "d1,isolation,41,44,bob\n"  # the whole span is inside segment 2
        "d2,courses,,,bob\n",
    )
    imported = read_codes(path, codebook=codebook, documents=DOCUMENTS)
    aligned = align_codes(segments, imported, ["experience", "courses", "isolation"])
    assert aligned.labels["ann"][:, 0].tolist() == [True, False, False, False]
    assert aligned.labels["ann"][:, 2].tolist() == [False, False, False, False]
    assert aligned.labels["bob"][:, 2].tolist() == [False, False, True, False]
    assert aligned.labels["bob"][:, 1].tolist() == [False, False, False, True]
    assert aligned.n_spans == 3
    assert aligned.coverage == pytest.approx(2 / 3)
    assert aligned.missed[0].reason.startswith("landed on no segment")
    union = aligned.combined("union")
    assert union.sum() == 3
    assert aligned.combined("majority").sum() == 0
    with pytest.raises(CodesError, match="unknown way to combine"):
        aligned.combined("median")


def test_demo_codes_all_land_on_segments():
    from pipeline.config.run import load_config
    from pipeline.io.ingest import ingest_corpus
    from pipeline.text.segment import segment_transcripts
    from tests.conftest import ROOT

    config = load_config(
        ROOT / "config" / "demo.yaml", overrides={"segment.spacy_model": "blank:en"}
    )
    result = ingest_corpus(config.ingest)
    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_managers.yaml")
    texts = {t.document_id: t.text for t in result.transcripts}
    imported = read_codes(
        ROOT / "examples" / "nhs_managers" / "codes.csv",
        codebook=codebook,
        documents=texts,
    )
    assert len(imported.assignments) == 376 and imported.unused == ()
    segments = segment_transcripts(result.transcripts, config.segment)
    aligned = align_codes(segments, imported, codebook.leaves())
    assert aligned.coverage == 1.0
    assert set(aligned.coders) == {"coder1", "coder2"}
    assert np.asarray(aligned.combined()).any(axis=1).sum() > 100


def test_qdpx_with_nested_codes_two_users_and_non_ascii_imports_exactly(data_dir):
    from pipeline.config.run import load_config
    from pipeline.io.ingest import ingest_corpus

    result = ingest_corpus(load_config().ingest, data_dir / "qdpx_corpus")
    texts = {t.document_id: t.text for t in result.transcripts}
    text = texts["interview_q"]
    assert "\r" not in text
    codebook = load_codebook(data_dir / "interview.qdpx")
    learning, experience, support = codebook.ids
    assert [codebook[c].name for c in codebook.ids] == [
        "Learning",
        "Learning from experience",
        "Support ties",
    ]
    assert codebook[support].parent == learning
    imported = read_codes(
        data_dir / "interview.qdpx", codebook=codebook, documents=texts
    )
    assert imported.unused == ()
    assert imported.coders == ("Ann", "Bob")
    # the project's own codebook: every coding points at its code by GUID
    assert {m.rule for m in imported.matched} == {"exact"}
    quoted = [(a.coder, a.code, text[a.start : a.end]) for a in imported.assignments]
    assert quoted == [
        ("Ann", experience, "I learnt on the job, really."),
        ("Ann", support, "My mentor helped me a lot"),
        ("Bob", support, "My mentor helped me a lot – she still does."),
        ("Bob", experience, "Naïve at first 🙂."),
    ]


def think_aloud_documents() -> dict[str, str]:
    folder = THINK_ALOUD / "transcripts"
    return {
        path.stem: path.read_text(encoding="utf-8") for path in folder.glob("*.txt")
    }


def test_codes_written_as_the_csv_codebook_writes_them_all_match_exactly():
    codebook = load_codebook(THINK_ALOUD / "codebook.csv")
    path = THINK_ALOUD / "codes.csv"
    assert unknown_codes(path, codebook) == {}

    imported = read_codes(path, codebook=codebook, documents=think_aloud_documents())

    assert imported.unused == ()
    assert len(imported.assignments) == 11
    assert {a.code for a in imported.assignments} == set(codebook.ids)
    assert imported.coders == ("coder",)  # the coder column is blank
    summary = imported.summary()
    assert summary["code_matches"] == {"exact": 7, "name": 0, "normalised": 0}
    assert summary["code_match_rows"]["exact"] == 11
    assert imported.notes == ()


def test_codes_matched_by_name_or_normalised_are_used_and_noted(tmp_path):
    codebook = load_codebook(NUMBERED)
    path = write(
        tmp_path,
        "document_id,code\n"
        "d1,1.8 - Past Experience\n"
        "d1,1.8 past experience\n"
        "d1,1.8 PAST-EXPERIENCE\n"
        "d2,1.10 peer support\n"
        "d2,Support +\n"
        "d2,support\n",
    )
    imported = read_codes(path, codebook=codebook, documents=DOCUMENTS)

    assert [a.code for a in imported.assignments] == [
        "1.8 - Past Experience",
        "1.8 - Past Experience",
        "1.8 - Past Experience",
        "1.10 - Peer support",
        "Support +",
    ]
    [ambiguous] = imported.unused
    assert ambiguous.origin == "codes.csv:row 6"
    assert ambiguous.reason.startswith(
        "ambiguous code: 'support' could be any of 'Support +', 'Support -'"
    )
    summary = imported.summary()
    assert summary["code_matches"] == {"exact": 2, "name": 0, "normalised": 3}
    assert summary["code_match_rows"] == {"exact": 2, "name": 0, "normalised": 3}
    [note] = imported.notes
    assert note.startswith(
        "3 code(s) matched ignoring case, spacing and punctuation, not as the "
        "codebook writes them: '1.8 past experience' -> '1.8 - Past Experience' "
        "(1 row)"
    )
    assert unknown_codes(path, codebook) == {"support": ["row 6"]}


def test_code_matched_by_name_says_so(tmp_path, codebook):
    path = write(tmp_path, "document_id,code\nd1,Formal courses\nd2,courses\n")
    imported = read_codes(path, codebook=codebook, documents=DOCUMENTS)
    assert [a.code for a in imported.assignments] == ["courses", "courses"]
    assert imported.summary()["code_matches"] == {
        "exact": 1,
        "name": 1,
        "normalised": 0,
    }
    assert imported.notes == (
        "1 code(s) matched by name, not as the codebook writes them: "
        "'Formal courses' -> 'Formal courses' (id 'courses') (1 row)",
    )
