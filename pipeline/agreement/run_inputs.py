"""A run's codebook and human codes, read against the run's own documents.

The codebook is ``classify.codebook``, else the one the trained model's card
names. Human codes are read against the run's document texts; the offsets of
a redacted document are carried over to its redacted text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.coding.codebook import load_codebook
from pipeline.coding.codebook_records import Codebook
from pipeline.io.codes.read import read_codes
from pipeline.io.codes.records import CodesImport
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder
from pipeline.text.identifiers.redaction import offset_map_from


def read_card(model_dir: str | Path | None) -> dict[str, Any] | None:
    """A saved model's card (its ``card.json``), or None when there is none.

    Args:
        model_dir: The model's folder (a trained coder or a topic model), if any.

    Returns:
        The card, or None without a folder or a card in it.
    """
    if not model_dir:
        return None
    card = Path(model_dir) / "card.json"
    return json.loads(card.read_text(encoding="utf-8")) if card.is_file() else None


def run_codebook_path(config) -> str | Path | None:
    """The codebook a run codes with: ``classify.codebook``, else its model's.

    Args:
        config: The :class:`~pipeline.config.run.PipelineConfig`.

    Returns:
        The codebook file, or None when neither the config nor the trained
        model's card names one.
    """
    if config.classify.codebook:
        return config.classify.codebook
    card = read_card(config.classify.model)
    return None if card is None else card.get("codebook")


def document_texts(folder: RunFolder) -> dict[str, str]:
    """Document id to its (normalised, maybe redacted) text, from ``documents.parquet``.

    Args:
        folder: The run folder.

    Returns:
        The texts, in document order.
    """
    documents = folder.documents(columns=["document_id", "text"])
    return dict(
        zip(
            documents["document_id"].to_pylist(),
            documents["text"].to_pylist(),
            strict=True,
        )
    )


def redaction_maps(folder: RunFolder) -> dict:
    """Offset maps of the run's redacted documents (empty unless policy was redact)."""
    if not folder.file(run_files.INGEST).is_file():
        return {}
    report = folder.read_json(run_files.INGEST).get("anonymisation") or {}
    return {d: offset_map_from(m) for d, m in (report.get("offset_maps") or {}).items()}


def read_run_codes(
    folder: RunFolder,
    codes_path: str | Path,
    *,
    codebook: Codebook,
    documents: dict[str, str],
    id_column: str | None,
) -> CodesImport:
    """Human codes read against a run's documents and redactions.

    Args:
        folder: The run folder (its redaction maps).
        codes_path: The human codes file.
        codebook: The codebook to read the codes with.
        documents: Document id to text (:func:`document_texts`).
        id_column: A wide table's document id column (``ingest.id_column``).

    Returns:
        The codes as read.

    Raises:
        CodesError: The codes file cannot be read.
    """
    return read_codes(
        codes_path,
        codebook=codebook,
        documents=documents,
        id_column=id_column,
        offset_maps=redaction_maps(folder),
    )


def load_codebook_and_codes(
    run_dir: str | Path, config
) -> tuple[Codebook | None, CodesImport | None]:
    """The run's codebook (config or trained model's card) and its human codes, if any.

    Args:
        run_dir: The run folder (its documents, and redaction maps).
        config: The run's config: ``classify.codebook`` (or ``classify.model``)
            and ``compare.codes``.

    Returns:
        ``(codebook or None, CodesImport or None)``.

    Raises:
        CodesError: The codes file cannot be read.
        CodebookError: The codebook cannot be read.
    """
    path = run_codebook_path(config)
    if path is None or not Path(path).is_file():
        return None, None
    codebook = load_codebook(path)
    if config.compare.codes is None:
        return codebook, None
    folder = RunFolder(run_dir)
    imported = read_run_codes(
        folder,
        config.compare.codes,
        codebook=codebook,
        documents=document_texts(folder),
        id_column=config.ingest.id_column,
    )
    return codebook, imported
