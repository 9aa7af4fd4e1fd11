"""What people open, piece by piece: workbook cells, CSVs, review order, console."""

from __future__ import annotations

import codecs
import io

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT


def agreement_rows() -> pd.DataFrame:
    """An agreement table as compare writes it: a code nobody used has no kappa."""
    return pd.DataFrame(
        {
            "code": ["007", "rare", "(all codes)"],
            "unit": ["segments"] * 3,
            "n_units": [120, 120, 240],
            "prevalence_a": [0.12, 0.0, 0.06],
            "kappa": [0.4123, np.nan, 0.31],
            "kappa_low": [0.2, np.nan, 0.1],
            "precision": [0.5, np.nan, 0.5],
            "flag": ["", "code never used by either coder", ""],
        }
    )


def test_workbook_stores_coefficients_as_numbers_and_nan_as_empty_cells(tmp_path):
    import openpyxl

    from pipeline.outputs.run_tables import read_output_csv
    from pipeline.outputs.spreadsheet import write_workbook
    from pipeline.store.run_folder import RunFolder

    # through the CSV, as the export reads it: a blank used to turn the whole
    # column into text ("0.4123") in the workbook
    folder = RunFolder(tmp_path)
    folder.write_csv("agreement.csv", agreement_rows())
    table = read_output_csv(folder.file("agreement.csv"))
    mixed = pd.DataFrame(
        {"n_units": pd.Series([np.int64(3), "", None], dtype=object)}
    )  # NumPy ints and blanks in an object column
    write_workbook(
        tmp_path / "book.xlsx", {"agreement": table, "mixed": mixed}, about=["x"]
    )

    sheet = openpyxl.load_workbook(tmp_path / "book.xlsx")["agreement"]
    header = [cell.value for cell in sheet[1]]
    kappa = header.index("kappa") + 1
    cells = [sheet.cell(row=r, column=kappa) for r in (2, 3, 4)]
    assert [c.data_type for c in cells] == ["n", "n", "n"]
    assert [c.value for c in cells] == [0.4123, None, 0.31]
    assert cells[0].number_format == "0.00"
    share = sheet.cell(row=2, column=header.index("prevalence_a") + 1)
    assert share.value == 0.12 and share.number_format == "0.0%"
    precision = sheet.cell(row=2, column=header.index("precision") + 1)
    assert precision.data_type == "n" and precision.value == 0.5
    assert sheet.cell(row=2, column=1).value == "007"  # ids stay text
    assert sheet.cell(row=3, column=header.index("flag") + 1).value.startswith("code")
    assert sheet.cell(row=2, column=header.index("flag") + 1).value is None
    mixed_sheet = openpyxl.load_workbook(tmp_path / "book.xlsx")["mixed"]
    assert mixed_sheet["A2"].value == 3 and mixed_sheet["A2"].data_type == "n"
    assert mixed_sheet["A3"].value is None and mixed_sheet["A4"].value is None


def test_csvs_start_with_a_byte_order_mark_unless_plain_utf8_is_asked_for(tmp_path):
    from pipeline.outputs.run_tables import read_output_csv
    from pipeline.store.run_folder import RunFolder

    folder = RunFolder(tmp_path)
    table = pd.DataFrame({"code": ["007", "NA"], "quote": ["café – “naïve”", "ok"]})
    marked = folder.write_csv("marked.csv", table)
    plain = folder.write_csv("plain.csv", table, encoding="utf-8")

    assert marked.read_bytes().startswith(codecs.BOM_UTF8)
    assert not plain.read_bytes().startswith(codecs.BOM_UTF8)
    assert marked.read_bytes()[3:] == plain.read_bytes()
    for path in (marked, plain):
        back = read_output_csv(path)
        assert list(back.columns) == ["code", "quote"]
        assert back["code"].tolist() == ["007", "NA"]
        assert back["quote"][0] == "café – “naïve”"

    assert folder.set_csv_encoding("marked.csv", "utf-8")
    assert marked.read_bytes() == plain.read_bytes()
    assert not folder.set_csv_encoding("marked.csv", "utf-8")
    assert folder.set_csv_encoding("plain.csv", "utf-8-sig")
    assert plain.read_bytes().startswith(codecs.BOM_UTF8)
    with pytest.raises(ValueError, match="utf-8-sig, utf-8"):
        folder.write_csv("bad.csv", table, encoding="latin-1")


