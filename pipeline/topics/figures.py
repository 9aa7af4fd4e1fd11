"""Topic charts (plotly figures): BERTopic's own for a fit, a bar chart otherwise."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from pipeline.topics.bertopic_adapters import quiet_bertopic
from pipeline.topics.centroids import OUTLIER
from pipeline.topics.estimator import TopicModeler
from pipeline.topics.numba_cache import cache_umap_functions
from pipeline.topics.words import SEGMENT_END


def topic_figures(
    modeler: TopicModeler,
    documents: Sequence[str],
    groups: dict[str, Sequence[str]],
) -> list[tuple[str, object]]:
    """BERTopic's interactive charts for a fitted model (plotly figures).

    Charts that need more topics than there are are left out: the intertopic
    map and the hierarchy need at least three topics.

    Args:
        modeler: A fitted modeler with a BERTopic model.
        documents: The texts the model was fitted on (lemmas), in order.
        groups: Metadata column to per-segment group, for topics per group.

    Returns:
        ``(title, figure)`` pairs.
    """
    model = modeler.model_
    if model is None:
        return []
    topic_ids = [t for t in sorted(model.get_topics()) if t != OUTLIER]
    n_topics = len(topic_ids)
    docs = [documents[i] + SEGMENT_END for i in modeler.usable_]
    with quiet_bertopic():
        return _figures(model, modeler, docs, groups, n_topics)


def _figures(model, modeler, docs, groups, n_topics) -> list[tuple[str, object]]:
    figures: list[tuple[str, object]] = [
        (
            "Top words per topic",
            model.visualize_barchart(top_n_topics=min(n_topics, 16), n_words=8),
        )
    ]
    if n_topics >= 3:
        if modeler.config.intertopic_map:
            cache_umap_functions()  # UMAP of the topics: compiled once per machine
            figures.append(("Intertopic distance map", model.visualize_topics()))
        if modeler.config.hierarchy:
            hierarchy = model.hierarchical_topics(docs)
            figures.append(
                (
                    "Topic hierarchy",
                    model.visualize_hierarchy(hierarchical_topics=hierarchy),
                )
            )
    for column, values in groups.items():
        classes = [values[i] for i in modeler.usable_]
        per_class = model.topics_per_class(docs, classes=classes)
        figures.append(
            (
                f"Topics per {column}",
                model.visualize_topics_per_class(
                    per_class, top_n_topics=min(n_topics, 12)
                ),
            )
        )
    return figures


def segments_per_topic_figure(table: pd.DataFrame):
    """A horizontal bar chart of each topic's size (outliers left out).

    Args:
        table: The topic table (``topic``, ``label`` and ``size`` columns).

    Returns:
        A plotly figure.
    """
    # heavy: kept out of start-up
    import plotly.graph_objects as go

    shown = table[table["topic"] != OUTLIER]
    figure = go.Figure(go.Bar(x=shown["size"], y=shown["label"], orientation="h"))
    figure.update_layout(
        yaxis={"autorange": "reversed"},
        xaxis_title="segments",
        height=300 + 25 * len(shown),
    )
    return figure
