"""What BERTopic needs from this pipeline: a quiet logger and an embedder adapter."""

from __future__ import annotations

import logging


class quiet_bertopic:
    """Hold BERTopic's logger at ERROR while we call it.

    BERTopic warns that custom topic assignments should be the last step and
    that no embedding model is saved: both are what this package intends.
    """

    def __enter__(self):
        self._logger = logging.getLogger("BERTopic")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)
        return self

    def __exit__(self, *exc):
        self._logger.setLevel(self._level)
        return False


def bertopic_embedder(embedder):
    """Adapt a pipeline embedder to BERTopic's ``embed(documents, verbose)`` call."""
    # heavy: kept out of start-up
    from bertopic.backend import BaseEmbedder

    class PipelineEmbedder(BaseEmbedder):
        def embed(self, documents, verbose=False):
            return embedder.embed(list(documents))

    return PipelineEmbedder()
