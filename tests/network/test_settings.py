"""The gazetteer, the corrections file and the config section: clear errors."""

from __future__ import annotations

import pydantic
import pytest

from pipeline.config.network import DEFAULT_GAZETTEER, NetworkConfig
from pipeline.errors import ConfigError
from pipeline.network.corrections import read_corrections
from pipeline.network.gazetteer import load_gazetteer


def test_the_shipped_gazetteer_loads_and_is_the_default():
    assert NetworkConfig().gazetteer_path == DEFAULT_GAZETTEER
    gazetteer = load_gazetteer(DEFAULT_GAZETTEER)
    assert gazetteer.source_named("nhs leadership academy").kind == "programme"
    assert gazetteer.roles and gazetteer.dismissal_cues


def test_a_gazetteer_with_an_unknown_key_or_kind_names_the_file_and_key(tmp_path):
    path = tmp_path / "gazetteer.yaml"
    path.write_text("sources:\n  - name: X\n    kind: website\nsauces: []\n")
    with pytest.raises(ConfigError) as error:
        load_gazetteer(path)
    message = str(error.value)
    assert str(path) in message and "sources.0.kind" in message and "sauces" in message


def test_a_missing_gazetteer_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="network.gazetteer"):
        load_gazetteer(tmp_path / "missing.yaml")


def test_the_network_section_rejects_unknown_keys():
    with pytest.raises(pydantic.ValidationError):
        NetworkConfig.model_validate({"enabled": True, "min_scor": 0.3})
    config = NetworkConfig.model_validate({"group_by": ["managerial_group"]})
    assert config.group_by == ("managerial_group",)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("remove,M01,1,5,,,,", "action"),
        ("reject,M01,one,5,,,,", "start"),
        ("kind,,,,M01: mentor,website,,", "kind"),
        ("scope,,,,M01: mentor,,abroad,", "scope"),
        ("reject,,,,,,,", "source"),
        ("rename,,,,M01: mentor,,,", "value"),
    ],
)
def test_a_bad_correction_names_the_file_line_and_field(tmp_path, row, field):
    path = tmp_path / "corrections.csv"
    path.write_text(
        "action,document_id,start,end,source,kind,scope,value\n" + row + "\n"
    )
    with pytest.raises(ConfigError) as error:
        read_corrections(path)
    assert f"{path}, line 2, {field}" in str(error.value)


def test_corrections_read_by_mention_or_by_source(tmp_path):
    path = tmp_path / "corrections.csv"
    path.write_text(
        "action,document_id,start,end,source,value\n"
        "reject,M01,10,20,,\n"
        "merge,,,,M02: group chat,M02: regional group\n",
        encoding="utf-8-sig",
    )
    first, second = read_corrections(path)
    assert first.by_mention and (first.start, first.end) == (10, 20)
    assert not second.by_mention and second.value == "M02: regional group"
