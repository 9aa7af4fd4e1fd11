"""What BERTopic needs from us: a light import, a quiet logger, an embedder adapter."""

from __future__ import annotations

import logging
import sys
import threading

# BERTopic imports these optional parts eagerly, each guarded by
# ModuleNotFoundError. Three pull in transformers' model code (about 4 s of
# every topic fit); this pipeline passes its own embeddings and uses none of them.
UNUSED_BERTOPIC_PARTS = (
    "bertopic.backend._multimodal",  # image embeddings (sentence-transformers)
    "bertopic.representation._textgeneration",  # transformers' text generation
    "bertopic.representation._zeroshot",  # transformers' zero-shot pipeline
    "bertopic.representation._visual",  # image captions
)
_import_lock = threading.Lock()


def import_bertopic() -> None:
    """Import BERTopic without the optional parts this pipeline never uses.

    While BERTopic's package is first imported, its unused optional modules are
    marked absent (``None`` in ``sys.modules``: Python then raises
    ModuleNotFoundError, which BERTopic turns into a "not installed"
    placeholder); the marks are removed straight after. Only BERTopic's own
    private modules are marked, so no other import in the process is affected.
    """
    with _import_lock:
        if "bertopic" in sys.modules:
            return
        marked = [name for name in UNUSED_BERTOPIC_PARTS if name not in sys.modules]
        for name in marked:
            sys.modules[name] = None
        try:
            import bertopic  # noqa: F401
        finally:
            for name in marked:
                if sys.modules.get(name, False) is None:
                    del sys.modules[name]


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
    import_bertopic()
    # heavy: kept out of start-up
    from bertopic.backend import BaseEmbedder

    class PipelineEmbedder(BaseEmbedder):
        def embed(self, documents, verbose=False):
            return embedder.embed(list(documents))

    return PipelineEmbedder()
