"""Guided topics: a codebook's keywords draw segments together before clustering.

As in BERTopic's guided topic modelling, each keyword list (from a codebook's
leaf codes) is embedded, and segments that mention one of its words are moved
a quarter of the way towards it.
"""

from __future__ import annotations

import re

import numpy as np

from pipeline.coding.codebook_records import Codebook


def seed_topics(codebook: Codebook) -> list[list[str]]:
    """Keyword lists of a codebook's leaf codes, for guided topics."""
    return [
        list(codebook[c].keywords) for c in codebook.leaves() if codebook[c].keywords
    ]


def guide_embeddings(embeddings, texts, seed_topic_list, embedder) -> np.ndarray:
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
