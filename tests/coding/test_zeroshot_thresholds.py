"""Zero-shot thresholds taken from the corpus, for codes with definitions only."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.coding.codebook import load_codebook
from pipeline.coding.zeroshot import ZeroShotCoder
from pipeline.embed.encoders import HashingEmbedder
from tests.conftest import DATA

DIMENSION = 64


class _AxisEmbedder:
    """Puts each code's prototype text on its own axis."""

    model_id = "test/axes"
    dimension = DIMENSION

    def __init__(self, codebook):
        self.axes = {
            text: j
            for j, code in enumerate(codebook.leaves())
            for text in codebook[code].prototype_texts()
        }

    def embed(self, texts):
        vectors = np.zeros((len(texts), DIMENSION))
        for i, text in enumerate(texts):
            vectors[i, self.axes[text]] = 1.0
        return vectors


@pytest.fixture
def definitions(tmp_path):
    path = tmp_path / "definitions.yaml"
    path.write_text(
        "name: Definitions only\ncodes:\n"
        "  - {id: budgets, name: Budgets, definition: Money and spending.}\n"
        "  - {id: peers, name: Peers, definition: Colleagues at the same level.}\n"
        "  - {id: training, name: Training, definition: Courses and programmes.}\n"
    )
    return load_codebook(path)


def _corpus(n: int, *, signal: float, seed: int = 0):
    """Random unit vectors; a fifth of them lean towards each of codes 0-2."""
    rng = np.random.default_rng(seed)
    topic = rng.integers(0, 5, size=n)
    vectors = rng.normal(size=(n, DIMENSION))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for j in range(3):
        vectors[topic == j, j] += signal
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [f"segment {i}" for i in range(n)], vectors, topic


def _coder(codebook, **settings) -> ZeroShotCoder:
    return ZeroShotCoder(
        codebook, _AxisEmbedder(codebook), keyword_training=False, **settings
    )


def test_definitions_only_threshold_is_median_plus_two_and_a_half_robust_sds(
    definitions,
):
    texts, vectors, _ = _corpus(400, signal=0.4)
    coder = _coder(definitions).fit(texts, vectors)

    assert coder.corpus_threshold_z == 2.5
    scores = coder.fit_scores_
    median = np.median(scores, axis=0)
    spread = 1.4826 * np.median(np.abs(scores - median), axis=0)
    np.testing.assert_allclose(coder.thresholds_, median + 2.5 * spread)


def test_the_default_threshold_codes_the_segments_that_stand_out(definitions):
    texts, vectors, topic = _corpus(1000, signal=0.8)
    coder = _coder(definitions).fit(texts, vectors)
    decisions = coder.decide(coder.fit_scores_)

    for j in range(3):
        recall = decisions[topic == j, j].mean()
        false_alarms = decisions[topic >= 3, j].mean()
        assert recall > 0.6 and false_alarms < 0.02, (j, recall, false_alarms)


def test_a_higher_corpus_threshold_codes_fewer_segments(definitions):
    texts, vectors, _ = _corpus(500, signal=0.3)
    shares = []
    for z in (1.0, 1.5, 2.5, 3.5):
        coder = _coder(definitions, corpus_threshold_z=z).fit(texts, vectors)
        shares.append(coder.decide(coder.fit_scores_).mean())
    assert shares == sorted(shares, reverse=True)
    assert shares[0] > shares[-1]


def test_the_same_segment_is_coded_only_where_it_stands_out(definitions):
    texts, background, _ = _corpus(300, signal=0.0)
    target = np.zeros(DIMENSION)
    target[0], target[5] = 0.5, 1.0  # somewhat like the first code's definition
    target /= np.linalg.norm(target)
    rng = np.random.default_rng(1)
    alike = target + 0.05 * rng.normal(size=(300, DIMENSION))  # all like it
    alike /= np.linalg.norm(alike, axis=1, keepdims=True)

    def coded(corpus):
        rows = np.vstack([corpus, target])
        coder = _coder(definitions).fit([*texts, "target"], rows)
        return coder.decide(coder.fit_scores_)[-1, 0]

    assert coded(background)  # among unrelated segments it stands out
    assert not coded(alike)  # among segments just like it, it does not


def test_codes_with_examples_keep_the_codebooks_thresholds():
    codebook = load_codebook(DATA / "codebooks" / "mini.yaml")
    texts = [f"segment {i}" for i in range(50)]
    vectors = HashingEmbedder(64).embed(texts)

    def fitted(z):
        return ZeroShotCoder(codebook, HashingEmbedder(64), corpus_threshold_z=z).fit(
            texts, vectors
        )

    adapted, fixed = fitted(2.5), fitted(None)
    checked = ~adapted.classifier_.unchecked_ & ~adapted.keyword_trained_
    assert checked.any()
    np.testing.assert_array_equal(
        adapted.thresholds_[checked], fixed.thresholds_[checked]
    )
