"""Topic centroids: how segments are assigned to topics and how well they fit.

A topic's centroid is the mean embedding of its segments, made unit length. A
segment's ``probability`` is the cosine similarity of its embedding to its
topic's centroid, clipped to 0..1: a measure of fit, not a calibrated
probability. New segments are assigned to the most similar centroid.
"""

from __future__ import annotations

import numpy as np

OUTLIER = -1
"""The topic of a segment that has none."""


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


def topic_centroids(
    embeddings: np.ndarray, topics: np.ndarray
) -> dict[int, np.ndarray]:
    """Unit-length mean embedding of each topic's segments (outliers left out)."""
    centroids = {}
    for topic in sorted(set(topics.tolist())):
        if topic == OUTLIER:
            continue
        mean = embeddings[topics == topic].mean(axis=0)
        centroids[int(topic)] = (mean / (np.linalg.norm(mean) or 1.0)).astype(
            np.float32
        )
    return centroids


def similarity_to_own_centroid(
    embeddings: np.ndarray, topics: np.ndarray, centroids: dict[int, np.ndarray]
) -> np.ndarray:
    """Each segment's cosine similarity to its topic's centroid, clipped to 0..1."""
    similarity = np.zeros(len(topics))
    for topic, centroid in centroids.items():
        mask = topics == topic
        similarity[mask] = embeddings[mask] @ centroid
    return np.clip(similarity, 0.0, 1.0)


def centroid_matrix(
    model, centroids: dict[int, np.ndarray], dimension: int
) -> np.ndarray:
    """Topic embeddings in BERTopic's row order (outlier row first when present)."""
    ids = sorted(model.get_topics())
    return np.stack(
        [centroids.get(t, np.zeros(dimension, dtype=np.float32)) for t in ids]
    )
