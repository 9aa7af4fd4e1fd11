"""Topics beyond the codebook: BERTopic on precomputed segment embeddings.

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
- topic words come from c-TF-IDF over spaCy lemmas with English stop words and
  interview fillers removed ("yeah", "um", "you know", "kind of", ...); labels
  are the best words after KeyBERT-style re-ranking.

A segment's ``probability`` is the cosine similarity of its embedding to its
topic's centroid (the mean embedding of the topic's segments), clipped to
0..1: a measure of fit, not a calibrated probability. New segments are assigned
(:meth:`TopicModeler.transform`) to the most similar centroid.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import TopicsConfig
from pipeline.errors import ModelError
from pipeline.progress import report_progress
from pipeline.store.cache_keys import topics_data_hash, topics_settings_hash
from pipeline.topics.saved import (
    SavedTopicModel,
    load_topic_centroids,
    save_topic_model,
    saved_model_folder,
    saved_model_to_apply,
)

logger = logging.getLogger(__name__)

OUTLIER = -1

INTERVIEW_FILLERS = (
    "yeah", "yes", "yep", "no", "um", "uh", "erm", "er", "ah", "oh", "hmm", "mm", "mhm",
    "okay", "ok", "right", "well", "like", "just", "really", "actually", "basically",
    "literally", "obviously", "probably", "maybe", "gonna", "wanna", "kinda", "sorta",
    "thing", "things", "stuff", "lot", "lots", "bit", "think", "know", "mean", "guess",
    "suppose", "say", "said", "got", "get", "go", "going", "want", "sure", "quite",
    "pretty", "way", "kind", "sort", "does", "did", "do", "let", "tell",
    # remnants of contractions typed without an apostrophe
    "ve", "ll", "re", "don", "didn", "doesn", "isn", "wasn", "couldn", "wouldn",
    "shouldn", "won", "im", "ive", "dont", "didnt", "cant", "wont", "thats", "theyre",
)  # fmt: skip
"""Single words removed from topic words on top of English stop words."""

FILLER_PHRASES = (
    "you know", "kind of", "sort of", "i mean", "i guess", "i suppose", "i think",
    "a bit", "a lot", "at the end of the day", "to be honest", "and so on",
)  # fmt: skip
"""Phrases removed from the text before topic words are counted."""


def stop_words(extra: Sequence[str] = ()) -> list[str]:
    """English stop words, interview fillers and ``extra``, sorted."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(
        set(ENGLISH_STOP_WORDS) | set(INTERVIEW_FILLERS) | {w.lower() for w in extra}
    )


_FILLER_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(p) for p in FILLER_PHRASES) + r")\b"
)
_WORD_RE = re.compile(r"(?u)\b[^\W\d_][^\W\d_]+\b")
SEGMENT_END = " xsegmentendx "
"""Appended to each segment's lemmas: BERTopic joins a topic's segments into one
text, and n-grams must not run from one segment into the next. (Letters only:
BERTopic strips punctuation before counting words.)"""


class SegmentAnalyzer:
    """Words and word pairs of each segment, stop words left out.

    A CountVectorizer analyzer. Unlike CountVectorizer's own analyzer, it
    never makes a word pair across the :data:`SEGMENT_END` marker between two
    segments.

    Args:
        stop_words: Words to leave out.
        ngram_range: Smallest and largest n-gram.
    """

    def __init__(
        self, stop_words: Sequence[str], ngram_range: tuple[int, int] = (1, 2)
    ) -> None:
        self.stop_words = frozenset(stop_words)
        self.ngram_range = ngram_range

    def __call__(self, text: str) -> list[str]:
        """Return the n-grams of ``text``."""
        low, high = self.ngram_range
        grams: list[str] = []
        for part in text.split(SEGMENT_END.strip()):
            words = _WORD_RE.findall(part.lower())
            keep = [w not in self.stop_words for w in words]
            for n in range(low, high + 1):
                # n-grams of words that stand together in the text, never one
                # made by dropping the stop words between them
                grams.extend(
                    " ".join(words[i : i + n])
                    for i in range(len(words) - n + 1)
                    if all(keep[i : i + n])
                )
        return grams


