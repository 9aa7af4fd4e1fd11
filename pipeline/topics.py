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

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.config import TopicsConfig
from pipeline.errors import ModelError

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
    """Words and word pairs of each segment, stop words left out (a CountVectorizer analyzer).

    Unlike CountVectorizer's own analyzer, it never makes a word pair across
    the :data:`SEGMENT_END` marker between two segments.

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
            words = [
                w for w in _WORD_RE.findall(part.lower()) if w not in self.stop_words
            ]
            for n in range(low, high + 1):
                grams.extend(
                    " ".join(words[i : i + n]) for i in range(len(words) - n + 1)
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
    lemmas = []
    for doc in nlp.pipe(texts, batch_size=batch_size):
        lemmas.append(
            _FILLER_RE.sub(" ", " ".join(t.lemma_.lower() for t in doc if t.is_alpha))
        )
    return lemmas


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

    Args:
        config: The ``topics`` section.
        random_state: Seed of UMAP and k-means.

    Attributes:
        model_: The fitted BERTopic model (None when no topics could be made).
        method_: ``bertopic``, ``kmeans`` or ``none``.
        message_: Why there are no topics, or how they were made, for the user.
        topics_: Per segment, its topic (-1 for an outlier).
        probabilities_: Per segment, cosine similarity to its topic's centroid.
        centroids_: Topic ids to unit-length centroid embeddings.
        n_outliers_: Outliers before reduction.
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
            texts: Segment texts (for representative quotes).
            embeddings: ``(n, d)`` segment embeddings, aligned with ``texts``.
            lemmas: Lemmatized texts for topic words (default: ``texts``).
            seed_topic_list: Keyword lists that guide topics (from a codebook).
            embedder: A :class:`~pipeline.embed.BaseEmbedder` used to re-rank
                topic words (KeyBERT-style); None keeps c-TF-IDF words.

        Returns:
            self

        Raises:
            ModelError: ``embeddings`` is not aligned with ``texts``.
        """
        n = len(texts)
        if embeddings.shape[0] != n:
            raise ModelError(
                f"topics: {embeddings.shape[0]} embeddings for {n} segments; they must align"
            )
        documents = [
            text + SEGMENT_END for text in (lemmas if lemmas is not None else texts)
        ]
        self.n_outliers_ = 0
        self.model_ = None
        if n < self.config.min_segments:
            self.method_ = "none"
            self.message_ = (
                f"no topics: {n} segments, fewer than topics.min_segments "
                f"({self.config.min_segments}); topic modelling needs more text"
            )
            self.topics_ = np.full(n, OUTLIER)
            self.probabilities_ = np.zeros(n)
            self.centroids_ = {}
            logger.info("topics: %s", self.message_)
            return self
        parameters = choose_parameters(n, self.config)
        message = None
        if parameters.method == "bertopic":
            model, topics = self._fit_bertopic(
                documents, embeddings, parameters, seed_topic_list
            )
            if len({t for t in topics if t != OUTLIER}) < 2:
                message = (
                    f"HDBSCAN found fewer than two clusters in {n} segments; "
                    "grouped with k-means instead"
                )
                parameters = TopicParameters(method="kmeans")
        if parameters.method == "kmeans":
            k = self._choose_k(embeddings)
            model, topics = self._fit_kmeans(documents, embeddings, k)
            message = (message + "; " if message else "") + (
                f"{n} segments: small corpus, grouped with k-means (k={k}, chosen by "
                "silhouette)"
            )
        else:
            message = (
                f"BERTopic: UMAP n_neighbors={parameters.n_neighbors}, HDBSCAN "
                f"min_cluster_size={parameters.min_cluster_size}; "
                f"{self.n_outliers_} of {n} segments were outliers before reduction"
            )
        if embedder is not None and self.config.rerank_words:
            self._rerank_words(model, documents, topics, embedder)
        self.model_ = model
        self.method_ = parameters.method
        self.message_ = message
        self.topics_ = np.asarray(topics)
        self.centroids_ = _centroids(embeddings, self.topics_)
        self.probabilities_ = _similarity_to_own_centroid(
            embeddings, self.topics_, self.centroids_
        )
        model.topic_embeddings_ = _centroid_matrix(
            model, self.centroids_, embeddings.shape[1]
        )
        logger.info("topics: %s", message)
        return self

    def _fit_bertopic(self, documents, embeddings, parameters, seed_topic_list):
        from bertopic import BERTopic
        from hdbscan import HDBSCAN
        from umap import UMAP

        umap_model = UMAP(
            n_neighbors=parameters.n_neighbors,
            n_components=parameters.n_components,
            min_dist=0.0,
            metric="cosine",
            random_state=self.random_state,
            low_memory=True,
        )
        hdbscan_model = HDBSCAN(
            min_cluster_size=parameters.min_cluster_size,
            min_samples=parameters.min_samples,
            metric="euclidean",
            cluster_selection_method="eom",
            prediction_data=False,
        )
        model = BERTopic(
            umap_model=umap_model,
            hdbscan_model=hdbscan_model,
            vectorizer_model=self._vectorizer(),
            top_n_words=self.config.top_n_words,
            seed_topic_list=seed_topic_list or None,
            calculate_probabilities=False,
            verbose=False,
        )
        topics, _ = model.fit_transform(documents, embeddings=embeddings)
        self.n_outliers_ = int(sum(1 for t in topics if t == OUTLIER))
        if (
            self.n_outliers_
            and self.config.reduce_outliers != "none"
            and len(set(topics)) > 1
        ):
            topics = model.reduce_outliers(
                documents,
                topics,
                strategy=self.config.reduce_outliers,
                embeddings=embeddings,
                threshold=self.config.outlier_threshold,
            )
            model.update_topics(
                documents, topics=topics, vectorizer_model=self._vectorizer()
            )
        return model, list(topics)

    def _choose_k(self, embeddings: np.ndarray) -> int:
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score

        n = embeddings.shape[0]
        candidates = range(2, max(2, min(self.config.max_small_topics, n // 4)) + 1)
        best_k, best_score = 2, -np.inf
        for k in candidates:
            labels = KMeans(
                n_clusters=k, n_init=10, random_state=self.random_state
            ).fit_predict(embeddings)
            if len(set(labels)) < 2:
                continue
            score = silhouette_score(embeddings, labels, metric="cosine")
            if score > best_score + 1e-9:
                best_k, best_score = k, score
        return best_k

    def _fit_kmeans(self, documents, embeddings, k):
        from bertopic import BERTopic
        from bertopic.dimensionality import BaseDimensionalityReduction
        from sklearn.cluster import KMeans

        model = BERTopic(
            umap_model=BaseDimensionalityReduction(),
            hdbscan_model=KMeans(
                n_clusters=k, n_init=10, random_state=self.random_state
            ),
            vectorizer_model=self._vectorizer(),
            top_n_words=self.config.top_n_words,
            calculate_probabilities=False,
            verbose=False,
        )
        topics, _ = model.fit_transform(documents, embeddings=embeddings)
        return model, list(topics)

    def _vectorizer(self):
        from sklearn.feature_extraction.text import CountVectorizer

        return CountVectorizer(
            analyzer=SegmentAnalyzer(stop_words(self.config.extra_stop_words))
        )

    def _rerank_words(self, model, documents, topics, embedder) -> None:
        """Re-rank each topic's words by similarity to its documents (KeyBERT-style)."""
        from bertopic.representation import KeyBERTInspired

        model.embedding_model = _bertopic_embedder(embedder)
        model.update_topics(
            documents,
            topics=topics,
            vectorizer_model=self._vectorizer(),
            representation_model=KeyBERTInspired(
                top_n_words=self.config.top_n_words, random_state=self.random_state
            ),
        )

    def transform(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Assign segments to the most similar topic centroid.

        Args:
            embeddings: ``(n, d)`` unit-length segment embeddings.

        Returns:
            Topics and similarities; -1 and 0 when there are no topics.
        """
        if not getattr(self, "centroids_", None):
            return np.full(len(embeddings), OUTLIER), np.zeros(len(embeddings))
        ids = np.array(sorted(t for t in self.centroids_ if t != OUTLIER))
        matrix = np.stack([self.centroids_[t] for t in ids])
        similarity = embeddings @ matrix.T
        best = similarity.argmax(axis=1)
        return ids[best], np.clip(similarity[np.arange(len(best)), best], 0.0, 1.0)

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
    docs = [text + SEGMENT_END for text in documents]
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
        per_class = model.topics_per_class(docs, classes=list(values))
        figures.append(
            (
                f"Topics per {column}",
                model.visualize_topics_per_class(
                    per_class, top_n_topics=min(n_topics, 12)
                ),
            )
        )
    return figures


def save_topic_model(modeler: TopicModeler, folder, *, card: dict) -> None:
    """Save a fitted topic model with safetensors serialisation, and its card.

    Args:
        modeler: A fitted modeler with a BERTopic model.
        folder: Target folder (replaced).
        card: The model card (library versions, config hash, data hash, seed, ...).
    """
    import json
    import shutil
    from pathlib import Path

    folder = Path(folder)
    staging = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    modeler.model_.save(
        staging,
        serialization="safetensors",
        save_ctfidf=True,
        save_embedding_model=False,
    )
    centroids = {str(t): c.tolist() for t, c in modeler.centroids_.items()}
    (staging / "centroids.json").write_text(json.dumps(centroids), encoding="utf-8")
    (staging / "card.json").write_text(
        json.dumps(card, indent=2, default=str), encoding="utf-8"
    )
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)


def load_topic_centroids(folder) -> dict[int, np.ndarray]:
    """Load the centroids of a saved topic model (what :meth:`transform` needs)."""
    import json
    from pathlib import Path

    path = Path(folder) / "centroids.json"
    if not path.is_file():
        raise ModelError(f"{folder}: not a saved topic model (no centroids.json)")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {int(t): np.asarray(v, dtype=np.float32) for t, v in raw.items()}
