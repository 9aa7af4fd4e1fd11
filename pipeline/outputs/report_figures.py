"""The report's plotly figures, and their HTML.

Each builder takes the table the report shows beside the figure; the first
figure rendered carries plotly.js, inlined (the report works offline).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import pandas as pd

from pipeline.outputs.charts import figure_div


class ReportFigure(NamedTuple):
    """A figure and where the report shows it.

    Attributes:
        section: The report section (``prevalence``, ``topics``, ``agreement``).
        title: The figure's heading.
        figure: The plotly figure.
        column: The metadata column a prevalence figure groups by, else None.
    """

    section: str
    title: str
    figure: Any
    column: str | None = None


def prevalence_heatmap(
    table: pd.DataFrame, codes: list[str], name_of: Callable[[Any], str]
):
    """Share of segments with each code in each group, counts in the hover.

    Args:
        table: One metadata column's prevalence table
            (:func:`~pipeline.outputs.prevalence.prevalence_by_group`).
        codes: Every code, in table order (the heatmap's columns).
        name_of: Code id to the name shown.

    Returns:
        The heatmap.
    """
    # heavy: kept out of start-up
    import plotly.graph_objects as go

    pivot = table.pivot(index="group", columns="code", values="share")[codes]
    hover = table.apply(
        lambda r: (
            f"{r['n_coded']} of {r['n_segments']} segments "
            f"({r['share']:.0%}, 95% CI "
            f"{r['share_low']:.0%}-{r['share_high']:.0%}); "
            f"in {r['documents_with_code']} of {r['n_documents']} documents"
        ),
        axis=1,
    )
    hover_pivot = table.assign(hover=hover).pivot(
        index="group", columns="code", values="hover"
    )
    figure = go.Figure(
        go.Heatmap(
            z=pivot.to_numpy(),
            x=[name_of(code) for code in pivot.columns],
            y=list(pivot.index),
            customdata=hover_pivot.loc[pivot.index, pivot.columns].to_numpy(),
            hovertemplate="%{y} / %{x}<br>%{customdata}<extra></extra>",
            colorscale="Blues",
            colorbar={"title": "share"},
        )
    )
    figure.update_layout(
        xaxis={"tickangle": -40},
        height=260 + 30 * len(pivot.index),
        margin={"b": 160},
    )
    return figure


def topic_sizes_figure(shown: pd.DataFrame):
    """Segments per topic, as horizontal bars (``size`` and ``label`` columns)."""
    # heavy: kept out of start-up
    import plotly.graph_objects as go

    figure = go.Figure(go.Bar(x=shown["size"], y=shown["label"], orientation="h"))
    figure.update_layout(
        yaxis={"autorange": "reversed"},
        height=220 + 26 * len(shown),
        xaxis_title="segments",
        margin={"l": 260},
    )
    return figure


def agreement_figure(pooled: pd.DataFrame):
    """Pooled kappa per unit and coder, auto vs human beside human vs human.

    Args:
        pooled: The ``(all codes)`` rows of the agreement table.

    Returns:
        The bar chart, or None when no row compares with the auto-coder.
    """
    # heavy: kept out of start-up
    import plotly.graph_objects as go

    auto_rows = pooled[pooled["coder_b"] == "auto"]
    human_rows = pooled[pooled["coder_b"] != "auto"]
    if not len(auto_rows):
        return None
    figure = go.Figure()
    for label, rows in (
        ("auto vs human", auto_rows),
        ("human vs human", human_rows),
    ):
        if not len(rows):
            continue
        kappa = pd.to_numeric(rows["kappa"], errors="coerce")
        low = pd.to_numeric(rows["kappa_low"], errors="coerce")
        high = pd.to_numeric(rows["kappa_high"], errors="coerce")
        figure.add_trace(
            go.Bar(
                name=label,
                x=rows["unit"] + " (" + rows["coder_a"] + ")",
                y=kappa,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": high - kappa,
                    "arrayminus": kappa - low,
                },
            )
        )
    figure.update_layout(
        barmode="group",
        yaxis_title="Cohen's kappa (pooled over codes)",
        height=380,
    )
    return figure


def learning_curve_figure(curve: pd.DataFrame, name_of: Callable[[Any], str]):
    """Cross-validated kappa of a trained model by number of training examples.

    Args:
        curve: The model card's learning curve (``code``, ``n_examples``,
            ``kappa``).
        name_of: Code id to the name shown.

    Returns:
        One line per code.
    """
    # heavy: kept out of start-up
    import plotly.graph_objects as go

    figure = go.Figure()
    for code, rows in curve.groupby("code"):
        figure.add_trace(
            go.Scatter(
                x=rows["n_examples"],
                y=rows["kappa"],
                mode="lines+markers",
                name=name_of(code),
            )
        )
    figure.update_layout(
        xaxis_title="human-coded examples in training",
        yaxis_title="cross-validated kappa",
        height=420,
    )
    return figure


def render_figures(figures: list[ReportFigure]) -> list[dict[str, Any]]:
    """The figures as the template places them: section, title, HTML, id, column.

    Args:
        figures: In report order (the first carries plotly.js).

    Returns:
        One dict per figure, its ``<div>`` id ``figure-<n>``.
    """
    rendered = []
    for number, (section, title, figure, column) in enumerate(figures):
        div_id = f"figure-{number}"
        html = figure_div(figure, include_plotlyjs=number == 0, div_id=div_id)
        rendered.append(
            {
                "section": section,
                "title": title,
                "html": html,
                "id": div_id,
                "column": column,
            }
        )
    return rendered
