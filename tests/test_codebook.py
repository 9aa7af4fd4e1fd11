from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.codebook import load_codebook
from pipeline.errors import CodebookError
from tests.conftest import ROOT

MINI = Path(__file__).parent / "data" / "codebooks" / "mini.yaml"


def test_yaml_codebook_with_hierarchy():
    codebook = load_codebook(MINI)
    assert codebook.ids == ["learning", "experience", "courses", "isolation"]
    assert codebook.leaves() == ["experience", "courses", "isolation"]
    assert codebook.children("learning") == ["experience", "courses"]
    assert codebook.ancestors("courses") == ["learning"]
    assert codebook["experience"].keywords == ("on the job", "trial and error")


def test_codes_resolve_by_id_or_name():
    codebook = load_codebook(MINI)
    assert codebook.resolve("courses") == "courses"
    assert codebook.resolve("Formal courses") == "courses"
    assert codebook.resolve("  learning from EXPERIENCE ") == "experience"
    assert codebook.resolve("nothing") is None


@pytest.mark.parametrize("name", ["nhs_managers.yaml", "nhs_feedback.yaml"])
def test_shipped_codebooks_are_valid(name):
    codebook = load_codebook(ROOT / "config" / "codebooks" / name)
    assert len(codebook.leaves()) >= 10
    assert all(codebook[c].definition for c in codebook.leaves())


def test_feedback_codebook_maps_every_leaf_to_columns_of_the_file():
    import csv

    codebook = load_codebook(ROOT / "config" / "codebooks" / "nhs_feedback.yaml")
    with open(
        ROOT / "examples" / "nhs_feedback" / "feedback.csv", newline=""
    ) as handle:
        header = next(csv.reader(handle))
    assert len(codebook.leaves()) == 32
    for code in codebook.leaves():
        assert codebook[code].columns
        assert set(codebook[code].columns) <= set(header)


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "book.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "codes:\n  - id: a\n    name: A\n    defintion: typo\n",
            "code 'a': field 'defintion': unknown field; allowed fields: id, name",
        ),
        ("codes:\n  - id: a\n", "code 'a': field 'name': Field required"),
        (
            "codes:\n  - id: a\n    name: A\n  - id: a\n    name: B\n",
            "code 'a': field 'id': used twice",
        ),
        (
            "codes:\n  - id: a\n    name: A\n    parent: zz\n",
            "code 'a': field 'parent': no code has the id 'zz'",
        ),
        (
            "codes:\n  - id: a\n    name: A\n    parent: b\n  - id: b\n    name: B\n    parent: a\n",
            "field 'parent': the hierarchy loops back",
        ),
        ("codes:\n  - id: 'bad id!'\n    name: A\n", "code 'bad id!': field 'id'"),
        (
            "codes:\n  - id: a\n    name: A\n    examples: not a list\n",
            "code 'a': field 'examples': Input should be a valid list",
        ),
        ("codes: []\n", "field 'codes'"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_codebook_errors_name_file_code_and_field(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(CodebookError) as error:
        load_codebook(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_csv_codebook(tmp_path):
    path = tmp_path / "book.csv"
    path.write_text(
        "code,name,definition,examples\n"
        "Staff attitude,Staff attitude,How staff behave,Kind nurse|Rude porter\n"
        "parking,Parking,Car parks,\n"
    )
    codebook = load_codebook(path)
    assert codebook.ids == ["staff_attitude", "parking"]
    assert codebook["staff_attitude"].examples == ("Kind nurse", "Rude porter")
    assert codebook.resolve("Staff attitude") == "staff_attitude"


def test_csv_codebook_without_code_column(tmp_path):
    path = tmp_path / "book.csv"
    path.write_text("name,definition\nA,b\n")
    with pytest.raises(CodebookError, match="needs a 'code' column"):
        load_codebook(path)


def test_refi_qdc_codebook_with_nested_codes(tmp_path):
    path = tmp_path / "book.qdc"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="test"><Codes>'
        '<Code guid="11111111-1111-1111-1111-111111111111" name="Networks" isCodable="true">'
        "<Description>Ties to others</Description>"
        '<Code guid="22222222-2222-2222-2222-222222222222" name="Support ties" isCodable="true"/>'
        "</Code></Codes></CodeBook>"
    )
    codebook = load_codebook(path)
    assert codebook.ids == ["networks", "support_ties"]
    assert codebook["support_ties"].parent == "networks"
    assert codebook["networks"].definition == "Ties to others"


def test_missing_and_unknown_format(tmp_path):
    with pytest.raises(CodebookError, match="not found"):
        load_codebook(tmp_path / "none.yaml")
    other = tmp_path / "book.json"
    other.write_text("{}")
    with pytest.raises(CodebookError, match="unknown codebook format"):
        load_codebook(other)
