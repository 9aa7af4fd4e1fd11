"""The report's "Knowledge networks" section: the picture, the groups, the quotes.

The network is drawn without a layout library: participants sit on a
circle, ordered by their group (so a group is an arc of one colour), and
each source sits at the mean position of the participants who name it,
drawn towards the centre. A source one participant names stays by them; a
source named across groups lands in the middle, between the arcs, where
bridges are easy to see. Hovering a node names it; the table under the
picture holds each source's quotes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.network.report_data import (
    network_figure_data,
    participants_table,
    read_network_outputs,
)
from pipeline.outputs.report_figures import ReportFigure
from pipeline.outputs.report_sections import Section
from pipeline.store.run_folder import RunFolder

MAX_SOURCE_QUOTES = 3
"""Quotes shown per source, in document order."""

KIND_SYMBOLS = {
    "person": "circle",
    "programme": "square",
    "network": "diamond",
    "community": "triangle-up",
    "codified": "x",
}


def network_section(
    folder: RunFolder, documents: pa.Table, texts: Mapping[str, str]
) -> Section:
    """The network's figure, its by-group table and each source's quotes.

    Args:
        folder: The run folder (the network step's files).
        documents: The documents table (participants' metadata).
        texts: Segment id to its words (the quotes).

    Returns:
        A section whose ``view`` is None when the run has no network.
    """
    outputs = read_network_outputs(folder)
    if outputs is None:
        return Section()
    participants = participants_table(documents)
    group_by = _colour_column(participants, outputs.by_group)
    sources = outputs.sources
    view = {
        "n_mentions": len(sources),
        "n_sources": int(sources["source"].nunique()) if len(sources) else 0,
        "n_participants": len(participants),
        "group_by": group_by,
        "by_group": _group_rows(outputs.by_group),
        "sources": _source_rows(sources, texts),
    }
    if not len(sources):
        return Section(view=view)
    data = network_figure_data(sources, participants, group_by=group_by)
    title = "Who participants turn to" + (f", by {group_by}" if group_by else "")
    return Section(view=view, figures=[ReportFigure("network", title, _figure(data))])


def _colour_column(participants: pd.DataFrame, by_group: pd.DataFrame) -> str | None:
    """The metadata column that colours participants: a ``*group*`` one first."""
    grouped = [
        str(c)
        for c in dict.fromkeys(by_group.get("column", pd.Series(dtype=str)).dropna())
        if c != "(all)" and c in participants.columns
    ]
    preferred = [c for c in grouped if "group" in c.lower()]
    return (preferred or grouped or [None])[0]


def _interval(row: Mapping[str, Any], name: str, *, share: bool) -> str:
    """``value [low, high]`` of a by-group measure, as the report shows it."""
    value = row.get(name)
    if value is None or pd.isna(value):
        return ""
    low, high = row.get(f"{name}_low"), row.get(f"{name}_high")
    fmt = "{:.0%}" if share else "{:.1f}"
    text = fmt.format(value)
    if low is not None and high is not None and not (pd.isna(low) or pd.isna(high)):
        text += f" [{fmt.format(low)}, {fmt.format(high)}]"
    return text


def _group_rows(by_group: pd.DataFrame) -> list[dict[str, str]]:
    """The by-group table as the report shows it (95% intervals in brackets)."""
    rows = []
    for row in by_group.to_dict(orient="records"):
        rows.append(
            {
                "column": str(row["column"]),
                "group": str(row["group"]),
                "participants": str(row["n_participants"]),
                "mean sources": _interval(row, "mean_sources", share=False),
                "external": _interval(row, "share_external", share=True),
                "codified": _interval(row, "share_codified", share=True),
                "at most one external": _interval(
                    row, "share_max_one_external", share=True
                ),
                "bridging sources": ""
                if pd.isna(row.get("bridging_sources"))
                else str(row.get("bridging_sources")),
            }
        )
    return rows


def _source_rows(sources: pd.DataFrame, texts: Mapping[str, str]) -> list[dict]:
    """One row per source: kind, scope, participants, mentions, first quotes."""
    if not len(sources):
        return []
    # plain lists, one pass: a pandas group per source cost about 2 ms each
    # (0.7 s of a 50-interview report)
    column = {
        name: sources[name].tolist()
        for name in ("source", "kind", "scope", "document_id", "segment_id")
    }
    purposes = sources["purpose"].tolist()
    by_source: dict[Any, list[int]] = {}
    for row, source in enumerate(column["source"]):
        if not pd.isna(source):  # as groupby, which leaves missing keys out
            by_source.setdefault(source, []).append(row)
    rows = []
    for source, mentions in by_source.items():
        first = mentions[0]
        quoted: dict[Any, Any] = {}  # segment -> its document, first mention first
        for row in mentions:
            quoted.setdefault(column["segment_id"][row], column["document_id"][row])
        quotes = [
            {"document_id": str(d), "segment_id": str(s), "text": texts.get(str(s), "")}
            for s, d in list(quoted.items())[:MAX_SOURCE_QUOTES]
        ]
        documents = {column["document_id"][row] for row in mentions}
        rows.append(
            {
                "source": str(source),
                "kind": str(column["kind"][first]),
                "scope": str(column["scope"][first]),
                "participants": sum(1 for d in documents if not pd.isna(d)),
                "mentions": len(mentions),
                "purposes": ", ".join(
                    sorted(
                        {
                            p
                            for row in mentions
                            if not pd.isna(purposes[row])
                            for p in str(purposes[row]).split(";")
                            if p
                        }
                    )
                ),
                "quotes": quotes,
            }
        )
    rows.sort(key=lambda r: (-r["participants"], -r["mentions"], r["source"]))
    return rows


def _positions(nodes: list[dict], edges: list[dict]) -> dict[str, tuple[float, float]]:
    """Participants on a circle by group; each source at its participants' mean."""
    participants = sorted(
        (n for n in nodes if n["type"] == "participant"),
        key=lambda n: (n["group"], n["label"]),
    )
    where: dict[str, tuple[float, float]] = {}
    for number, node in enumerate(participants):
        angle = 2 * math.pi * number / max(len(participants), 1)
        where[node["id"]] = (math.cos(angle), math.sin(angle))
    named_by: dict[str, list[str]] = {}
    for edge in edges:
        named_by.setdefault(edge["target"], []).append(edge["source"])
    for node in nodes:
        if node["type"] != "source":
            continue
        points = np.array([where[p] for p in named_by.get(node["id"], [])] or [(0, 0)])
        centre = points.mean(axis=0) * 0.55
        # spread the sources of one participant around its point, deterministically
        turn = (sum(map(ord, node["id"])) % 360) * math.pi / 180
        radius = 0.12 if len(points) == 1 else 0.04
        where[node["id"]] = (
            float(centre[0] + radius * math.cos(turn)),
            float(centre[1] + radius * math.sin(turn)),
        )
    return where


def _figure(data: dict[str, list[dict]]) -> Any:
    """The plotly figure: edges, participants by group, sources by kind."""
    # heavy: kept out of start-up
    import plotly.graph_objects as go

    nodes, edges = data["nodes"], data["edges"]
    where = _positions(nodes, edges)
    figure = go.Figure()
    xs: list[float | None] = []
    ys: list[float | None] = []
    for edge in edges:
        (x0, y0), (x1, y1) = where[edge["source"]], where[edge["target"]]
        xs += [x0, x1, None]
        ys += [y0, y1, None]
    figure.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"width": 0.6, "color": "#b8c2cc"},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    frame = pd.DataFrame(nodes)
    frame["x"] = [where[i][0] for i in frame["id"]]
    frame["y"] = [where[i][1] for i in frame["id"]]
    for (kind, group), rows in frame.groupby(["type", "group"], sort=True):
        participant = kind == "participant"
        figure.add_trace(
            go.Scatter(
                x=rows["x"],
                y=rows["y"],
                mode="markers+text" if participant else "markers",
                text=rows["label"] if participant else None,
                textposition="top center",
                name=(group or "participants") if participant else f"source: {group}",
                marker={
                    "size": (10 + 2 * np.sqrt(rows["size"])).tolist()
                    if participant
                    else (6 + 3 * np.sqrt(rows["size"])).tolist(),
                    "symbol": "circle" if participant else KIND_SYMBOLS.get(group, "x"),
                    "line": {"width": 1, "color": "#333"} if participant else None,
                },
                hovertext=[
                    f"{label}: {size} sources"
                    if participant
                    else f"{label} ({group}): named by {size} participants"
                    for label, size in zip(rows["label"], rows["size"], strict=True)
                ],
                hoverinfo="text",
            )
        )
    figure.update_layout(
        height=620,
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "v"},
    )
    return figure
