from __future__ import annotations

import pytest

from pipeline.config.run import PipelineConfig, RunOverrides, load_config
from pipeline.errors import ConfigError


def test_default_yaml_matches_the_built_in_defaults(tmp_path):
    from tests.conftest import ROOT

    assert load_config(ROOT / "config" / "default.yaml") == PipelineConfig()


@pytest.mark.parametrize("name", ["demo.yaml", "nhs_feedback.yaml"])
def test_shipped_configs_are_valid(name):
    from tests.conftest import ROOT

    load_config(ROOT / "config" / name)


def test_unknown_key_names_file_key_and_allowed_keys(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("segment:\n  unti: turn\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert f"{path}: segment.unti: unknown key" in message
    assert "allowed keys:" in message and "unit" in message


def test_wrong_value_names_the_allowed_values(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("segment:\n  unit: paragraph\n")
    with pytest.raises(
        ConfigError, match=r"segment\.unit: .*'turn', 'sentence' or 'window'"
    ):
        load_config(path)


def test_missing_file_and_bad_yaml_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    path = tmp_path / "broken.yaml"
    path.write_text("segment: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_overrides_replace_file_values(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("segment:\n  unit: window\n")
    overrides = RunOverrides(unit="turn", corpus="data/x").as_dotted()
    config = load_config(path, overrides=overrides)
    assert config.segment.unit == "turn"
    assert str(config.ingest.corpus) == "data/x"


def test_section_hash_changes_only_with_its_section():
    base = load_config()
    changed = load_config(overrides={"segment.unit": "turn"})
    assert base.section_hash("segment") != changed.section_hash("segment")
    assert base.section_hash("ingest") == changed.section_hash("ingest")
