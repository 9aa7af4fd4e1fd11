"""The whole configuration of a run: its sections, read from YAML and validated.

:func:`load_config` reads a config file (with overrides from the command line,
see :class:`RunOverrides`) into a :class:`PipelineConfig`; a bad key or value
is a :class:`~pipeline.errors.ConfigError` naming the file, the key and the
allowed values. ``execution`` and ``store`` (where a run executes and writes)
are defined here; the other sections in :mod:`pipeline.config.inputs` and
:mod:`pipeline.config.analysis`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from pipeline.config.analysis import (
    ClassifyConfig,
    CompareConfig,
    EmbedConfig,
    SegmentConfig,
    TopicsConfig,
)
from pipeline.config.base import StrictModel, hash_json
from pipeline.config.inputs import AnonymiseConfig, IngestConfig
from pipeline.config.network import NetworkConfig
from pipeline.errors import ConfigError


class ExecutionConfig(StrictModel):
    """Where the flow's tasks run.

    Attributes:
        executor: ``local`` (threads in this process) or ``dask`` (a Dask
            cluster: ``dask_address``, or a local cluster of ``dask_workers``).
        dask_address: Scheduler address of an existing Dask cluster
            (``tcp://host:8786``); its workers must see the project's files.
        dask_workers: Workers of the local cluster started when no address is given.
        document_batch: Documents per segmentation task (more when that
            would make over 256 tasks: ``pipeline.steps.segment.MAX_BATCHES``).
        text_batch: Texts per embedding task.
        parallel_topics_from: A run with at least this many segments fits its
            topics in a second process while this one codes the segments (the
            local executor on a machine with two or more CPUs; on Dask the
            topic step always runs on a worker). ``null``: never. A small
            corpus fits its topics in less time than a process takes to start.
    """

    executor: Literal["local", "dask"] = "local"
    dask_address: str | None = None
    dask_workers: int = Field(default=2, ge=1)
    document_batch: int = Field(default=200, ge=1)
    text_batch: int = Field(default=1024, ge=1)
    parallel_topics_from: int | None = Field(default=20_000, ge=1)


class StoreConfig(StrictModel):
    """Where results go.

    Attributes:
        database: The DuckDB file shared by all runs.
        runs_dir: Parent folder of the per-run folders ``<runs_dir>/<run_id>/``.
        lock_timeout_seconds: How long a run waits for another run that holds
            the store before it stops with a clear message.
        share_with_group: Files the tool writes (they can hold transcript text)
            are readable by their owner only (``0600``, folders ``0700``);
            ``true`` lets the owner's Unix group read and write them too
            (``0660``, ``0770``), for a team that shares a group.
        csv_encoding: How the run's CSV files are written: ``utf-8-sig``
            (UTF-8 with a byte-order mark, so Excel shows accents, curly
            quotes and dashes as written) or ``utf-8`` (no mark, for scripts
            that do not expect one). Applied to every CSV of the run folder
            when its outputs are written.

    """

    database: Path = Path("runs/themes.duckdb")
    runs_dir: Path = Path("runs")
    lock_timeout_seconds: float = Field(default=600.0, ge=0)
    share_with_group: bool = False
    csv_encoding: Literal["utf-8-sig", "utf-8"] = "utf-8-sig"


class PipelineConfig(StrictModel):
    """The whole configuration of a run."""

    ingest: IngestConfig = IngestConfig()
    anonymise: AnonymiseConfig = AnonymiseConfig()
    segment: SegmentConfig = SegmentConfig()
    embed: EmbedConfig = EmbedConfig()
    topics: TopicsConfig = TopicsConfig()
    classify: ClassifyConfig = ClassifyConfig()
    compare: CompareConfig = CompareConfig()
    network: NetworkConfig = NetworkConfig()
    execution: ExecutionConfig = ExecutionConfig()
    store: StoreConfig = StoreConfig()

    random_state: int = 42

    def section_hash(self, name: str) -> str:
        """Return a short, stable hash of one section, for cache keys."""
        section = getattr(self, name)
        value = (
            section.model_dump(mode="json")
            if isinstance(section, BaseModel)
            else section
        )
        return hash_json(value)

    def config_hash(self) -> str:
        """Return a short, stable hash of the whole configuration."""
        return hash_json(self.model_dump(mode="json"))


def load_config(
    path: str | Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
) -> PipelineConfig:
    """Read and validate a pipeline config.

    Args:
        path: A YAML file; ``None`` gives the defaults.
        overrides: Values that replace those of the file, by dotted key
            (``{"segment.unit": "turn", "ingest.corpus": "data/"}``).

    Returns:
        The validated configuration.

    Raises:
        ConfigError: The file is missing or not YAML, or a key is unknown or
            has a value of the wrong type; the message names the file and key.

    """
    where = str(path) if path is not None else "<defaults>"
    raw: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(
                f"{where}: config file not found (give an existing YAML file)"
            )
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise ConfigError(f"{where}: not valid YAML: {error}") from error
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(
                f"{where}: expected a mapping of sections (ingest:, segment:, ...), "
                f"got {type(loaded).__name__}"
            )
        raw = loaded
    for dotted_key, value in (overrides or {}).items():
        if value is None:
            continue
        _set_dotted(raw, dotted_key, value)
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, where)) from error


def _set_dotted(target: dict[str, Any], dotted_key: str, value: Any) -> None:
    keys = dotted_key.split(".")
    node = target
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = {}
            node[key] = child
        if not isinstance(child, dict):
            raise ConfigError(f"override {dotted_key}: {key} is not a section")
        node = child
    node[keys[-1]] = value


def format_validation_error(error: ValidationError, where: str) -> str:
    """Turn a pydantic error into lines naming the file, the dotted key and the fix."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "<top level>"
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(item["loc"][:-1])
            message = "unknown key" + (
                f"; allowed keys: {', '.join(allowed)}" if allowed else ""
            )
        else:
            message = item["msg"]
            if "input" in item and item["type"] not in ("missing",):
                message += f" (got {_short_repr(item['input'])})"
        lines.append(f"{where}: {key}: {message}")
    return "\n".join(lines)


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] | None = PipelineConfig
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return []
        annotation = model.model_fields[part].annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return sorted(model.model_fields) if model is not None else []


