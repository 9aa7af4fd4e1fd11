"""The big outputs written a piece at a time give the bytes written whole."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest


def best_quotes_by_document(table: pd.DataFrame, texts) -> pd.DataFrame:
    """The reference choice (the export's before :mod:`pipeline.outputs.best_segments`).

    Per document and code, the highest-scoring segment given the code, else
    the highest-scoring one: a stable pandas sort and ``drop_duplicates``.
    """
    ordered = table.sort_values(
        ["assigned", "score"], ascending=False, kind="stable"
    ).drop_duplicates(["document_id", "code"])
    best = ordered[["document_id", "code", "segment_id"]].rename(
        columns={"segment_id": "best_segment_id"}
    )
    return best.assign(
        quote=best["best_segment_id"].astype(str).map(dict(texts)).fillna("")
    ).reset_index(drop=True)


def auto_codes(seed: int = 0) -> pa.Table:
    """Every segment x code, with ties in score and unassigned pairs."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(6):
        for s in range(3):
            for code in ("007", "b", "c"):
                rows.append(
                    {
                        "document_id": f"d{d}",
                        "segment_id": f"d{d}-{s}",
                        "code": code,
                        # coarse scores: many ties, broken by table order
                        "score": float(rng.integers(0, 3)) / 2,
                        "assigned": bool(rng.integers(0, 2)),
                    }
                )
    return pa.Table.from_pylist(rows)


def by_document_csv() -> pd.DataFrame:
    """``auto_codes_by_document.csv`` as classify writes it, and a stray pair."""
    rows = [
        {
            "document_id": f"d{d}",
            "code": code,
            "present": d % 2 == 0,
            "n_segments": d,
            "max_score": d / 3,
        }
        for d in range(6)
        for code in ("007", "b", "c")
    ]
    rows.append(
        {
            "document_id": "gone",
            "code": "b",
            "present": False,
            "n_segments": 0,
            "max_score": 0.0,
        }
    )
    return pd.DataFrame(rows)


def texts() -> dict[str, str]:
    # d5-0 has no words: an empty quote, as before
    return {f"d{d}-{s}": f"words, of {d}-{s}" for d in range(6) for s in range(3)} | {
        "d5-0": ""
    }


def test_best_segments_are_the_ones_a_stable_pandas_sort_chooses():
    from pipeline.outputs.best_segments import BestSegments

    for seed in range(5):
        table = auto_codes(seed)
        words = texts() | {"d5-0": "x"}
        words.pop("d4-1")  # a segment without words: an empty quote
        chosen = BestSegments.from_table(table).with_best_quotes(
            by_document_csv(), words
        )
        expected = by_document_csv().merge(
            best_quotes_by_document(table.to_pandas(), words),
            on=["document_id", "code"],
            how="left",
            sort=False,
        )
        assert list(chosen.columns) == list(expected.columns)
        assert (
            chosen["best_segment_id"].tolist()[:-1]
            == (expected["best_segment_id"].tolist()[:-1])
        )
        assert chosen["quote"].tolist()[:-1] == expected["quote"].tolist()[:-1]
        # the pair the auto-codes do not have: empty cells, as the merge left them
        assert pd.isna(chosen["best_segment_id"].iloc[-1])
        assert pd.isna(expected["best_segment_id"].iloc[-1])
        assert chosen.to_csv(index=False) == expected.to_csv(index=False)


def write_run(folder) -> None:
    """A run folder with the auto-codes and the classify step's CSV by document."""
    folder.write_parquet("auto_codes.parquet", auto_codes())
    folder.write_csv("auto_codes_by_document.csv", by_document_csv())


@pytest.mark.parametrize("rows", [1, 4, 1000])
def test_codes_by_document_rewritten_in_chunks_is_the_whole_rewrite(tmp_path, rows):
    from pipeline.agreement.compare import with_code_names
    from pipeline.outputs.best_segments import write_codes_by_document
    from pipeline.outputs.run_tables import read_output_csv
    from pipeline.store.run_folder import RunFolder

    names = {"007": "Staff & care", "b": "Waiting"}
    folder = RunFolder(tmp_path / "run")
    write_run(folder)
    whole = RunFolder(tmp_path / "whole")
    # the table read whole and merged, as the export did before
    table = read_output_csv(folder.file("auto_codes_by_document.csv"))
    best = best_quotes_by_document(folder.auto_codes().to_pandas(), texts())
    table = table.merge(best, on=["document_id", "code"], how="left", sort=False)
    expected = whole.write_csv(
        "auto_codes_by_document.csv", with_code_names(table, names), encoding="utf-8"
    )

    written = write_codes_by_document(
        folder, folder, texts=texts(), names=names, encoding="utf-8", rows=rows
    )

    assert written == folder.file("auto_codes_by_document.csv")
    assert written.read_bytes() == expected.read_bytes()
    # once more on its own output (as `themes report` does): the same file
    again = write_codes_by_document(
        folder, folder, texts=texts(), names=names, encoding="utf-8", rows=rows
    )
    assert again.read_bytes() == expected.read_bytes()
    assert sorted(p.name for p in folder.path.iterdir()) == [
        "auto_codes.parquet",
        "auto_codes_by_document.csv",
    ]


def test_chunks_read_with_other_types_write_nothing(tmp_path):
    from pipeline.outputs.csv_chunks import rewrite_csv_in_chunks
    from pipeline.outputs.run_tables import read_output_csv
    from pipeline.store.run_folder import RunFolder

    folder = RunFolder(tmp_path)
    # whole numbers, then a blank: the second chunk is read as floats, and the
    # whole file would write 1.0 where the first chunk alone writes 1
    table = pd.DataFrame(
        {"code": ["a", "b", "c"], "n": pd.Series([1, 2, None], dtype=object)}
    )
    source = folder.write_csv("table.csv", table)
    before = source.read_bytes()

    written = rewrite_csv_in_chunks(source, folder, "table.csv", lambda c: c, rows=2)

    assert written is None
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]
    # in one chunk: the whole table's rewrite (floats, as pandas reads them)
    whole = RunFolder(tmp_path / "whole").write_csv(
        "table.csv", read_output_csv(source)
    )
    assert rewrite_csv_in_chunks(source, folder, "table.csv", lambda c: c, rows=3)
    assert source.read_bytes() == whole.read_bytes() != before