def test_csv_encoding_setting_is_checked(tmp_path):
    from pipeline.config.run import load_config
    from pipeline.errors import ConfigError

    good = tmp_path / "good.yaml"
    good.write_text("store:\n  csv_encoding: utf-8\n")
    assert load_config(good).store.csv_encoding == "utf-8"
    assert load_config().store.csv_encoding == "utf-8-sig"
    bad = tmp_path / "bad.yaml"
    bad.write_text("store:\n  csv_encoding: latin-1\n")
    with pytest.raises(ConfigError, match="csv_encoding"):
        load_config(bad)


def candidates(rows: list[tuple[str, str, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["code", "kind", "confidence", "filler"]).assign(
        label=[f"{c}:{k}:{v}" for c, k, v, _ in rows]
    )


def test_review_order_alternates_false_positives_and_misses_fillers_last():
    from pipeline.agreement.disagreements import (
        FALSE_POSITIVE,
        MISS,
        rank_disagreements,
    )

    # misses outnumber and outscore false positives, and short fillers are
    # among the most confident: they used to fill the top of the list
    rows = [("a", MISS, 0.9 - i / 100, False) for i in range(6)]
    rows += [("a", MISS, 0.95, True), ("b", MISS, 0.97, True)]
    rows += [("a", FALSE_POSITIVE, 0.2, False), ("a", FALSE_POSITIVE, 0.3, False)]
    rows += [("b", MISS, 0.5, False), ("b", FALSE_POSITIVE, 0.1, False)]
    ranked = rank_disagreements(candidates(rows))

    assert len(ranked) == len(rows)
    assert ranked["kind"].head(6).tolist() == [FALSE_POSITIVE, MISS] * 3
    assert ranked["label"].head(2).tolist() == [f"a:{FALSE_POSITIVE}:0.3", "a:miss:0.9"]
    # every code takes its turn: b's best miss comes before a's second miss
    misses = ranked[ranked["kind"] == MISS]["label"].tolist()
    assert misses[:2] == ["a:miss:0.9", "b:miss:0.5"]
    assert ranked["filler"].tolist() == [False] * 10 + [True] * 2


def test_review_order_keeps_at_most_per_code_rows_balanced_between_kinds():
    from pipeline.agreement.disagreements import (
        FALSE_POSITIVE,
        MISS,
        rank_disagreements,
    )

    rows = [("a", MISS, 0.9 - i / 100, False) for i in range(10)]
    rows += [("a", FALSE_POSITIVE, 0.5 - i / 100, False) for i in range(10)]
    rows += [("a", MISS, 0.99, True)]
    rows += [("b", MISS, 0.4, False)]
    ranked = rank_disagreements(candidates(rows), per_code=4)

    a = ranked[ranked["code"] == "a"]
    assert len(a) == 4 and not a["filler"].any()
    assert a["kind"].value_counts().to_dict() == {FALSE_POSITIVE: 2, MISS: 2}
    assert a["confidence"].max() == 0.9
    assert (ranked["code"] == "b").sum() == 1
    assert len(rank_disagreements(candidates(rows), per_code=0)) == len(rows)


def test_fillers_and_short_segments_are_recognised():
    from pipeline.agreement.disagreements import count_words, is_filler

    assert count_words("Yeah, right?") == 2
    assert count_words("I don't know, it's hard.") == 5
    assert is_filler("Yeah, yeah, I mean, you know, so that's it.")
    assert is_filler("Okay. Well, yeah, I think so, really.")
    assert not is_filler("It was all about them, not us.")
    assert not is_filler("Nobody sat me down and taught me a budget.")


def print_agreement(summary: dict, monkeypatch) -> str:
    from rich.console import Console

    import flows.cli.console

    out = io.StringIO()
    monkeypatch.setattr(flows.cli.console, "console", Console(file=out, width=400))
    flows.cli.console.print_agreement(summary)
    return out.getvalue()


def test_console_agreement_shows_both_prevalences_flags_and_undefined_kappa(
    monkeypatch,
):
    lopsided = (
        "coder B gave the code to 0.4% of units, the other to 6.0%: agreement "
        "here mostly means both left it out"
    )
    summary = {
        "pooled": [
            {
                "unit": "segments",
                "coder_a": "ann",
                "coder_b": "auto",
                "prevalence_a": 0.06,
                "prevalence_b": 0.004,
                "kappa": 0.05,
                "flag": lopsided,
            },
            {
                "unit": "documents",
                "coder_a": "ann",
                "coder_b": "auto",
                "prevalence_a": 0.0,
                "prevalence_b": 0.0,
                "kappa": float("nan"),
                "flag": "",
            },
            {
                "unit": "segments",
                "coder_a": "ann",
                "coder_b": "bob",
                "prevalence_a": 0.06,
                "prevalence_b": 0.055,
                "kappa": 0.71,
                "flag": "",
            },
        ],
        "n_assignments": 10,
        "n_unused": 0,
        "coverage": 1.0,
        "n_disagreements": 5,
        "disagreements_by_kind": {"false positive": 1, "miss": 4},
    }
    output = print_agreement(summary, monkeypatch)

    assert "A coded" in output and "B coded" in output
    assert "6.0%" in output and "0.4%" in output and "5.5%" in output
    assert "[1] segments, ann vs auto: " + lopsided in output
    assert "undefined" in output and "[2] documents, ann vs auto: kappa undefined" in (
        output
    )
    assert "0.71" in output
    assert "1 false positive, 4 misses" in output


def test_console_agreement_reads_summaries_of_older_runs(monkeypatch):
    summary = {
        "pooled": [
            {"unit": "segments", "coder_a": "ann", "coder_b": "auto", "kappa": 0.4}
        ],
        "n_assignments": 1,
        "n_unused": 0,
        "coverage": 1.0,
        "n_disagreements": 0,
    }
    output = print_agreement(summary, monkeypatch)
    assert "0.40" in output and "-" in output


def test_report_headline_flags_undefined_kappa_and_keeps_both_shares():
    from pipeline.outputs.report_sections import agreement_headline

    pooled = pd.DataFrame(
        {
            "unit": ["segments", "documents"],
            "coder_a": ["ann", "ann"],
            "coder_b": ["auto", "bob"],
            "prevalence_a": [0.06, 0.5],
            "prevalence_b": [0.004, 0.4],
            "kappa": [0.05, ""],
            "kappa_low": [0.0, ""],
            "kappa_high": [0.1, ""],
            "flag": ["coder B gave the code to 0.4% of units", ""],
        }
    )
    first, second = agreement_headline(pooled)
    assert first["auto"] and first["share_a"] == 0.06 and first["share_b"] == 0.004
    assert first["flag"].startswith("coder B gave") and not first["undefined"]
    assert second["undefined"] and second["flag"] == "kappa undefined"
    assert not second["auto"]


def test_codebook_table_holds_definitions_notes_and_examples():
    from pipeline.coding.codebook import load_codebook
    from pipeline.outputs.export import codebook_table

    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_managers.yaml")
    table = codebook_table(codebook)
    assert table["code"].tolist() == codebook.ids
    first = codebook.codes[0]
    row = table.iloc[0]
    assert row["code_name"] == first.name and row["definition"] == first.definition
    assert row["examples"].split("\n") == list(first.examples)
    assert row["include"].split("\n") == list(first.include)


def test_auto_code_rows_get_their_quotes():
    import pyarrow as pa

    from pipeline.coding.auto_code_tables import with_quotes
    from pipeline.outputs.best_segments import BestSegments

    texts = {"d1#s1": "We learn on the job.", "d1#s2": "Yeah.", "d2#s1": "Budgets."}
    table = pd.DataFrame(
        {
            "document_id": ["d1", "d1", "d1", "d1", "d2", "d2"],
            "segment_id": ["d1#s1", "d1#s1", "d1#s2", "d1#s2", "d2#s1", "d2#s1"],
            "start": [0, 0, 21, 21, 0, 0],
            "end": [20, 20, 26, 26, 8, 8],
            "code": ["exp", "cod", "exp", "cod", "exp", "cod"],
            "score": [0.6, 0.1, 0.9, 0.2, 0.3, 0.8],
            "assigned": [True, False, False, False, False, True],
        }
    )
    quoted = with_quotes(table, texts)
    assert list(quoted.columns).index("quote") == list(quoted.columns).index("end") + 1
    assert quoted["quote"].tolist()[:3] == [texts["d1#s1"]] * 2 + ["Yeah."]
    assert list(with_quotes(quoted, texts).columns) == list(quoted.columns)

    pairs = table[["document_id", "code"]].drop_duplicates()
    best = (
        BestSegments.from_table(pa.Table.from_pandas(table, preserve_index=False))
        .with_best_quotes(pairs, texts)
        .set_index(["document_id", "code"])
    )
    # the assigned segment, though another scored higher without the code
    assert best.loc[("d1", "exp"), "best_segment_id"] == "d1#s1"
    assert best.loc[("d1", "cod"), "quote"] == "Yeah."  # none assigned: best score
    assert best.loc[("d2", "cod"), "quote"] == "Budgets."
