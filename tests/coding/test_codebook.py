from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipeline.coding.codebook import load_codebook
from pipeline.coding.codebook_records import (
    Code,
    CodeMatch,
    normalise_code,
    validate_codes,
)
from pipeline.errors import CodebookError
from tests.conftest import DATA, ROOT

MINI = DATA / "codebooks" / "mini.yaml"
NUMBERED = DATA / "codebooks" / "numbered.csv"
THINK_ALOUD = DATA / "think_aloud"


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


def test_match_says_which_rule_found_the_code():
    codebook = load_codebook(MINI)
    assert codebook.match(" courses ") == CodeMatch("courses", "exact")
    assert codebook.match("Formal courses") == CodeMatch("courses", "name")
    assert codebook.match("formal-courses") == CodeMatch("courses", "normalised")
    assert codebook.match("COURSES") == CodeMatch("courses", "normalised")
    assert codebook.match("Formal course") is None


def test_normalising_drops_case_spacing_and_punctuation_but_keeps_numbers_apart():
    assert normalise_code("1.8 - Past Experience") == "1_8pastexperience"
    assert normalise_code("1.8 past-experience") == "1_8pastexperience"
    assert normalise_code("Export (meta)data") == normalise_code("export metadata")
    assert normalise_code("1.10 Peer support") != normalise_code("11.0 Peer support")
    assert normalise_code(" - ") == ""


def test_a_reference_two_codes_could_be_matches_neither():
    codebook = load_codebook(NUMBERED)
    assert codebook.match("Support +") == CodeMatch("Support +", "exact")
    assert codebook.match("support") is None
    assert codebook.candidates("support") == ["Support +", "Support -"]
    duplicate_names = validate_codes(
        [Code("a", "Same"), Code("b", "Same")], source="test", name="test"
    )
    assert duplicate_names.match("Same") is None
    assert duplicate_names.display_names() == {"a": "Same [a]", "b": "Same [b]"}


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
            "codes:\n  - id: a\n    name: A\n    parent: b\n"
            "  - id: b\n    name: B\n    parent: a\n",
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
    assert codebook.ids == ["Staff attitude", "parking"]
    assert codebook["Staff attitude"].examples == ("Kind nurse", "Rude porter")
    assert codebook.resolve("Staff attitude") == "Staff attitude"
    assert codebook.match("Parking") == CodeMatch("parking", "name")


def test_csv_codebook_keeps_each_code_as_the_researcher_wrote_it():
    codebook = load_codebook(THINK_ALOUD / "codebook.csv")
    with open(THINK_ALOUD / "codebook.csv", newline="", encoding="utf-8") as handle:
        written = [row["code"] for row in csv.DictReader(handle)]
    assert codebook.ids == written
    assert [code.name for code in codebook.codes] == written
    assert "Export (meta)data helpful" in codebook.ids
    assert codebook["Term unclear"].definition.startswith("A word or phrase")


def test_numbered_codes_keep_their_strings_and_codes_alike_do_not_collide():
    codebook = load_codebook(NUMBERED)
    assert codebook.ids == [
        "1 - Learning",
        "1.8 - Past Experience",
        "1.10 - Peer support",
        "1.1 - Formal training",
        "Support +",
        "Support -",
    ]
    # a parent may be written loosely ("1 - learning"): it is found as codes are
    assert codebook.children("1 - Learning") == [
        "1.8 - Past Experience",
        "1.10 - Peer support",
        "1.1 - Formal training",
    ]
    assert codebook.match("1.10 peer support").code == "1.10 - Peer support"
    assert codebook.match("1.1 formal training").code == "1.1 - Formal training"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code,description\nA,a\n,b\n", "row 2: field 'code' is blank"),
        (
            "code,description\nA,a\nB,b\nA,c\n",
            "row 3 (code 'A'): field 'code': used twice (rows 1 and 3)",
        ),
        (
            "code,parent\nA,\nB,Z\n",
            "code 'B': field 'parent': no code has the id 'Z'",
        ),
    ],
)
def test_csv_codebook_errors_name_the_row_and_field(tmp_path, text, message):
    path = tmp_path / "book.csv"
    path.write_text(text)
    with pytest.raises(CodebookError) as error:
        load_codebook(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


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
        '<Code guid="11111111-1111-1111-1111-111111111111" name="Networks" '
        'isCodable="true"><Description>Ties to others</Description>'
        '<Code guid="22222222-2222-2222-2222-222222222222" name="Support ties" '
        'isCodable="true"/>'
        "</Code></Codes></CodeBook>"
    )
    codebook = load_codebook(path)
    networks = "11111111-1111-1111-1111-111111111111"
    support = "22222222-2222-2222-2222-222222222222"
    assert codebook.ids == [networks, support]
    assert codebook.names == {networks: "Networks", support: "Support ties"}
    assert codebook[support].parent == networks
    assert codebook[networks].definition == "Ties to others"
    assert codebook.match(support) == CodeMatch(support, "exact")
    assert codebook.match("Support ties") == CodeMatch(support, "name")


def test_missing_and_unknown_format(tmp_path):
    with pytest.raises(CodebookError, match="not found"):
        load_codebook(tmp_path / "none.yaml")
    other = tmp_path / "book.json"
    other.write_text("{}")
    with pytest.raises(CodebookError, match="unknown codebook format"):
        load_codebook(other)
