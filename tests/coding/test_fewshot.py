"""The few-shot coder: contrastive fine-tuning of a copy of the real MiniLM."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from pipeline.coding.fewshot import FewShotCoder, sample_pairs
from pipeline.embed.model_files import resolve_model

TOPICS = {
    "navigation": [
        "I can't find the menu to get back to the start page",
        "where is the link to the previous screen",
        "the navigation bar is hidden somewhere on the left",
        "I clicked back and ended up on the home page again",
        "there is no breadcrumb so I am lost in the site",
        "the tabs at the top do not say where they lead",
        "I scrolled around looking for the search page",
        "the menu collapsed and I could not find the settings",
    ],
    "speed": [
        "the page is taking forever to load",
        "it is still spinning after ten seconds",
        "this is really slow, I am waiting for the results",
        "the images loaded very slowly",
        "it froze for a while before the form appeared",
        "loading the checkout took too long",
        "the app hangs every time I press save",
        "the video buffers constantly, it is so sluggish",
    ],
    "praise": [
        "oh that is nice, I like this layout",
        "this looks really clean and modern",
        "great, that was easy to do",
        "I love how simple the sign up form is",
        "the colours are pleasant and friendly",
        "that worked perfectly, well done",
        "this is much better than the old site",
        "very intuitive, I knew straight away what to do",
    ],
}
NONE = [
    "okay let me read the task again",
    "so I am on the second step now",
    "hmm right",
    "I will type my name in here",
]


def _data() -> tuple[list[str], np.ndarray]:
    texts, rows = [], []
    for j, examples in enumerate(TOPICS.values()):
        for text in examples:
            texts.append(text)
            rows.append([int(k == j) for k in range(len(TOPICS))])
    texts += NONE
    rows += [[0] * len(TOPICS)] * len(NONE)
    return texts, np.array(rows)


def _coder(random_state: int) -> FewShotCoder:
    # tiny steps: 24 pairs, 3 optimiser steps
    return FewShotCoder(
        max_pairs=24,
        pairs_per_example=1,
        batch_size=8,
        learning_rate=1e-4,
        max_seq_length=32,
        threads=1,
        random_state=random_state,
    )


def _folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_sample_pairs_pairs_codes_and_is_seeded():
    _, labels = _data()
    pairs = sample_pairs(labels, pairs_per_example=2, max_pairs=40, random_state=3)
    again = sample_pairs(labels, pairs_per_example=2, max_pairs=40, random_state=3)

    assert len(pairs) == 40
    np.testing.assert_array_equal(pairs.first, again.first)
    np.testing.assert_array_equal(pairs.second, again.second)
    shared = (labels[pairs.first] & labels[pairs.second]).any(axis=1)
    np.testing.assert_array_equal(shared, pairs.similar == 1.0)
    assert (pairs.first != pairs.second).all()
    assert 0 < pairs.similar.sum() < len(pairs)


def test_sample_pairs_never_pairs_two_uncoded_examples():
    labels = np.array([[1, 0], [1, 0], [0, 1], [0, 0], [0, 0]])
    pairs = sample_pairs(labels, pairs_per_example=5, max_pairs=100, random_state=0)

    uncoded = ~labels.any(axis=1)
    assert not (uncoded[pairs.first] & uncoded[pairs.second]).any()


@pytest.mark.slow
def test_fewshot_coder_is_reproducible_and_leaves_the_source_model_alone(tmp_path):
    texts, labels = _data()
    source = resolve_model("all-MiniLM-L6-v2", allow_download=False).path
    before = _folder_digest(source)

    first = _coder(0).fit(texts, labels)
    probabilities = first.predict_proba(texts)
    again = _coder(0).fit(texts, labels).predict_proba(texts)

    assert probabilities.shape == (len(texts), len(TOPICS))
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert first.predict(texts).shape == (len(texts), len(TOPICS))
    assert first.n_pairs_ == 24
    np.testing.assert_array_equal(probabilities, again)
    # the encoder was fine-tuned in memory: the shared folder is untouched
    assert _folder_digest(source) == before
    saved = first.save_encoder(tmp_path / "encoder")
    assert (saved / "config.json").is_file()
    assert _folder_digest(source) == before


def test_fewshot_coder_rejects_texts_not_aligned_with_codes():
    texts, labels = _data()
    with pytest.raises(ValueError, match="one row of codes per text"):
        FewShotCoder().fit(texts[:-1], labels)
