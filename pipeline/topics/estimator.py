"""The topic estimator: BERTopic on precomputed segment embeddings.

:class:`TopicModeler` is a scikit-learn-style estimator around BERTopic that
works on 12 interviews and on 100,000 comments:

- UMAP and HDBSCAN parameters adapt to the number of segments
  (``n_neighbors`` below the corpus size, ``min_cluster_size`` growing with the
  square root of the number of segments);
- corpora of more than ``fit_sample`` usable segments are clustered on a
  seeded sample of that many (see :mod:`pipeline.topics.clustering`); the
  other segments join the nearest topic centroid, and topic words are
  counted on every segment;
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
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config.analysis import TopicsConfig
from pipeline.errors import ModelError
from pipeline.topics.bertopic_adapters import (
    bertopic_embedder,
    import_bertopic,
    quiet_bertopic,
)
from pipeline.topics.centroids import (
    OUTLIER,
    assign_to_centroids,
    centroid_matrix,
    similarity_to_own_centroid,
    topic_centroids,
)
from pipeline.topics.clustering import (
    choose_k,
    choose_parameters,
    cluster_hdbscan,
    reduce_dimensions,
)
from pipeline.topics.guided import guide_embeddings
from pipeline.topics.tables import TOPIC_COLUMNS, topic_label, topic_row
from pipeline.topics.words import SEGMENT_END, topic_word_vectorizer

logger = logging.getLogger(__name__)


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
        fitted = self._fit_rows(usable)
        self.n_fitted_ = len(fitted)
        fit_embeddings = embeddings[fitted]
        clustering = fit_embeddings
        if seed_topic_list and embedder is not None:
            clustering = guide_embeddings(
                fit_embeddings, [texts[i] for i in fitted], seed_topic_list, embedder
            )
        labels, method, how = self._cluster(clustering, n_usable=len(usable))
        model, topics = self._fit_topics(
            [documents[i] for i in fitted], fit_embeddings, labels
        )
        self.topics_[fitted] = topics
        if len(fitted) < len(usable):
            # the rest join the nearest topic, as the sample's outliers did
            rest = np.setdiff1d(usable, fitted)
            sample_centroids = topic_centroids(embeddings, self.topics_)
            self.topics_[rest] = assign_to_centroids(
                embeddings[rest], sample_centroids
            )[0]
            how += (
                f"; the other {len(rest)} segments joined the nearest topic "
                f"(topics.fit_sample={self.config.fit_sample})"
            )
        self._describe_topics(
            model,
            [documents[i] for i in usable],
            self.topics_[usable],
            embedder,
            recount=len(fitted) < len(usable) or OUTLIER in set(labels.tolist()),
        )
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

    def _fit_rows(self, usable: np.ndarray) -> np.ndarray:
        """The segments to cluster: all usable ones, or a seeded sample of them."""
        size = self.config.fit_sample
        if size is None or len(usable) <= size:
            return usable
        rng = np.random.default_rng(self.random_state)
        return np.sort(rng.choice(usable, size=size, replace=False))

    def _cluster(
        self, embeddings: np.ndarray, *, n_usable: int
    ) -> tuple[np.ndarray, str, str]:
        """Cluster embeddings: UMAP + HDBSCAN, or k-means for small corpora.

        On a sample (``n_usable`` above the rows clustered), HDBSCAN's
        smallest topic is scaled to the sample's share, so that the sample
        finds topics of the size the whole corpus would.
        """
        n = embeddings.shape[0]
        parameters = choose_parameters(n_usable, self.config)
        if parameters.method == "bertopic":
            if n < n_usable:
                min_cluster_size = max(
                    5, round(parameters.min_cluster_size * n / n_usable)
                )
                parameters = replace(
                    parameters,
                    n_neighbors=min(parameters.n_neighbors, n - 1),
                    min_cluster_size=min_cluster_size,
                    min_samples=max(1, min_cluster_size // 3),
                )
            reduced = reduce_dimensions(
                embeddings, parameters, random_state=self.random_state
            )
            clusters = cluster_hdbscan(reduced, parameters)
            labels = clusters.labels
            n_clusters = len(set(labels.tolist()) - {OUTLIER})
            if n_clusters >= 2:
                self.n_outliers_ = int((labels == OUTLIER).sum())
                on = f"{n} segments" if n == n_usable else f"a sample of {n} segments"
                how = (
                    f"BERTopic on {on}: "
                    f"UMAP (n_neighbors={parameters.n_neighbors}), "
                    f"HDBSCAN (min_cluster_size={parameters.min_cluster_size}, "
                    f"{clusters.selection} selection) found {n_clusters} topics; "
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
        k = choose_k(
            embeddings,
            max_topics=self.config.max_small_topics,
            random_state=self.random_state,
        )
        # heavy: kept out of start-up
        from sklearn.cluster import KMeans

        labels = KMeans(
            n_clusters=k, n_init=10, random_state=self.random_state
        ).fit_predict(embeddings)
        return labels, "kmeans", fallback + f"k={k} topics, chosen by silhouette"

    def _fit_topics(self, documents, embeddings, labels):
        """A BERTopic model of given clusters; its outliers reassigned.

        Returns:
            The model and each document's topic.
        """
        import_bertopic()
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
            if OUTLIER in set(topics) and self.config.reduce_outliers != "none":
                topics = model.reduce_outliers(
                    documents,
                    topics,
                    strategy=self.config.reduce_outliers,
                    embeddings=embeddings,
                    threshold=self.config.outlier_threshold,
                )
        return model, np.asarray(topics)

    def _describe_topics(self, model, documents, topics, embedder, *, recount):
        """Topic words of the final topics: recounted, re-ranked when asked.

        Args:
            model: The fitted BERTopic model.
            documents: Every usable segment's lemmas.
            topics: Their final topics.
            embedder: For KeyBERT-style re-ranking (None: c-TF-IDF words).
            recount: Whether the topics changed since the model counted words
                (outliers reassigned, or segments added to a sample's topics).
        """
        representation = None
        with quiet_bertopic():
            if embedder is not None and self.config.rerank_words:
                from bertopic.representation import KeyBERTInspired

                model.embedding_model = bertopic_embedder(embedder)
                representation = KeyBERTInspired(
                    top_n_words=self.config.top_n_words, random_state=self.random_state
                )
            if recount or representation is not None:
                model.update_topics(
                    documents,
                    topics=topics.tolist(),
                    vectorizer_model=topic_word_vectorizer(
                        self.config.extra_stop_words
                    ),
                    representation_model=representation,
                )
        # Words per group and per hierarchy level are counted later: plain
        # c-TF-IDF is enough there, and re-ranking each would embed again.
        model.representation_model = None

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