def test_rows_kept_chunk_by_chunk_have_the_types_of_the_whole_file(tmp_path):
    from pipeline.outputs.csv_chunks import read_rows_where
    from pipeline.outputs.run_tables import read_output_csv
    from pipeline.store.run_folder import RunFolder

    table = pd.DataFrame(
        {
            "segment_id": ["007", "2", "3", "4", "5"],
            "auto_assigned": [True, False, True, False, True],
            "human_any": [False, None, True, False, False],
            "n": pd.Series([1, 2, None, 4, 5], dtype=object),
        }
    )
    path = RunFolder(tmp_path).write_csv("codes_compared.csv", table)
    whole = read_output_csv(path)
    expected = whole[whole["auto_assigned"].eq(True)].reset_index(drop=True)

    for rows in (1, 2, 10):
        kept = read_rows_where(path, lambda c: c["auto_assigned"].eq(True), rows=rows)
        pd.testing.assert_frame_equal(kept, expected)
    none = read_rows_where(path, lambda c: c["auto_assigned"].ne(c["auto_assigned"]))
    assert list(none.columns) == list(table.columns) and len(none) == 0


def element_tree_case(document_id, values, source_guid) -> str:
    """A Case as the project writer built it with ElementTree."""
    from xml.etree import ElementTree

    case = ElementTree.Element("Case", guid="g-case", name=document_id)
    for variable_guid, text in values:
        value = ElementTree.SubElement(case, "VariableValue")
        ElementTree.SubElement(value, "VariableRef", targetGUID=variable_guid)
        ElementTree.SubElement(value, "TextValue").text = text
    ElementTree.SubElement(case, "SourceRef", targetGUID=source_guid)
    ElementTree.indent(case, level=2)
    return "\n    " + ElementTree.tostring(case, encoding="unicode")


