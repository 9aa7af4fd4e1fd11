"""Clustering for topics: UMAP then HDBSCAN, or k-means for small corpora.

Settings adapt to the corpus size (:func:`choose_parameters`). Up to
:data:`EXACT_NEIGHBOURS_MAX` segments UMAP's neighbour graph is computed
here, exactly, with scikit-learn's brute-force search
(:func:`cosine_neighbours`), and handed to UMAP. Above 4,096 points this
replaces pynndescent's approximate search, whose main numba function cannot
be cached and took about 25 s to compile in every new process; below, UMAP's
own exact path, which calls its numba cosine once per pair of points from
Python (3,500 points: 30 s against 5.7 s with the neighbours handed over;
``benchmarks/README.md``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from pipeline.config.analysis import TopicsConfig
from pipeline.topics.centroids import OUTLIER
from pipeline.topics.numba_cache import cache_umap_functions

EXACT_NEIGHBOURS_MAX = 50_000
"""Above this many points the exact neighbour graph costs more than
pynndescent's search (n^2 similarities), so UMAP's own path is kept."""


@dataclass(frozen=True, slots=True)
class TopicParameters:
    """The clustering set-up chosen for a corpus size."""

    method: str  # "bertopic" or "kmeans"
    n_neighbors: int = 0
    n_components: int = 0
    min_cluster_size: int = 0
    min_samples: int = 0
    n_clusters: int = 0


@dataclass(frozen=True, slots=True)
class Clusters:
    """HDBSCAN's clusters of a corpus.

    Attributes:
        labels: Per point, its cluster (-1: outlier).
        selection: HDBSCAN's cluster selection: ``eom`` or ``leaf``.
    """

    labels: np.ndarray
    selection: str


@dataclass(frozen=True, slots=True)
class Neighbours:
    """Each point's nearest neighbours, itself first.

    Attributes:
        indices: ``(n, k)`` neighbour indices.
        distances: ``(n, k)`` cosine distances, ascending.
    """

    indices: np.ndarray
    distances: np.ndarray


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


def cosine_neighbours(embeddings: np.ndarray, n_neighbors: int) -> Neighbours:
    """Exact nearest neighbours by cosine distance, each point first in its own row.

    For unit-length vectors the Euclidean order is the cosine order, so
    scikit-learn's brute-force Euclidean search (chunked, in compiled code)
    finds them; cosine distance is half the squared Euclidean distance.

    Args:
        embeddings: ``(n, d)`` unit-length embeddings.
        n_neighbors: Neighbours per point, the point itself included.

    Returns:
        Indices and cosine distances, nearest first.
    """
    # heavy: kept out of start-up
    from sklearn.neighbors import NearestNeighbors

    vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = vectors.shape[0]
    search = NearestNeighbors(
        n_neighbors=n_neighbors, algorithm="brute", metric="euclidean"
    ).fit(vectors)
    euclidean, indices = search.kneighbors(vectors)
    # a point is its own first neighbour, also when it has exact duplicates
    rows = np.arange(n)
    is_self = indices == rows[:, None]
    position = np.where(is_self.any(axis=1), is_self.argmax(axis=1), n_neighbors - 1)
    others = np.ones(indices.shape, dtype=bool)
    others[rows, position] = False
    shape = (n, n_neighbors - 1)
    cosine = euclidean.astype(np.float32) ** 2 / 2
    return Neighbours(
        np.column_stack([rows, indices[others].reshape(shape)]).astype(np.int32),
        np.column_stack([np.zeros(n, np.float32), cosine[others].reshape(shape)]),
    )


def reduce_dimensions(
    embeddings: np.ndarray, parameters: TopicParameters, *, random_state: int
) -> np.ndarray:
    """UMAP of the embeddings to ``parameters.n_components`` dimensions.

    Identical embeddings (the same text said again) are embedded once and
    share their coordinates, as UMAP's own ``unique=True`` does. A group of
    identical points is otherwise a separate, fully connected piece of
    UMAP's graph whose spectral start has one eigenvalue many times over:
    ARPACK then restarts from a random vector of its own, not UMAP's seed,
    and the same input gave different topics from run to run. The points
    kept are in their first occurrence's order, so a corpus with no
    repeated text is embedded exactly as before.

    Args:
        embeddings: ``(n, d)`` unit-length embeddings.
        parameters: The chosen settings (``bertopic`` method).
        random_state: UMAP's seed.

    Returns:
        ``(n, n_components)`` coordinates.
    """
    keep, inverse = distinct_rows(embeddings)
    if len(keep) == len(embeddings) or len(keep) < parameters.n_components + 2:
        return _umap(embeddings, parameters, random_state=random_state)
    fewer = replace(
        parameters,
        n_neighbors=min(parameters.n_neighbors, len(keep) - 1),
    )
    reduced = _umap(embeddings[keep], fewer, random_state=random_state)
    return reduced[inverse]


def distinct_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct value, and each row's distinct value.

    Returns:
        ``keep``: indices of the first occurrences, in row order;
        ``inverse``: per row, its position in ``keep`` (so that
        ``values[keep][inverse]`` equals ``values``).
    """
    _, first, inverse = np.unique(
        values, axis=0, return_index=True, return_inverse=True
    )
    order = np.argsort(first)
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    return first[order], position[inverse.ravel()]