def lemmatize(
    texts: Sequence[str], *, spacy_model: str | None, batch_size: int = 512
) -> list[str]:
    """Lower-case lemmas of the alphabetic words of each text, filler phrases removed.

    Args:
        texts: Segment texts.
        spacy_model: A spaCy package with a lemmatizer, or None to keep the
            lower-cased words as they are (fast, for tests).
        batch_size: Texts per spaCy batch.

    Returns:
        One space-separated string of lemmas per text.
    """
    if spacy_model is None:
        words = (
            re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text.lower()) for text in texts
        )
        return [_FILLER_RE.sub(" ", " ".join(w)) for w in words]
    import spacy

    nlp = spacy.load(spacy_model, exclude=["parser", "ner", "senter"])
    distinct = list(dict.fromkeys(texts))  # repeated texts are lemmatised once
    lemmas = {}
    for text, doc in zip(distinct, nlp.pipe(distinct, batch_size=batch_size)):
        lemmas[text] = _FILLER_RE.sub(
            " ", " ".join(t.lemma_.lower() for t in doc if t.is_alpha)
        )
    return [lemmas[text] for text in texts]


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
            embedder: A :class:`~pipeline.embed.encoders.BaseEmbedder`, needed
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
            clustering = _guide(
                fit_embeddings, [texts[i] for i in usable], seed_topic_list, embedder
            )
        labels, method, how = self._cluster(clustering)
        model = self._fit_representation(
            fit_documents, fit_embeddings, labels, embedder
        )
        topics = np.asarray(model.topics_)
        self.topics_[usable] = topics
        self.centroids_ = _centroids(embeddings, self.topics_)
        self.probabilities_ = _similarity_to_own_centroid(
            embeddings, self.topics_, self.centroids_
        )
        model.topic_embeddings_ = _centroid_matrix(
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
        from sklearn.cluster import KMeans

        labels = KMeans(
            n_clusters=k, n_init=10, random_state=self.random_state
        ).fit_predict(embeddings)
        return labels, "kmeans", fallback + f"k={k} topics, chosen by silhouette"

    def _fit_representation(self, documents, embeddings, labels, embedder):
        """Topic words with BERTopic for given clusters; outliers reassigned."""
        from bertopic import BERTopic
        from bertopic.cluster import BaseCluster
        from bertopic.dimensionality import BaseDimensionalityReduction

        model = BERTopic(
            umap_model=BaseDimensionalityReduction(),
            hdbscan_model=BaseCluster(),
            vectorizer_model=self._vectorizer(),
            top_n_words=self.config.top_n_words,
            calculate_probabilities=False,
            verbose=False,
        )
        with _quiet_bertopic():
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

                model.embedding_model = _bertopic_embedder(embedder)
                representation = KeyBERTInspired(
                    top_n_words=self.config.top_n_words, random_state=self.random_state
                )
            if has_outliers or representation is not None:
                model.update_topics(
                    documents,
                    topics=list(topics),
                    vectorizer_model=self._vectorizer(),
                    representation_model=representation,
                )
            # Words per group and per hierarchy level are counted later: plain
            # c-TF-IDF is enough there, and re-ranking each would embed again.
            model.representation_model = None

        return model

    def _choose_k(self, embeddings: np.ndarray) -> int:
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

    def _vectorizer(self):
        from sklearn.feature_extraction.text import CountVectorizer

        return CountVectorizer(
            analyzer=SegmentAnalyzer(stop_words(self.config.extra_stop_words))
        )

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
        with _quiet_bertopic():
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
            members = np.flatnonzero(self.topics_ == topic)
            words = self.topic_words(topic)
            order = members[np.argsort(-self.probabilities_[members], kind="stable")]
            rows.append(
                {
                    "topic": int(topic),
                    "label": topic_label(topic, words),
                    "top_words": ", ".join(words),
                    "size": len(members),
                    "representative_ids": ";".join(segment_ids[i] for i in order[:3]),
                }
            )
        return pd.DataFrame(
            rows, columns=["topic", "label", "top_words", "size", "representative_ids"]
        )

    def topic_words(self, topic: int) -> list[str]:
        """Return a topic's words, best first (empty for outliers or no model)."""
        if self.model_ is None or topic == OUTLIER:
            return []
        words = self.model_.get_topic(topic) or []
        return [word for word, _ in words if word][: self.config.top_n_words]


def assign_to_centroids(
    embeddings: np.ndarray, centroids: dict[int, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Assign each embedding to the most similar centroid.

    Returns:
        Topic ids and cosine similarities (clipped to 0..1); -1 and 0 for all
        when there are no centroids.
    """
    if not centroids:
        return np.full(len(embeddings), OUTLIER), np.zeros(len(embeddings))
    ids = np.array(sorted(centroids))
    matrix = np.stack([centroids[t] for t in ids])
    similarity = embeddings @ matrix.T
    best = similarity.argmax(axis=1)
    return ids[best], np.clip(similarity[np.arange(len(best)), best], 0.0, 1.0)


def _has_giant_cluster(labels: np.ndarray, *, share: float = 0.5) -> bool:
    """Whether one cluster holds more than ``share`` of the clustered segments."""
    clustered = labels[labels != OUTLIER]
    return bool(len(clustered)) and np.bincount(clustered).max() > share * len(
        clustered
    )


def _guide(embeddings, texts, seed_topic_list, embedder) -> np.ndarray:
    """Draw segments that mention a seed list's words towards that list's embedding."""
    seeds = embedder.embed([" ".join(words) for words in seed_topic_list])
    guided = embeddings.copy()
    lowered = [text.lower() for text in texts]
    for seed, words in zip(seeds, seed_topic_list, strict=True):
        patterns = [re.compile(r"\b" + re.escape(w.lower()) + r"\b") for w in words]
        hits = [
            i for i, text in enumerate(lowered) if any(p.search(text) for p in patterns)
        ]
        if hits:
            guided[hits] = (3 * guided[hits] + seed) / 4
    guided /= np.clip(np.linalg.norm(guided, axis=1, keepdims=True), 1e-12, None)
    return guided


class _quiet_bertopic:
    """Hold BERTopic's logger at ERROR while we call it.

    BERTopic warns that custom topic assignments should be the last step and
    that no embedding model is saved: both are what this module intends.
    """

    def __enter__(self):
        self._logger = logging.getLogger("BERTopic")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)
        return self

    def __exit__(self, *exc):
        self._logger.setLevel(self._level)
        return False


def topic_label(topic: int, words: Sequence[str], *, n_words: int = 3) -> str:
    """Make a readable label from a topic's best words: ``"training, course, time"``.

    A word that shares a word with one already in the label is skipped, so
    ``"wait time, waiting time, time wait"`` does not fill the label.
    """
    if topic == OUTLIER:
        return "(no topic)"
    chosen: list[str] = []
    used: set[str] = set()
    for word in words:
        parts = set(word.split())
        if parts & used:
            continue
        chosen.append(word)
        used |= parts | {p.rstrip("s") for p in parts} | {p + "s" for p in parts}
        if len(chosen) == n_words:
            break
    return ", ".join(chosen) if chosen else f"topic {topic}"


def _centroids(embeddings: np.ndarray, topics: np.ndarray) -> dict[int, np.ndarray]:
    centroids = {}
    for topic in sorted(set(topics.tolist())):
        if topic == OUTLIER:
            continue
        mean = embeddings[topics == topic].mean(axis=0)
        centroids[int(topic)] = (mean / (np.linalg.norm(mean) or 1.0)).astype(
            np.float32
        )
    return centroids


def _similarity_to_own_centroid(embeddings, topics, centroids) -> np.ndarray:
    similarity = np.zeros(len(topics))
    for topic, centroid in centroids.items():
        mask = topics == topic
        similarity[mask] = embeddings[mask] @ centroid
    return np.clip(similarity, 0.0, 1.0)


def _centroid_matrix(
    model, centroids: dict[int, np.ndarray], dimension: int
) -> np.ndarray:
    """Topic embeddings in BERTopic's row order (outlier row first when present)."""
    ids = sorted(model.get_topics())
    return np.stack(
        [centroids.get(t, np.zeros(dimension, dtype=np.float32)) for t in ids]
    )


def _bertopic_embedder(embedder):
    """Adapt a pipeline embedder to BERTopic's ``embed(documents, verbose)`` call."""
    from bertopic.backend import BaseEmbedder

    class PipelineEmbedder(BaseEmbedder):
        def embed(self, documents, verbose=False):
            return embedder.embed(list(documents))

    return PipelineEmbedder()


def choose_group_columns(
    metadata: pd.DataFrame, configured: Sequence[str] | None, *, max_groups: int = 20
) -> list[str]:
    """Metadata columns to break topics down by.

    Args:
        metadata: One row per segment, one column per metadata field.
        configured: Columns named in ``topics.per_group``, or None to choose:
            every column with 2 to ``max_groups`` distinct values.
        max_groups: The most distinct values a column may have to be chosen
            when ``configured`` is None.

    Returns:
        Column names present in ``metadata``.
    """
    if configured is not None:
        return [c for c in configured if c in metadata.columns]
    return [
        column
        for column in metadata.columns
        if 2 <= metadata[column].nunique(dropna=True) <= max_groups
    ]


def count_topics_by_group(
    topics: Sequence[int],
    labels: dict[int, str],
    metadata: pd.DataFrame,
    columns: Sequence[str],
) -> pd.DataFrame:
    """Count segments per topic in each metadata group.

    Args:
        topics: Topic of each segment.
        labels: Topic id to label.
        metadata: Metadata of each segment (aligned with ``topics``).
        columns: Metadata columns to group by.

    Returns:
        ``group_column, group, topic, label, count, share`` where ``share`` is
        the topic's share of the group's segments.
    """
    frames = []
    for column in columns:
        frame = pd.DataFrame(
            {
                "group": metadata[column].fillna("(missing)").to_numpy(),
                "topic": np.asarray(topics),
            }
        )
        counts = frame.groupby(["group", "topic"]).size().rename("count").reset_index()
        totals = counts.groupby("group")["count"].transform("sum")
        counts["share"] = (counts["count"] / totals).round(4)
        counts.insert(0, "group_column", column)
        counts["label"] = counts["topic"].map(
            lambda t: labels.get(int(t), f"topic {t}")
        )
        frames.append(counts)
    columns_out = ["group_column", "group", "topic", "label", "count", "share"]
    if not frames:
        return pd.DataFrame(columns=columns_out)
    return pd.concat(frames, ignore_index=True)[columns_out]


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
    with _quiet_bertopic():
        return _figures(model, modeler, docs, groups, n_topics)


def _figures(model, modeler, docs, groups, n_topics) -> list[tuple[str, object]]:
    figures: list[tuple[str, object]] = [
        (
            "Top words per topic",
            model.visualize_barchart(top_n_topics=min(n_topics, 16), n_words=8),
        )
    ]
    if n_topics >= 3:
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
    assignments = pd.DataFrame(
        {
            "segment_id": list(segment_ids),
            "topic": modeler.topics_.astype(int),
            "probability": modeler.probabilities_.round(4),
        }
    )
    topics = modeler.topic_table(segment_ids, texts)
    labels = dict(zip(topics["topic"], topics["label"], strict=True))
    group_columns = choose_group_columns(metadata, config.per_group)
    by_group = count_topics_by_group(modeler.topics_, labels, metadata, group_columns)
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
        config: The run's :class:`~pipeline.config.PipelineConfig`.
        outputs: The topics step's outputs.
        texts: The segment texts the model was fitted on.

    Returns:
        Library versions, config hash, data hash, seed, sizes and how the topics
        were made.
    """
    from pipeline.store.manifest import package_versions, utc_now

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
        config: The whole :class:`~pipeline.config.PipelineConfig`.
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
    import plotly.graph_objects as go

    card = saved.card
    centroids = load_topic_centroids(saved.folder)
    topics, similarity = assign_to_centroids(embeddings, centroids)
    short = np.array([len(text.split()) < config.min_words for text in texts])
    topics = np.where(short, OUTLIER, topics)
    similarity = np.where(short, 0.0, similarity)
    described = {row["topic"]: row for row in card.get("topics", [])}
    rows = []
    for topic in sorted(set(topics.tolist()) | {t for t in described if t != OUTLIER}):
        members = np.flatnonzero(topics == topic)
        order = members[np.argsort(-similarity[members], kind="stable")]
        described_topic = described.get(topic, {})
        rows.append(
            {
                "topic": int(topic),
                "label": described_topic.get(
                    "label", "(no topic)" if topic == OUTLIER else f"topic {topic}"
                ),
                "top_words": described_topic.get("top_words", ""),
                "size": len(members),
                "representative_ids": ";".join(segment_ids[i] for i in order[:3]),
            }
        )
    table = pd.DataFrame(
        rows, columns=["topic", "label", "top_words", "size", "representative_ids"]
    )
    labels = dict(zip(table["topic"], table["label"], strict=True))
    group_columns = choose_group_columns(metadata, config.per_group)
    by_group = count_topics_by_group(topics, labels, metadata, group_columns)
    assignments = pd.DataFrame(
        {
            "segment_id": list(segment_ids),
            "topic": topics.astype(int),
            "probability": similarity.round(4),
        }
    )
    shown = table[table["topic"] != OUTLIER]
    figure = go.Figure(go.Bar(x=shown["size"], y=shown["label"], orientation="h"))
    figure.update_layout(
        yaxis={"autorange": "reversed"},
        xaxis_title="segments",
        height=300 + 25 * len(shown),
    )
    message = (
        f"assigned to the {len(shown)} topics of {saved.describe()}; refit with "
        "topics.update: refit or --refit-topics"
    )
    return TopicStep(
        assignments,
        table,
        by_group,
        [("Segments per topic", figure)],
        "transform",
        message,
        0,
        str(saved.folder),
    )


def seed_topics(codebook_path) -> list[list[str]]:
    """Keyword lists of a codebook's leaf codes, for guided topics."""
    from pipeline.coding.codebook import load_codebook

    codebook = load_codebook(codebook_path)
    return [
        list(codebook[c].keywords) for c in codebook.leaves() if codebook[c].keywords
    ]