def element_tree_source(name, selections) -> str:
    from xml.etree import ElementTree

    source = ElementTree.Element(
        "TextSource", guid="g-src", name=name, plainTextPath="internal://g-src.txt"
    )
    for s in selections:
        selection = ElementTree.SubElement(
            source,
            "PlainTextSelection",
            guid=s.guid,
            name=s.name,
            startPosition=str(s.start),
            endPosition=str(s.end),
            creatingUser=s.user_guid,
        )
        coding = ElementTree.SubElement(
            selection, "Coding", guid=s.coding_guid, creatingUser=s.user_guid
        )
        ElementTree.SubElement(coding, "CodeRef", targetGUID=s.code_guid)
    ElementTree.indent(source, level=2)
    return "\n    " + ElementTree.tostring(source, encoding="unicode")


TRICKY = ["a & b <c> \"d\" 'e'", "tab\tline\nreturn\r", "", "  spaced  ", "é – 🙂"]


def test_cases_and_sources_are_the_text_element_tree_writes():
    from pipeline.io.refi.project_xml import (
        SelectionXml,
        case_xml,
        text_source_xml,
    )

    for text in TRICKY:
        values = [("g-var1", text), ("g-var2", "plain"), ("g-3", "")]
        assert case_xml(
            guid="g-case", name=text, values=values, source_guid="g-s"
        ) == element_tree_case(text, values, "g-s")
        assert case_xml(
            guid="g-case", name=text, values=[], source_guid="g-s"
        ) == element_tree_case(text, [], "g-s")
        selections = [
            SelectionXml("g-sel", text, 0, 5, "g-user", "g-coding", "{G-CODE}"),
            SelectionXml("g-sel2", "…", 3, 40, "g-u2", "g-c2", "g-code2"),
        ]
        for some in (selections, selections[:1], []):
            assert text_source_xml(
                guid="g-src", name=text, path="internal://g-src.txt", selections=some
            ) == element_tree_source(text, some)


def test_fast_guid_is_the_stable_guid():
    from pipeline.io.refi.guids import stable_guid
    from pipeline.io.refi.project_xml import fast_stable_guid

    for kind in ("selection", "coding", "case", "source"):
        for key in ["", "d1", "0\x1fd1\x1fcode\x1f0\x1f10\x1fauto: x (run 1)", *TRICKY]:
            assert fast_stable_guid(kind, key) == stable_guid(kind, key)


def test_project_written_in_small_blocks_is_the_same_archive(tmp_path, monkeypatch):
    from pipeline.coding.codebook_records import Code, Codebook
    from pipeline.io.refi import project_xml
    from pipeline.io.refi.export_input import ExportCoding, ExportDocument
    from pipeline.io.refi.write import write_project

    documents = [
        ExportDocument(f"d{i}", f"text {i} & more words", {"site": f"s{i % 2}"})
        for i in range(30)
    ]
    codebook = Codebook(
        name="cb", codes=(Code(id="a", name="A"), Code(id="b", name="B", parent="a"))
    )
    codings = [
        ExportCoding(f"d{i}", 0, 4 + i % 3, "ab"[i % 2], "Ann" if i % 3 else "auto")
        for i in range(0, 30, 2)
    ]

    def write(path):
        return write_project(
            path,
            name="p",
            documents=documents,
            codebook=codebook,
            codings=codings,
            auto_coders={"auto"},
        ).read_bytes()

    whole = write(tmp_path / "whole.qdpx")
    init = project_xml.BlockWriter.__init__
    monkeypatch.setattr(
        project_xml.BlockWriter,
        "__init__",
        lambda self, handle, block=1: init(self, handle, block=7),
    )
    assert write(tmp_path / "blocks.qdpx") == whole