def _umap(
    embeddings: np.ndarray, parameters: TopicParameters, *, random_state: int
) -> np.ndarray:
    cache_umap_functions()
    # heavy: kept out of start-up
    from umap import UMAP

    n = embeddings.shape[0]
    precomputed = (None, None, None)
    if parameters.n_neighbors < n <= EXACT_NEIGHBOURS_MAX:
        neighbours = cosine_neighbours(embeddings, parameters.n_neighbors)
        precomputed = (neighbours.indices, neighbours.distances, None)
    umap = UMAP(
        n_neighbors=parameters.n_neighbors,
        n_components=parameters.n_components,
        min_dist=0.0,
        metric="cosine",
        random_state=random_state,
        n_jobs=1,
        low_memory=True,
        precomputed_knn=precomputed,
    )
    with warnings.catch_warnings():
        # new segments join topics by centroid, never through UMAP's
        # transform, which needs pynndescent's index
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
        return umap.fit_transform(embeddings)


def cluster_hdbscan(reduced: np.ndarray, parameters: TopicParameters) -> Clusters:
    """HDBSCAN on UMAP's coordinates; ``leaf`` selection if one cluster is giant.

    When HDBSCAN's default selection puts more than half of the clustered
    points in one cluster, the finer ``leaf`` selection is used instead.

    Args:
        reduced: UMAP's coordinates.
        parameters: The chosen settings.

    Returns:
        The labels and the selection used.
    """
    # heavy: kept out of start-up
    from hdbscan import HDBSCAN

    for selection in ("eom", "leaf"):
        labels = HDBSCAN(
            min_cluster_size=parameters.min_cluster_size,
            min_samples=parameters.min_samples,
            cluster_selection_method=selection,
            # no worker processes: on 2 cores the default four took 0.8 GB
            # for the rest of the run and saved no time
            core_dist_n_jobs=1,
        ).fit_predict(reduced)
        if not _has_giant_cluster(labels):
            break
    return Clusters(labels, selection)


def choose_k(embeddings: np.ndarray, *, max_topics: int, random_state: int) -> int:
    """The number of k-means clusters (2 to ``max_topics``) with the best silhouette.

    Args:
        embeddings: ``(n, d)`` embeddings.
        max_topics: Largest k tried (also at most a quarter of the points).
        random_state: k-means seed.

    Returns:
        The chosen k.
    """
    # heavy: kept out of start-up
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = embeddings.shape[0]
    best_k, best_score = 2, -np.inf
    for k in range(2, max(2, min(max_topics, n // 4)) + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit_predict(
            embeddings
        )
        if len(set(labels.tolist())) < 2:
            continue
        score = silhouette_score(embeddings, labels, metric="cosine")
        if score > best_score + 1e-9:
            best_k, best_score = k, score
    return best_k


def _has_giant_cluster(labels: np.ndarray, *, share: float = 0.5) -> bool:
    """Whether one cluster holds more than ``share`` of the clustered segments."""
    clustered = labels[labels != OUTLIER]
    return bool(len(clustered)) and np.bincount(clustered).max() > share * len(
        clustered
    )
