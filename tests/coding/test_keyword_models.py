"""Keyword models on large folds: warm-started from a sample, same decisions."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_blobs

from pipeline.coding.keywords import _sample_rows, keyword_trained_scores


def weak_labels(n: int = 3000, seed: int = 0):
    """Embeddings in three clusters and noisy keyword matches of three codes."""
    X, cluster = make_blobs(
        n_samples=n, centers=3, n_features=16, cluster_std=4.0, random_state=seed
    )
    rng = np.random.default_rng(seed)
    hits = (cluster[:, None] == np.arange(3)[None, :]) & (rng.random((n, 3)) < 0.4)
    hits |= rng.random((n, 3)) < 0.02  # matches that mean something else
    return X.astype(np.float32), hits, np.arange(n) // 3


def test_warm_started_fit_decides_as_the_fit_from_zero():
    X, hits, groups = weak_labels()
    cold, cold_models = keyword_trained_scores(
        X, hits, groups=groups, warm_start_rows=None
    )
    warm, warm_models = keyword_trained_scores(
        X, hits, groups=groups, warm_start_rows=500
    )
    assert warm_models.trained.tolist() == cold_models.trained.tolist() == [True] * 3
    assert np.abs(warm - cold).mean() < 0.01
    assert ((warm >= 0.8) == (cold >= 0.8)).mean() > 0.99
    assert np.allclose(warm_models.coef, cold_models.coef, atol=0.05)


def test_folds_smaller_than_the_sample_are_fitted_from_zero_exactly():
    X, hits, groups = weak_labels(n=600)
    cold, cold_models = keyword_trained_scores(
        X, hits, groups=groups, warm_start_rows=None
    )
    same, same_models = keyword_trained_scores(
        X, hits, groups=groups, warm_start_rows=10_000
    )
    assert np.array_equal(cold, same)
    assert np.array_equal(cold_models.coef, same_models.coef)


def test_sample_keeps_every_positive_up_to_half_of_it():
    y = np.zeros(1000, dtype=bool)
    y[::40] = True  # 25 positives
    rows = _sample_rows(y, 200, np.random.default_rng(0))
    assert len(rows) == len(np.unique(rows)) == 200
    assert np.all(np.diff(rows) > 0)
    assert y[rows].sum() == 25
    y[::2] = True  # 500 positives: half of the sample
    rows = _sample_rows(y, 200, np.random.default_rng(0))
    assert y[rows].sum() == 100
