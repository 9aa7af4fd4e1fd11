"""Scope and purpose of a mention, from the gazetteer's cue words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.network.dismissals import compile_cues
from pipeline.network.gazetteer import PURPOSES, Gazetteer


@dataclass(frozen=True)
class Cues:
    """The gazetteer's cue lists compiled into patterns, once per run."""

    external: re.Pattern[str] | None
    internal: re.Pattern[str] | None
    purposes: dict[str, re.Pattern[str] | None]
    questions: dict[str, re.Pattern[str] | None]
    dismissal: re.Pattern[str] | None
    use: re.Pattern[str] | None = None

    @classmethod
    def from_gazetteer(cls, gazetteer: Gazetteer) -> Cues:
        """Compile every cue list of a gazetteer."""
        return cls(
            external=compile_cues(gazetteer.scope_cues.external),
            internal=compile_cues(gazetteer.scope_cues.internal),
            purposes={
                p: compile_cues(getattr(gazetteer.purpose_cues, p)) for p in PURPOSES
            },
            questions={
                p: compile_cues(getattr(gazetteer.question_cues, p)) for p in PURPOSES
            },
            dismissal=compile_cues(gazetteer.dismissal_cues),
            use=compile_cues(gazetteer.use_cues),
        )


def mention_scope(mention: str, sentence: str, default: str, cues: Cues) -> str:
    """``internal``, ``external`` or ``unknown`` for a generic mention.

    Cues in the mention itself ("regional HR network") decide first, then
    cues in its sentence ("a friend ... now in [Trust B]"); a sentence with
    both kinds of cue, or none, leaves the default of its words.

    Args:
        mention: The mention's text.
        sentence: Its sentence.
        default: The scope its gazetteer entry gives.
        cues: The compiled cues.

    Returns:
        The scope.
    """
    for text in (mention, sentence):
        external = bool(cues.external and cues.external.search(text))
        internal = bool(cues.internal and cues.internal.search(text))
        if external != internal:
            return "external" if external else "internal"
    return default


def mention_purposes(
    sentence: str, question: str, cues: Cues
) -> tuple[tuple[str, ...], bool]:
    """The purposes the speech gives a mention, and whether its sentence says so.

    Args:
        sentence: The mention's sentence.
        question: The interviewer's question before the turn ("" when none).
        cues: The compiled cues.

    Returns:
        The purposes (in ``PURPOSES`` order) and True when they come from
        the sentence; False when from the question (or there are none).
    """
    said = tuple(
        p for p in PURPOSES if cues.purposes[p] and cues.purposes[p].search(sentence)
    )
    if said:
        return said, True
    asked = tuple(
        p for p in PURPOSES if cues.questions[p] and cues.questions[p].search(question)
    )
    return asked, False
