"""A finished run's files read back for its outputs: CSVs, JSON, texts, code names.

The report, the workbook, the REFI-QDA project and ``themes report`` read a
run folder through these functions, so a CSV is read back the same way
everywhere (ids as text, numbers as numbers) and a file a run may lack is
optional in one place.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.records import DOCUMENT_SCHEMA
from pipeline.store import run_files
from pipeline.store.run_folder import DEFAULT_CSV_ENCODING, RunFolder

TEXT_COLUMNS = (
    "document_id", "segment_id", "best_segment_id", "code", "code_name", "unit",
    "coder_a", "coder_b", "coders", "group", "group_column", "label", "kind",
    "quote", "first_segment_id", "last_segment_id", "auto", "humans",
    "nearest_human_coded", "flag", "method", "model",
    "top_words", "representative_ids", "definition",
)  # fmt: skip
"""Columns of the run's CSVs read as text: ids such as ``007`` stay as written."""

RUN_CSVS = (
    run_files.ANONYMISATION, run_files.TOPICS, run_files.TOPICS_BY_GROUP,
    run_files.AUTO_CODES_CSV, run_files.AUTO_CODES_BY_DOCUMENT_CSV,
    run_files.AUTO_PASSAGES_CSV, "prevalence_by_group.csv", "codes_compared.csv",
    "agreement.csv", "human_agreement.csv", "disagreements.csv", "suggestions.csv",
    run_files.KNOWLEDGE_SOURCES_CSV, run_files.DISMISSED_MENTIONS_CSV,
    run_files.NETWORK_BY_GROUP,
)  # fmt: skip
"""The CSV files a run folder may hold (given ``store.csv_encoding`` on export)."""


def read_output_csv(path: str | Path) -> pd.DataFrame:
    """A CSV this tool wrote, read back as written.

    With or without a byte-order mark; numbers as numbers and an empty cell as
    missing (so a coefficient column with a blank stays numeric), ids and
    other text columns as text, and words such as ``NA`` as words.

    Args:
        path: The CSV file.

    Returns:
        The table.
    """
    return pd.read_csv(path, **output_csv_options())


def output_csv_columns(path: str | Path) -> list[str]:
    """The column names of a CSV this tool wrote (its header only is read)."""
    return list(pd.read_csv(path, nrows=0, **output_csv_options()).columns)


def output_csv_options() -> dict[str, Any]:
    """The options of :func:`pandas.read_csv` that read a CSV of the run as written."""
    return {
        "encoding": "utf-8-sig",
        "keep_default_na": False,
        "na_values": [""],
        "dtype": dict.fromkeys(TEXT_COLUMNS, str),
    }


def read_run_table(folder: RunFolder, name: str) -> pd.DataFrame | None:
    """A table of the run (CSV or Parquet), or None when the run has none.

    Args:
        folder: The run folder.
        name: The file's name (``.csv`` is read with :func:`read_output_csv`).

    Returns:
        The table, or None.
    """
    path = folder.file(name)
    if not path.is_file():
        return None
    if name.endswith(".parquet"):
        return folder.read_parquet(name).to_pandas()
    return read_output_csv(path)


def read_optional_json(folder: RunFolder, name: str, default: Any = None) -> Any:
    """A JSON file of the run, or ``default`` when the run has none.

    Args:
        folder: The run folder.
        name: The file's name.
        default: What a missing file reads as.

    Returns:
        The file's value, or ``default``.
    """
    return folder.read_json(name) if folder.file(name).is_file() else default


def document_metadata_columns(folder: RunFolder) -> list[str]:
    """The metadata columns of ``documents.parquet`` (its schema only is read)."""
    # heavy: kept out of start-up
    import pyarrow.parquet as pq

    fixed = set(DOCUMENT_SCHEMA.names)
    names = pq.read_schema(folder.file(run_files.DOCUMENTS)).names
    return [name for name in names if name not in fixed]


def segment_texts(
    folder: RunFolder, *, only: Collection[str] | None = None
) -> dict[str, str]:
    """Segment id to its words, from ``segments.parquet``.

    Args:
        folder: The run folder.
        only: Keep just these segment ids (default: all).

    Returns:
        The texts, in segment order.
    """
    segments = folder.segments(columns=["segment_id", "text"])
    pairs = zip(
        segments.column("segment_id").to_pylist(),
        segments.column("text").to_pylist(),
        strict=True,
    )
    if only is None:
        return dict(pairs)
    return {segment: text for segment, text in pairs if segment in only}


def run_code_names(folder: RunFolder, codebook=None) -> dict[str, str]:
    """Code id to the name people read: from the codebook, else the run's coder.

    Args:
        folder: The run folder (its ``classifier.json`` names the codes it
            coded with).
        codebook: The run's codebook, if at hand.

    Returns:
        Code id to name (a code without one is its own name).
    """
    names: dict[str, str] = {}
    classifier = read_optional_json(folder, run_files.CLASSIFIER, {})
    names.update(classifier.get("code_names") or {})
    if codebook is not None:
        names.update(codebook.display_names())
    return names


def run_csv_encoding(folder: RunFolder) -> str:
    """The run's ``store.csv_encoding`` (its manifest's config), else the default."""
    manifest = read_optional_json(folder, run_files.MANIFEST, {})
    config = manifest.get("config") or {}
    return (config.get("store") or {}).get("csv_encoding") or DEFAULT_CSV_ENCODING
