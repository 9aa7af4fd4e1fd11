"""What a supervised coder learns from: one row per coding unit.

:func:`training_view` turns a prepared corpus and its aligned human codes
into the coder's rows, at the unit chosen by
:func:`pipeline.coding.units.choose_unit`: segments (in context when
``classify.context``), or whole documents. ``themes train`` and the
benchmarks use it, so they measure the same coder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.coding.context import CONTEXT_PARTS, context_features
from pipeline.coding.units import CodingUnit, document_units, unit_embeddings
from pipeline.errors import ConfigError
from pipeline.records import segment_metadata


@dataclass(frozen=True)
class TrainingView:
    """What the coder learns from, one row per coding unit.

    Attributes:
        texts: Each unit's text.
        features: ``(n_units, d)`` embeddings (segment, in context, or document).
        labels: ``(n_units, n_codes)`` human codes.
        groups: Each unit's cross-validation group.
        keys: Stable keys (out-of-fold scores are looked up by them).
        document_ids: Each unit's document.
        segment_rows: Per unit, its rows in the segment table.
        context: Whether the features hold the turn and question.
        parts: The blocks of a feature row, for the model card.
    """

    texts: list[str]
    features: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    keys: list[str]
    document_ids: list[str]
    segment_rows: list[np.ndarray]
    context: bool
    parts: list[str]

    def n_segments(self, index: np.ndarray) -> int:
        """Segments in the units ``index``."""
        return sum(len(self.segment_rows[i]) for i in index)


def training_view(prepared, aligned, unit: CodingUnit, config) -> TrainingView:
    """Segments (in context when ``classify.context``), or whole documents."""
    labels = aligned.combined(config.classify.training_coders)
    groups = cv_groups(prepared, config.classify.group_by)
    segment_texts = prepared.segments.column("text").to_pylist()
    settings_hash = config.section_hash("segment")
    if unit.name == "document":
        units = document_units(prepared.segments)
        return TrainingView(
            texts=units.texts,
            features=unit_embeddings(units, segment_texts, prepared.embedder.embed),
            labels=units.any_of(labels),
            groups=np.array([groups[rows[0]] for rows in units.rows], dtype=object),
            keys=units.keys(prepared.documents, settings_hash),
            document_ids=units.document_ids,
            segment_rows=units.rows,
            context=False,
            parts=["document"],
        )
    context = config.classify.context
    return TrainingView(
        texts=segment_texts,
        features=context_features(
            prepared.segments, prepared.embeddings, prepared.embedder.embed
        )
        if context
        else prepared.embeddings,
        labels=labels,
        groups=groups,
        keys=prepared.segment_keys(settings_hash),
        document_ids=prepared.segments.column("document_id").to_pylist(),
        segment_rows=[np.array([i]) for i in range(prepared.segments.num_rows)],
        context=context,
        parts=list(CONTEXT_PARTS) if context else ["segment"],
    )


def cv_groups(prepared, group_by: str | None) -> np.ndarray:
    """The cross-validation group of each segment: its document, or a metadata value."""
    documents = np.asarray(
        prepared.segments.column("document_id").to_pylist(), dtype=object
    )
    if group_by is None:
        return documents
    metadata = segment_metadata(prepared.segments, prepared.documents)
    if group_by not in metadata.columns:
        raise ConfigError(
            f"classify.group_by: no metadata column {group_by!r}; columns are: "
            f"{', '.join(metadata.columns)}"
        )
    values = metadata[group_by].to_numpy(dtype=object)
    # a segment without a value stays in its own document's group
    return np.where(pd.isna(values) | (values == ""), documents, values)
