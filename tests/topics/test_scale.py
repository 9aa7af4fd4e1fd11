"""Large corpora: clustering on a seeded sample, and the exact neighbour graph."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config.analysis import TopicsConfig
from pipeline.topics.centroids import OUTLIER
from pipeline.topics.clustering import cosine_neighbours
from pipeline.topics.estimator import TopicModeler
from tests.topics.test_topics import FAST, make_corpus


def test_neighbours_are_exact_and_each_point_comes_first_even_with_duplicates():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 12)).astype(np.float32)
    vectors = np.vstack([vectors, vectors[:40]])  # exact duplicates
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    neighbours = cosine_neighbours(vectors, 6)
    np.testing.assert_array_equal(neighbours.indices[:, 0], np.arange(len(vectors)))
    assert (neighbours.distances[:, 0] == 0).all()
    assert (np.diff(neighbours.distances[:, 1:], axis=1) >= -1e-6).all()
    brute = np.sort(np.clip(1 - vectors @ vectors.T, 0, None), axis=1)[:, :6]
    np.testing.assert_allclose(np.sort(neighbours.distances, axis=1), brute, atol=1e-5)
    # the duplicate of point 0 is its nearest other neighbour
    assert neighbours.indices[0, 1] == 300


def test_a_large_corpus_is_clustered_on_a_sample_and_every_segment_gets_a_topic():
    texts, vectors, labels = make_corpus(600, seed=2)
    config = FAST.model_copy(update={"fit_sample": 200})
    modeler = TopicModeler(config, random_state=1).fit(texts, vectors)
    assert modeler.method_ == "bertopic"
    assert modeler.n_fitted_ == 200
    assert "a sample of 200 segments" in modeler.message_
    assert "the other 400 segments joined the nearest topic" in modeler.message_
    assert OUTLIER not in set(modeler.topics_.tolist())
    purity = pd.crosstab(modeler.topics_, labels).max(axis=1).sum() / len(labels)
    assert purity > 0.9
    # topic words and sizes describe every segment, not only the sample
    assert sum(modeler.model_.get_topic_freq()["Count"]) == 600
    again = TopicModeler(config, random_state=1).fit(texts, vectors)
    np.testing.assert_array_equal(modeler.topics_, again.topics_)


def test_a_corpus_within_the_sample_size_is_clustered_whole():
    texts, vectors, _ = make_corpus(200, seed=4)
    whole = TopicModeler(FAST.model_copy(update={"fit_sample": None}), random_state=3)
    within = TopicModeler(FAST.model_copy(update={"fit_sample": 200}), random_state=3)
    np.testing.assert_array_equal(
        whole.fit(texts, vectors).topics_, within.fit(texts, vectors).topics_
    )
    assert within.n_fitted_ == 200


def test_fit_sample_is_validated():
    assert TopicsConfig().fit_sample == 20_000
    try:
        TopicsConfig(fit_sample=10)
    except ValueError as error:
        assert "fit_sample" in str(error)
    else:
        raise AssertionError("fit_sample=10 was accepted")
