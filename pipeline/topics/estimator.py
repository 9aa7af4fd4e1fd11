"""The topic estimator: BERTopic on precomputed segment embeddings.

:class:`TopicModeler` is a scikit-learn-style estimator around BERTopic that
works on 12 interviews and on 100,000 comments:

- UMAP and HDBSCAN parameters adapt to the number of segments
  (``n_neighbors`` below the corpus size, ``min_cluster_size`` growing with the
  square root of the number of segments);
- very small corpora (under ``small_corpus`` segments), or corpora where
  HDBSCAN finds fewer than two clusters, are grouped with k-means on the
  embeddings (k chosen by silhouette), so there is always a grouping or a
  clear reason why there is none (fewer than ``min_segments`` segments);
- outliers are reassigned with BERTopic's own ``reduce_outliers`` and the
  topic words recomputed; how many were outliers is reported;
- every random step takes ``random_state``: the same input gives the same
  topics;
- topic words come from c-TF-IDF over lemmas (see :mod:`pipeline.topics.words`);
  labels are the best words after KeyBERT-style re-ranking.

A segment's ``probability`` is its fit to its topic's centroid (see
:mod:`pipeline.topics.centroids`). New segments are assigned
(:meth:`TopicModeler.transform`) to the most similar centroid.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config.analysis import TopicsConfig
from pipeline.errors import ModelError
from pipeline.topics.bertopic_adapters import bertopic_embedder, quiet_bertopic
from pipeline.topics.centroids import (
    OUTLIER,
    assign_to_centroids,
    centroid_matrix,
    similarity_to_own_centroid,
    topic_centroids,
)
from pipeline.topics.guided import guide_embeddings
from pipeline.topics.tables import TOPIC_COLUMNS, topic_label, topic_row
from pipeline.topics.words import SEGMENT_END, topic_word_vectorizer

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TopicParameters:
    """The clustering set-up chosen for a corpus size."""

    method: str  # "bertopic" or "kmeans"
    n_neighbors: int = 0
    n_components: int = 0
    min_cluster_size: int = 0
    min_samples: int = 0
    n_clusters: int = 0


def choose_parameters(n_segments: int, config: TopicsConfig) -> TopicParameters:
    """Pick UMAP/HDBSCAN settings that fit the corpus size.

    Args:
        n_segments: Number of segments to model.
        config: The ``topics`` section.

    Returns:
        ``kmeans`` below ``config.small_corpus`` segments, else ``bertopic``
        with ``n_neighbors`` < n and ``min_cluster_size`` ~ sqrt(n)/2.
    """
    if n_segments < config.small_corpus:
        return TopicParameters(method="kmeans")
    min_cluster_size = config.min_cluster_size or max(5, round(np.sqrt(n_segments) / 2))
    return TopicParameters(
        method="bertopic",
        n_neighbors=min(config.n_neighbors, n_segments - 1),
        n_components=min(config.n_components, n_segments - 2),
        min_cluster_size=int(min_cluster_size),
        min_samples=max(1, int(min_cluster_size) // 3),
    )


class TopicModeler:
    """BERTopic on precomputed embeddings, adapted to the corpus size.

    Clustering is done here (UMAP, then HDBSCAN, or k-means for small corpora)
    and handed to BERTopic as given topics (its documented "manual topic
    modelling" path), so the choice of clusters can be checked and corrected:
    when HDBSCAN's default selection puts more than half of the segments in
    one cluster, the finer ``leaf`` selection is used instead.

    Args:
        config: The ``topics`` section.
        random_state: Seed of UMAP and k-means.

    Attributes:
        model_: The fitted BERTopic model (None when no topics could be made).
        method_: ``bertopic``, ``kmeans`` or ``none``.
        message_: How the topics were made, or why there are none.
        topics_: Per segment, its topic (-1: no topic).
        probabilities_: Per segment, cosine similarity to its topic's centroid.
        centroids_: Topic ids to unit-length centroid embeddings.
        n_outliers_: Segments HDBSCAN left as outliers before reduction.
        n_short_: Segments too short for a topic (under ``min_words`` words).
    """

    def __init__(self, config: TopicsConfig, *, random_state: int = 42) -> None:
        self.config = config
        self.random_state = random_state

    def fit(
        self,
        texts: Sequence[str],
        embeddings: np.ndarray,
        *,
        lemmas: Sequence[str] | None = None,
        seed_topic_list: list[list[str]] | None = None,
        embedder=None,
    ) -> TopicModeler:
        """Find topics.

        Args:
            texts: Segment texts.
            embeddings: ``(n, d)`` unit-length segment embeddings, aligned with
                ``texts``.
            lemmas: Lemmatized texts for topic words (default: ``texts``).
            seed_topic_list: Keyword lists that guide topics (from a codebook):
                segments containing a list's words are drawn towards it before
                clustering, as in BERTopic's guided topic modelling.
            embedder: A :class:`~pipeline.embed.base.BaseEmbedder`, needed
                for guided topics and to re-rank topic words (KeyBERT-style); None keeps
                c-TF-IDF words.

        Returns:
            self

        Raises:
            ModelError: ``embeddings`` is not aligned with ``texts``.
        """
        n = len(texts)
        if embeddings.shape[0] != n:
            raise ModelError(
                f"topics: {embeddings.shape[0]} embeddings for {n} segments; "
                "they must align"
            )
        words = np.array([len(text.split()) for text in texts])
        usable = np.flatnonzero(words >= self.config.min_words)
        self.n_short_ = n - len(usable)
        self.usable_ = usable
        self.n_outliers_ = 0
        self.model_ = None
        self.topics_ = np.full(n, OUTLIER)
        self.probabilities_ = np.zeros(n)
        self.centroids_: dict[int, np.ndarray] = {}
        if len(usable) < self.config.min_segments:
            self.method_ = "none"
            self.message_ = (
                f"no topics: {len(usable)} segments of at least "
                f"{self.config.min_words} words, fewer than topics.min_segments "
                f"({self.config.min_segments}); topic modelling needs more text"
            )
            logger.info("topics: %s", self.message_)
            return self
        documents = [
            text + SEGMENT_END for text in (lemmas if lemmas is not None else texts)
        ]
        fit_documents = [documents[i] for i in usable]
        fit_embeddings = embeddings[usable]
        clustering = fit_embeddings
        if seed_topic_list and embedder is not None:
            clustering = guide_embeddings(
                fit_embeddings, [texts[i] for i in usable], seed_topic_list, embedder
            )
        labels, method, how = self._cluster(clustering)
        model = self._fit_representation(
            fit_documents, fit_embeddings, labels, embedder
        )
        topics = np.asarray(model.topics_)
        self.topics_[usable] = topics
        self.centroids_ = topic_centroids(embeddings, self.topics_)
        self.probabilities_ = similarity_to_own_centroid(
            embeddings, self.topics_, self.centroids_
        )
        model.topic_embeddings_ = centroid_matrix(
            model, self.centroids_, embeddings.shape[1]
        )
        self.model_ = model
        self.method_ = method
        short = (
            f"; {self.n_short_} segments under {self.config.min_words} words "
            "have no topic"
            if self.n_short_
            else ""
        )
        self.message_ = how + short
        logger.info("topics: %s", self.message_)
        return self

    def _cluster(self, embeddings: np.ndarray) -> tuple[np.ndarray, str, str]:
        """Cluster embeddings: UMAP + HDBSCAN, or k-means for small corpora."""
        n = embeddings.shape[0]
        parameters = choose_parameters(n, self.config)
        if parameters.method == "bertopic":
            # heavy: kept out of start-up
            from hdbscan import HDBSCAN
            from umap import UMAP

            reduced = UMAP(
                n_neighbors=parameters.n_neighbors,
                n_components=parameters.n_components,
                min_dist=0.0,
                metric="cosine",
                random_state=self.random_state,
                n_jobs=1,
                low_memory=True,
            ).fit_transform(embeddings)
            selection = "eom"
            labels = HDBSCAN(
                min_cluster_size=parameters.min_cluster_size,
                min_samples=parameters.min_samples,
                cluster_selection_method=selection,
                # no worker processes: on 2 cores the default four took 0.8 GB
                # for the rest of the run and saved no time
                core_dist_n_jobs=1,
            ).fit_predict(reduced)
            if _has_giant_cluster(labels):
                selection = "leaf"
                labels = HDBSCAN(
                    min_cluster_size=parameters.min_cluster_size,
                    min_samples=parameters.min_samples,
                    cluster_selection_method=selection,
                    core_dist_n_jobs=1,
                ).fit_predict(reduced)
            n_clusters = len(set(labels.tolist()) - {OUTLIER})
            if n_clusters >= 2:
                self.n_outliers_ = int((labels == OUTLIER).sum())
                how = (
                    f"BERTopic on {n} segments: "
                    f"UMAP (n_neighbors={parameters.n_neighbors}), "
                    f"HDBSCAN (min_cluster_size={parameters.min_cluster_size}, "
                    f"{selection} selection) found {n_clusters} topics; "
                    f"{self.n_outliers_} outliers reassigned "
                    f"({self.config.reduce_outliers} strategy)"
                )
                return labels, "bertopic", how
            fallback = (
                f"HDBSCAN found {n_clusters} cluster(s) in {n} segments, so they were "
                "grouped with k-means instead: "
            )
        else:
            fallback = f"small corpus ({n} segments), grouped with k-means: "
        k = self._choose_k(embeddings)
        # heavy: kept out of start-up
        from sklearn.cluster import KMeans

        labels = KMeans(
            n_clusters=k, n_init=10, random_state=self.random_state
        ).fit_predict(embeddings)
        return labels, "kmeans", fallback + f"k={k} topics, chosen by silhouette"

    def _fit_representation(self, documents, embeddings, labels, embedder):
        """Topic words with BERTopic for given clusters; outliers reassigned."""
        # heavy: kept out of start-up
        from bertopic import BERTopic
        from bertopic.cluster import BaseCluster
        from bertopic.dimensionality import BaseDimensionalityReduction

        model = BERTopic(
            umap_model=BaseDimensionalityReduction(),
            hdbscan_model=BaseCluster(),
            vectorizer_model=topic_word_vectorizer(self.config.extra_stop_words),
            top_n_words=self.config.top_n_words,
            calculate_probabilities=False,
            verbose=False,
        )
        with quiet_bertopic():
            topics, _ = model.fit_transform(
                documents, embeddings=embeddings, y=np.asarray(labels)
            )
            has_outliers = OUTLIER in set(topics)
            if has_outliers and self.config.reduce_outliers != "none":
                topics = model.reduce_outliers(
                    documents,
                    topics,
                    strategy=self.config.reduce_outliers,
                    embeddings=embeddings,
                    threshold=self.config.outlier_threshold,
                )
            representation = None
            if embedder is not None and self.config.rerank_words:
                from bertopic.representation import KeyBERTInspired

                model.embedding_model = bertopic_embedder(embedder)
                representation = KeyBERTInspired(
                    top_n_words=self.config.top_n_words, random_state=self.random_state
                )
            if has_outliers or representation is not None:
                model.update_topics(
                    documents,
                    topics=list(topics),
                    vectorizer_model=topic_word_vectorizer(
                        self.config.extra_stop_words
                    ),
                    representation_model=representation,
                )
            # Words per group and per hierarchy level are counted later: plain
            # c-TF-IDF is enough there, and re-ranking each would embed again.
            model.representation_model = None

        return model

    def _choose_k(self, embeddings: np.ndarray) -> int:
        # heavy: kept out of start-up
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score

        n = embeddings.shape[0]
        best_k, best_score = 2, -np.inf
        for k in range(2, max(2, min(self.config.max_small_topics, n // 4)) + 1):
            labels = KMeans(
                n_clusters=k, n_init=10, random_state=self.random_state
            ).fit_predict(embeddings)
            if len(set(labels.tolist())) < 2:
                continue
            score = silhouette_score(embeddings, labels, metric="cosine")
            if score > best_score + 1e-9:
                best_k, best_score = k, score
        return best_k

    def transform(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Assign segments to the most similar topic centroid.

        Args:
            embeddings: ``(n, d)`` unit-length segment embeddings.

        Returns:
            Topics and similarities; -1 and 0 when there are no topics.
        """
        return assign_to_centroids(embeddings, self.centroids_)

    def save(self, folder: Path, *, embedding_model: str | bool = False) -> None:
        """Write the fitted BERTopic model and the centroids into ``folder``.

        The model is written as safetensors.

        Args:
            folder: An existing, empty folder.
            embedding_model: The embedding model's name to record, or False.
        """
        if getattr(self, "model_", None) is None:
            raise ModelError("no fitted BERTopic model to save (fit first)")
        with quiet_bertopic():
            self.model_.save(
                folder,
                serialization="safetensors",
                save_ctfidf=True,
                save_embedding_model=embedding_model,
            )
        centroids = {str(t): c.tolist() for t, c in self.centroids_.items()}
        (folder / "centroids.json").write_text(json.dumps(centroids), encoding="utf-8")

    def topic_table(
        self, segment_ids: Sequence[str], texts: Sequence[str]
    ) -> pd.DataFrame:
        """Return ``topic, label, top_words, size, representative_ids`` per topic.

        Representative segments are the three closest to the topic's centroid.
        """
        rows = []
        for topic in sorted(set(self.topics_.tolist())):
            words = self.topic_words(topic)
            rows.append(
                topic_row(
                    topic,
                    label=topic_label(topic, words),
                    top_words=", ".join(words),
                    segment_ids=segment_ids,
                    topics=self.topics_,
                    similarity=self.probabilities_,
                )
            )
        return pd.DataFrame(rows, columns=TOPIC_COLUMNS)

    def topic_words(self, topic: int) -> list[str]:
        """Return a topic's words, best first (empty for outliers or no model)."""
        if self.model_ is None or topic == OUTLIER:
            return []
        words = self.model_.get_topic(topic) or []
        return [word for word, _ in words if word][: self.config.top_n_words]


def _has_giant_cluster(labels: np.ndarray, *, share: float = 0.5) -> bool:
    """Whether one cluster holds more than ``share`` of the clustered segments."""
    clustered = labels[labels != OUTLIER]
    return bool(len(clustered)) and np.bincount(clustered).max() > share * len(
        clustered
    )
