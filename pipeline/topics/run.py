"""The topics of a run: fit and describe them, or apply a saved model.

:func:`model_topics` fits a :class:`~pipeline.topics.estimator.TopicModeler`
on a corpus and makes its tables and charts; :func:`run_topics` is the run's
topics step, which either applies a saved model of this corpus's lineage
(``topics.update: transform``) or fits, and saves the fitted model with its
card (:func:`topic_model_card`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.config.analysis import TopicsConfig
from pipeline.progress import report_progress
from pipeline.store.cache_keys import topics_data_hash, topics_settings_hash
from pipeline.store.manifest import package_versions, utc_now
from pipeline.topics.centroids import OUTLIER, assign_to_centroids
from pipeline.topics.estimator import TopicModeler
from pipeline.topics.figures import segments_per_topic_figure, topic_figures
from pipeline.topics.saved import (
    SavedTopicModel,
    load_topic_centroids,
    save_topic_model,
    saved_model_folder,
    saved_model_to_apply,
)
from pipeline.topics.tables import (
    TOPIC_COLUMNS,
    assignment_table,
    count_by_group,
    topic_label,
    topic_row,
)
from pipeline.topics.words import lemmatize


@dataclass(frozen=True)
class TopicOutputs:
    """Everything the topics step writes.

    Attributes:
        modeler: The fitted modeler.
        assignments: ``segment_id, topic, probability`` per segment.
        topics: ``topic, label, top_words, size, representative_ids`` per topic.
        by_group: Topic counts per metadata group.
        figures: ``(title, plotly figure)`` pairs.
        lemmas: The texts topic words were counted on.
    """

    modeler: TopicModeler
    assignments: pd.DataFrame
    topics: pd.DataFrame
    by_group: pd.DataFrame
    figures: list
    lemmas: list[str]


def model_topics(
    segment_ids: Sequence[str],
    texts: Sequence[str],
    embeddings: np.ndarray,
    metadata: pd.DataFrame,
    config: TopicsConfig,
    *,
    random_state: int,
    embedder=None,
    seed_topic_list: list[list[str]] | None = None,
) -> TopicOutputs:
    """Fit topics on a corpus's segments and describe them.

    Args:
        segment_ids: Segment ids, in order.
        texts: Segment texts, in order.
        embeddings: ``(n, d)`` embeddings aligned with the segments.
        metadata: Per-segment metadata columns (aligned), for topics per group.
        config: The ``topics`` section.
        random_state: Seed.
        embedder: Used to re-rank topic words (optional).
        seed_topic_list: Keyword lists for guided topics (optional).

    Returns:
        The fitted modeler and its tables and charts.
    """
    # four stages a user waits for (the clustering can take a minute)
    report_progress("topics", 0, 4)
    lemmas = lemmatize(
        texts, spacy_model=config.spacy_model if config.lemmatize else None
    )
    report_progress("topics", 1, 4)
    modeler = TopicModeler(config, random_state=random_state).fit(
        texts,
        embeddings,
        lemmas=lemmas,
        seed_topic_list=seed_topic_list,
        embedder=embedder,
    )
    report_progress("topics", 2, 4)
    assignments = assignment_table(segment_ids, modeler.topics_, modeler.probabilities_)
    topics = modeler.topic_table(segment_ids, texts)
    by_group, group_columns = count_by_group(
        modeler.topics_, topics, metadata, config.per_group
    )
    groups = {c: metadata[c].fillna("(missing)").tolist() for c in group_columns}
    report_progress("topics", 3, 4)
    figures = (
        topic_figures(modeler, lemmas, groups) if modeler.model_ is not None else []
    )
    report_progress("topics", 4, 4)
    return TopicOutputs(modeler, assignments, topics, by_group, figures, lemmas)


def topic_model_card(config, outputs: TopicOutputs, texts: Sequence[str]) -> dict:
    """The card saved beside a topic model.

    Args:
        config: The run's :class:`~pipeline.config.run.PipelineConfig`.
        outputs: The topics step's outputs.
        texts: The segment texts the model was fitted on.

    Returns:
        Library versions, config hash, data hash, seed, sizes and how the topics
        were made.
    """
    data_hash = topics_data_hash(texts)
    modeler = outputs.modeler
    return {
        "kind": "topic model",
        "embedding_model": config.embed.model,
        "created_at": utc_now(),
        "method": modeler.method_,
        "how": modeler.message_,
        "n_segments": len(texts),
        "n_topics": int((outputs.topics["topic"] >= 0).sum()),
        "n_outliers_before_reduction": modeler.n_outliers_,
        "random_state": modeler.random_state,
        "config_hash": config.section_hash("topics"),
        "embedding_config_hash": config.section_hash("embed"),
        "data_hash": data_hash,
        "topics_config": config.topics.model_dump(mode="json"),
        "versions": package_versions(),
        "topics": outputs.topics.to_dict(orient="records"),
    }


@dataclass(frozen=True)
class TopicStep:
    """What the topics step of a run produced, fitted or transformed.

    Attributes:
        assignments: ``segment_id, topic, probability`` per segment.
        topics: The topic table.
        by_group: Topic counts per metadata group.
        figures: ``(title, figure)`` pairs.
        method: ``bertopic``, ``kmeans``, ``none`` or ``transform``.
        message: How the topics were made, or why there are none.
        n_outliers: Outliers before reduction (fits only).
        model_dir: The saved model used or written, if any.
    """

    assignments: pd.DataFrame
    topics: pd.DataFrame
    by_group: pd.DataFrame
    figures: list
    method: str
    message: str
    n_outliers: int
    model_dir: str | None


def run_topics(
    segment_ids: Sequence[str],
    texts: Sequence[str],
    embeddings: np.ndarray,
    metadata: pd.DataFrame,
    config,
    *,
    embedder=None,
    seed_topic_list: list[list[str]] | None = None,
) -> TopicStep:
    """The topics step: reuse the saved model (``topics.update: transform``) or fit.

    With ``transform`` and a saved model of this corpus's lineage (see
    :func:`~pipeline.topics.saved.saved_model_to_apply`), segments are
    assigned to its topics (new interviews join the existing topics; nothing
    is refitted). Otherwise the model is fitted and saved under
    ``topics.model_dir``.

    Args:
        segment_ids: Segment ids.
        texts: Segment texts.
        embeddings: Aligned embeddings.
        metadata: Per-segment metadata.
        config: The whole :class:`~pipeline.config.run.PipelineConfig`.
        embedder: For re-ranking words and guided topics.
        seed_topic_list: Keyword lists for guided topics.

    Returns:
        The step's outputs.
    """
    saved = saved_model_to_apply(config, texts)
    if saved is not None:
        return _transform_with_saved(
            saved, segment_ids, texts, embeddings, metadata, config.topics
        )
    outputs = model_topics(
        segment_ids,
        texts,
        embeddings,
        metadata,
        config.topics,
        random_state=config.random_state,
        embedder=embedder,
        seed_topic_list=seed_topic_list,
    )
    model_dir = None
    if outputs.modeler.model_ is not None:
        folder = saved_model_folder(config, texts)
        card = topic_model_card(config, outputs, texts) | {
            "settings_hash": topics_settings_hash(config)
        }
        save_topic_model(outputs.modeler, folder, card=card, texts=texts)
        model_dir = str(folder)
    return TopicStep(
        outputs.assignments,
        outputs.topics,
        outputs.by_group,
        outputs.figures,
        outputs.modeler.method_,
        outputs.modeler.message_ or "",
        outputs.modeler.n_outliers_,
        model_dir,
    )


def _transform_with_saved(
    saved: SavedTopicModel, segment_ids, texts, embeddings, metadata, config
) -> TopicStep:
    """Assign segments to a saved model's topics; recount sizes and groups."""
    card = saved.card
    centroids = load_topic_centroids(saved.folder)
    topics, similarity = assign_to_centroids(embeddings, centroids)
    short = np.array([len(text.split()) < config.min_words for text in texts])
    topics = np.where(short, OUTLIER, topics)
    similarity = np.where(short, 0.0, similarity)
    described = {row["topic"]: row for row in card.get("topics", [])}
    rows = []
    for topic in sorted(set(topics.tolist()) | {t for t in described if t != OUTLIER}):
        described_topic = described.get(topic, {})
        rows.append(
            topic_row(
                topic,
                # a topic the card does not describe is labelled as one without words
                label=described_topic.get("label", topic_label(topic, ())),
                top_words=described_topic.get("top_words", ""),
                segment_ids=segment_ids,
                topics=topics,
                similarity=similarity,
            )
        )
    table = pd.DataFrame(rows, columns=TOPIC_COLUMNS)
    by_group, _ = count_by_group(topics, table, metadata, config.per_group)
    assignments = assignment_table(segment_ids, topics, similarity)
    n_topics = int((table["topic"] != OUTLIER).sum())
    message = (
        f"assigned to the {n_topics} topics of {saved.describe()}; refit with "
        "topics.update: refit or --refit-topics"
    )
    return TopicStep(
        assignments,
        table,
        by_group,
        [("Segments per topic", segments_per_topic_figure(table))],
        "transform",
        message,
        0,
        str(saved.folder),
    )
