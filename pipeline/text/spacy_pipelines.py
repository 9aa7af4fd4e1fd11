"""One spaCy pipeline per package and process, each step running only its components.

Loading a spaCy package takes about 0.3 s here, most of it the tokenizer's
special cases, whichever components are kept. The anonymisation check (the
entity recogniser), segmentation (the sentence segmenter) and the network
step (the parser and lemmas) used to load the same package three times.
:func:`shared_pipeline` loads it once, every component enabled, and each step
takes a :class:`PipelineView` of the components it needs. A view passes
``disable=`` to ``Language.pipe`` and never changes the shared pipeline, so
views of one pipeline can be used side by side; a component runs with the
same weights, and on the same tokens, as in a pipeline loaded with only it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc


@functools.lru_cache(maxsize=4)
def shared_pipeline(model: str) -> Language:
    """The package ``model`` loaded once per process, all its components enabled.

    Raises:
        OSError: The package is not installed (its callers say which setting).
    """
    import spacy  # heavy: kept out of start-up

    nlp = spacy.load(model)
    for name in list(nlp.disabled):  # en_core_web_sm ships its senter disabled
        nlp.enable_pipe(name)
    return nlp


class PipelineView:
    """Some components of a shared pipeline, used like a ``Language``.

    Args:
        nlp: The shared pipeline (:func:`shared_pipeline`).
        components: The components to run, in the pipeline's order.
    """

    def __init__(self, nlp: Language, components: Iterable[str]) -> None:
        keep = set(components)
        self.nlp = nlp
        self.pipe_names = [name for name in nlp.pipe_names if name in keep]
        self._disable = [name for name in nlp.pipe_names if name not in keep]

    @property
    def vocab(self):
        """The shared pipeline's vocabulary."""
        return self.nlp.vocab

    @property
    def pipeline(self) -> list[tuple[str, Any]]:
        """``(name, component)`` of the components this view runs."""
        return [(n, p) for n, p in self.nlp.pipeline if n in self.pipe_names]

    def make_doc(self, text: str) -> Doc:
        """Tokenise only, as ``Language.make_doc``."""
        return self.nlp.make_doc(text)

    def pipe(self, texts: Iterable[str], **kwargs: Any) -> Iterator[Doc]:
        """``Language.pipe`` with only this view's components."""
        return self.nlp.pipe(texts, disable=self._disable, **kwargs)

    def __call__(self, text: str) -> Doc:
        """One text through this view's components, as ``Language.__call__``."""
        return self.nlp(text, disable=self._disable)
