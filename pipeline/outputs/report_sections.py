"""The report's sections as the template reads them, from a run folder's files.

Each function returns one section's variables (tables as lists of records,
missing values as empty strings) and, where the section has them, its
figures (:mod:`pipeline.outputs.report_figures`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.agreement.compare import with_code_names
from pipeline.agreement.metrics import POOLED
from pipeline.agreement.run_inputs import read_card
from pipeline.coding.run_auto_codes import read_assigned
from pipeline.outputs.prevalence import prevalence_by_column
from pipeline.outputs.report_figures import (
    ReportFigure,
    agreement_figure,
    prevalence_heatmap,
    topic_sizes_figure,
)
from pipeline.outputs.run_tables import read_optional_json, read_run_table
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder

MAX_QUOTES = 6
"""Quotes behind a prevalence cell, the best-scoring first."""


@dataclass
class Section:
    """A report section's variables and figures.

    Attributes:
        view: What the template reads (None: the run has no such section).
        figures: The section's figures, in order.
    """

    view: Any = None
    figures: list[ReportFigure] = field(default_factory=list)


@dataclass
class PrevalenceSection:
    """Theme prevalence by metadata group.

    Attributes:
        tables: Metadata column to its prevalence table (with ``code_name``).
        quotes: A cell's key (column, group and code name, joined by
            ``\\x1f``, as the click handler sees the cell) to its quotes.
        figures: One heatmap per metadata column.
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    quotes: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    figures: list[ReportFigure] = field(default_factory=list)