class RunOverrides(StrictModel):
    """Typed values given on the command line or as flow parameters.

    Each replaces one key of the config file; ``None`` leaves it alone.
    ``refit_topics`` refits the topic model even when ``topics.update`` is
    ``transform`` (for a scheduled weekly refit, say); ``refit_codes`` does the
    same for the zero-shot keyword models (``classify.update``).
    """

    corpus: str | None = None
    out: str | None = None
    id_column: str | None = None
    text_column: str | None = None
    unit: Literal["turn", "sentence", "window"] | None = None
    database: str | None = None
    codebook: str | None = None
    model: str | None = None
    codes: str | None = None
    executor: Literal["local", "dask"] | None = None
    dask_address: str | None = None
    refit_topics: bool = False
    refit_codes: bool = False
    anonymise: Literal["report", "redact", "block"] | None = None

    def as_dotted(self) -> dict[str, Any]:
        """Return the overrides as dotted config keys (``out`` is not a config key)."""
        mapping = {
            "corpus": "ingest.corpus",
            "id_column": "ingest.id_column",
            "text_column": "ingest.text_column",
            "unit": "segment.unit",
            "database": "store.database",
            "codebook": "classify.codebook",
            "model": "classify.model",
            "codes": "compare.codes",
            "executor": "execution.executor",
            "dask_address": "execution.dask_address",
            "anonymise": "anonymise.policy",
        }

        dotted = {
            key: getattr(self, name)
            for name, key in mapping.items()
            if getattr(self, name) is not None
        }
        if self.refit_topics:
            dotted["topics.update"] = "refit"
        if self.refit_codes:
            dotted["classify.update"] = "refit"
        return dotted
