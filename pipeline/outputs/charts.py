"""Interactive charts as self-contained HTML.

Plotly's JavaScript is embedded once, no CDN.
"""

from __future__ import annotations

import html
from collections.abc import Sequence


def figure_div(figure, *, include_plotlyjs: bool, div_id: str | None = None) -> str:
    """One plotly figure as an HTML ``<div>`` (plotly.js inlined when asked).

    Args:
        figure: A plotly figure.
        include_plotlyjs: Whether to inline plotly.js (the page's first figure).
        div_id: The ``<div>``'s id (default: plotly makes one up).

    Returns:
        The HTML fragment.
    """
    # heavy: kept out of start-up
    import plotly.io as pio

    return pio.to_html(
        figure,
        include_plotlyjs=include_plotlyjs,
        full_html=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def figures_to_html(
    title: str, figures: Sequence[tuple[str, object]], *, intro: str = ""
) -> str:
    """Render plotly figures into one HTML page that works offline.

    Args:
        title: Page title.
        figures: ``(heading, plotly figure)`` pairs.
        intro: A paragraph of plain text under the title (escaped).

    Returns:
        A complete HTML document with plotly.js inlined once.
    """
    parts = []
    for number, (heading, figure) in enumerate(figures):
        div = figure_div(figure, include_plotlyjs=number == 0)
        parts.append(f"<section><h2>{html.escape(heading)}</h2>{div}</section>")
    if not parts:
        parts.append("<p>No charts: see the run's notes for why.</p>")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}"
        "h2{margin-top:2rem}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>"
        + "".join(parts)
        + "</body></html>\n"
    )