def blank(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with missing values as empty strings (as the template shows them)."""
    return frame.astype(object).where(frame.notna(), "")


def records(frame: pd.DataFrame | None) -> list[dict]:
    """The table's rows for the template (none when there is no table)."""
    return [] if frame is None else blank(frame).to_dict(orient="records")


def named(frame: pd.DataFrame | None, names: Mapping[str, str]) -> pd.DataFrame | None:
    """The table with ``code_name`` set from ``code`` (tables of older runs lack it)."""
    return None if frame is None else with_code_names(frame, names)


def overview_view(
    manifest: Mapping[str, Any],
    documents: pd.DataFrame,
    segments: pd.DataFrame,
    metadata: pd.DataFrame,
) -> dict[str, Any]:
    """Corpus overview: counts, quarantined files, formats, roles, groups, notes."""
    return {
        "counts": manifest.get("counts", {}),
        "quarantined": manifest.get("quarantined", []),
        "anonymisation": manifest.get("anonymisation") or {},
        "notes": manifest.get("notes", []),
        "formats": documents["format"].value_counts().to_dict(),
        "roles": segments["role"].value_counts().to_dict(),
        "groups": {
            column: documents[column].fillna("(missing)").value_counts().to_dict()
            for column in metadata.columns
            if column in documents
            and 1 <= documents[column].nunique() <= 20
            and (documents[column].nunique() < len(documents) or len(documents) == 1)
        },
    }


def prevalence_section(
    folder: RunFolder,
    *,
    documents: pd.DataFrame,
    segments: pd.DataFrame,
    metadata: pd.DataFrame,
    texts: Mapping[str, str],
    names: Mapping[str, str],
    name_of: Callable[[Any], str],
) -> PrevalenceSection:
    """Prevalence tables, heatmaps and the quotes behind each cell.

    Args:
        folder: The run folder (its auto-codes; none: an empty section).
        documents: The documents table.
        segments: The segment table.
        metadata: Per-segment metadata, aligned with ``segments``.
        texts: Segment id to its words.
        names: Code id to the name shown.
        name_of: ``names`` as a function (a code without a name is its id).

    Returns:
        The section.
    """
    section = PrevalenceSection()
    if not folder.file(run_files.AUTO_CODES).is_file():
        return section
    assigned, codes = read_assigned(folder)
    assigned = assigned.sort_values("score", ascending=False)
    tables = prevalence_by_column(assigned, codes, segments, metadata, documents)
    for column, table in tables.items():
        table = with_code_names(table, names)
        section.tables[column] = table
        section.figures.append(
            ReportFigure(
                "prevalence",
                f"Share of segments with each theme, by {column}",
                prevalence_heatmap(table, codes, name_of),
                column,
            )
        )
        group_of = dict(
            zip(
                segments["segment_id"].tolist(),
                metadata[column].fillna("(missing)").tolist(),
                strict=True,
            )
        )
        for (code, group), rows in assigned.groupby(
            [assigned["code"], assigned["segment_id"].map(group_of)], sort=False
        ):
            # keyed as the click handler sees a cell: by the name shown
            section.quotes[f"{column}\x1f{group}\x1f{name_of(code)}"] = [
                {"id": s, "text": texts[s], "score": f"{sc:.2f}"}
                for s, sc in zip(
                    rows["segment_id"][:MAX_QUOTES],
                    rows["score"][:MAX_QUOTES],
                    strict=True,
                )
            ]
    return section


def topics_section(
    folder: RunFolder, manifest: Mapping[str, Any], texts: Mapping[str, str]
) -> Section:
    """Topics: sizes, words, representative quotes, topics per group, a bar chart."""
    topics = read_run_table(folder, run_files.TOPICS)
    if topics is None:
        return Section()
    shown = topics[topics["topic"] >= 0]
    view = {
        "rows": [
            {
                **row,
                "quotes": [
                    texts.get(s, "")
                    for s in str(row["representative_ids"]).split(";")
                    if s
                ],
            }
            for row in blank(topics).to_dict(orient="records")
        ],
        "by_group": read_run_table(folder, run_files.TOPICS_BY_GROUP),
        "message": (manifest.get("topics") or {}).get("message", ""),
    }
    figures = (
        [ReportFigure("topics", "Segments per topic", topic_sizes_figure(shown))]
        if len(shown)
        else []
    )
    return Section(view, figures)


def agreement_section(folder: RunFolder, names: Mapping[str, str]) -> Section:
    """Agreement with human codes: headline, pooled and per-code rows, a chart."""
    agreement = named(read_run_table(folder, "agreement.csv"), names)
    if agreement is None:
        return Section()
    agreement = blank(agreement)
    pooled = agreement[agreement["code"] == POOLED]
    view = {
        "headline": agreement_headline(pooled),
        "pooled": pooled.to_dict(orient="records"),
        "rows": agreement[agreement["code"] != POOLED].to_dict(orient="records"),
        "human_alpha": records(
            named(read_run_table(folder, "human_agreement.csv"), names)
        ),
        "import": read_optional_json(folder, run_files.CODES_IMPORT),
    }
    figure = agreement_figure(pooled)
    figures = (
        []
        if figure is None
        else [
            ReportFigure(
                "agreement", "Agreement with human codes, and the human ceiling", figure
            )
        ]
    )
    return Section(view, figures)


def agreement_headline(pooled: pd.DataFrame) -> list[dict[str, Any]]:
    """The pooled rows as the headline reads them: shares side by side, flags.

    Args:
        pooled: The ``(all codes)`` rows of the agreement table, missing
            values as empty strings (tables of older runs may lack
            ``prevalence_a`` and ``prevalence_b``).

    Returns:
        Per row: ``unit``, ``coder_a``, ``coder_b``, ``auto`` (whether B is
        the auto-coder), ``share_a``, ``share_b`` (each coder's prevalence:
        the share of unit and code pairs it coded, the mean share of units
        per code), ``kappa`` (empty when undefined),
        ``kappa_low``, ``kappa_high``, ``undefined`` and ``flag``.
    """
    rows = []
    for row in pooled.to_dict(orient="records"):
        undefined = row.get("kappa", "") in ("", None)
        flag = str(row.get("flag", "") or "")
        if undefined and "undefined" not in flag:
            flag = "; ".join(filter(None, ["kappa undefined", flag]))
        rows.append(
            {
                "unit": row["unit"],
                "coder_a": row["coder_a"],
                "coder_b": row["coder_b"],
                "auto": row["coder_b"] == "auto",
                "share_a": row.get("prevalence_a", ""),
                "share_b": row.get("prevalence_b", ""),
                "kappa": row.get("kappa", ""),
                "kappa_low": row.get("kappa_low", ""),
                "kappa_high": row.get("kappa_high", ""),
                "undefined": undefined,
                "flag": flag,
            }
        )
    return rows


def auto_coverage(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """The auto-coder's share of segments coded and its warnings, from the manifest.

    Args:
        manifest: The run's ``manifest.json``.

    Returns:
        ``share_coded``, ``n_segments``, ``n_coded``, ``model`` and ``notes``,
        or None when the run did not auto-code.
    """
    classify = manifest.get("classify") or {}
    if "share_coded" not in classify:
        return None
    n_segments = int((manifest.get("counts") or {}).get("segments", 0))
    without = classify.get("segments_without_code")
    return {
        "share_coded": classify["share_coded"],
        "n_segments": n_segments,
        "n_coded": None if without is None else n_segments - int(without),
        "model": classify.get("model", ""),
        "notes": list(classify.get("notes") or []),
    }


def codebook_view(codebook) -> list[dict[str, Any]] | None:
    """The codebook's codes as the report lists them (None without a codebook)."""
    if codebook is None:
        return None
    return [
        {
            "id": code.id,
            "name": code.name,
            "parent": code.parent or "",
            "definition": code.definition,
            "include": list(code.include),
            "exclude": list(code.exclude),
            "examples": list(code.examples),
            "counter_examples": list(code.counter_examples),
            "keywords": list(code.keywords),
        }
        for code in codebook.codes
    ]


def topic_card(manifest: Mapping[str, Any]) -> dict | None:
    """The topic model's card without its long parts (None without a saved model)."""
    card = read_card((manifest.get("topics") or {}).get("model_dir"))
    if card is None:
        return None
    return {
        k: v
        for k, v in card.items()
        if k not in ("topics", "versions", "topics_config")
    }
