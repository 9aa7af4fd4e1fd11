"""Mentions the participant rejects or only names are not sources.

"I wouldn't go to the board for that", "I haven't got a mentor", "I've heard
of them", "a couple of people in the division have done them": a mention is
dismissed when the dependency parse shows its governing verb negated (or the
mention under "no"), when the gazetteer's dismissal cues occur in its
sentence, or, for a programme, when nobody in the sentence is the participant
(someone else did it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_FIRST_PERSON = frozenset({"i", "me", "my", "we", "us", "our", "myself"})
_HEDGES = frozenset({"think", "suppose", "guess", "mean", "know", "reckon", "say"})
"""Verbs whose "I" hedges the sentence ("..., I think") rather than acting in it."""
_NEGATIONS = frozenset({"not", "n't", "never", "no", "nobody", "nothing"})
_OTHERS = frozenset({"their", "his", "her", "its"})
_MAKING = frozenset({"write", "produce", "prepare", "draft", "present", "send", "move"})
"""Possessives that make a forum or programme someone else's ("their forums")."""
_BACK = {
    "her": "person",
    "him": "person",
    "she": "person",
    "he": "person",
    "it": "thing",
    "them": "any",
    "they": "any",
}


def compile_cues(cues: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any cue as whole words.

    Args:
        cues: Words or phrases; a cue that starts or ends with a letter or
            digit must start or end on a word boundary ("'d be interested"
            matches inside "I'd be interested").

    Returns:
        The pattern, or None when there are no cues.
    """
    parts = []
    for cue in sorted({c.strip().lower() for c in cues if c.strip()}, key=len):
        body = r"\s+".join(re.escape(word) for word in cue.split())
        start = r"\b" if cue[0].isalnum() else ""
        # "different trust" also finds "different trusts"
        end = r"(?:s|es)?\b" if cue[-1].isalnum() else ""
        parts.append(f"{start}{body}{end}")
    if not parts:
        return None
    return re.compile("|".join(reversed(parts)), re.IGNORECASE)


def dismissal_reason(span, *, kind: str, cues: re.Pattern[str] | None) -> str | None:
    """Why a mention is not a source, or None when it is one.

    Args:
        span: The mention (a spaCy ``Span`` in its parsed sentence).
        kind: The mention's kind.
        cues: The gazetteer's dismissal cues (:func:`compile_cues`).

    Returns:
        ``negated`` (the parse: "I don't use the intranet", "no mentor"),
        ``dismissal cue`` (a cue in the sentence: "I've heard of them"),
        ``named by others`` (a programme nobody in the sentence took part in),
        ``others'`` (someone else's forum: "the nurses have their forums"),
        ``own output`` (a report the participant writes), or None.
    """
    head = span.root
    if any(c.dep_ == "det" and c.lower_ == "no" for c in head.children):
        return "negated"
    sentence = span.sent
    if (
        kind in ("community", "network")
        and any(c.dep_ == "poss" and c.lower_ in _OTHERS for c in head.children)
        and not _participant_acts(sentence, span)
    ):
        return "others'"  # "the nurses have their forums"
    if kind == "codified" and _own_output(head):
        return "own output"  # "I used to produce these fifty-page reports"
    if _governing_verb_negated(head):
        return "negated"
    if cues is not None and cues.search(sentence.text):
        return "dismissal cue"
    if kind == "programme" and not _participant_acts(sentence, span):
        return "named by others"
    return None


def _governing_verb_negated(head) -> bool:
    token = head
    steps = 0
    while token.head is not token and steps < 6:
        token = token.head
        steps += 1
        if token.pos_ in ("VERB", "AUX"):
            if _negated(token):
                return True
            # "I'm not sure I'd go to her", "I don't want to use it": one
            # level up through a clause complement, no further
            if token.dep_ in ("xcomp", "ccomp", "advcl") and _negated(token.head):
                return True
            # "the other ops managers are all acute, and they don't really get
            # it": a conjoined clause about the same people, negated
            # ...and "there's the managers' forum but deputies aren't invited"
            return any(
                c.dep_ == "conj"
                and _negated(c)
                and any(
                    s.dep_ in ("nsubj", "nsubjpass") and s.lower_ not in ("i", "we")
                    for s in c.children
                )
                for c in token.children
            )
    return False


def _own_output(head) -> bool:
    token = head
    while token.dep_ in ("appos", "conj") and token.head is not token:
        token = token.head
    verb = token.head
    return (
        token.dep_ == "dobj"
        and verb.lemma_.lower() in _MAKING
        and any(
            c.dep_ == "nsubj" and c.lower_ in ("i", "we", "team") for c in verb.children
        )
    )


def _negated(verb) -> bool:
    return any(
        c.dep_ == "neg" or (c.lower_ in _NEGATIONS and c.dep_ in ("advmod", "det"))
        for c in verb.children
    )


def _participant_acts(sentence, span) -> bool:
    for token in sentence:
        if token.i >= span.start and token.i < span.end:
            continue
        if token.lower_ not in _FIRST_PERSON:
            continue
        if token.dep_ == "nsubj" and token.head.lemma_.lower() in _HEDGES:
            continue
        return True
    return False


def rejects_back(sentence, *, cues: re.Pattern[str] | None) -> str | None:
    """What a sentence rejects by pronoun: "I wouldn't go to her with that".

    Args:
        sentence: A spaCy sentence ``Span``, the one after a mention's.
        cues: The dismissal cues.

    Returns:
        ``person`` (her, him), ``thing`` (it, that) or ``any`` (them) when a
        pronoun's governing verb is negated, or the sentence has a dismissal
        cue and a pronoun; ``any`` for a short negated sentence of the
        participant's ("I never went."); else None.
    """
    has_cue = cues is not None and cues.search(sentence.text) is not None
    words = [t for t in sentence if not t.is_punct]
    root = sentence.root
    if (
        len(words) <= 6
        and _negated(root)
        and any(c.dep_ == "nsubj" and c.lower_ in ("i", "we") for c in root.children)
    ):
        return "any"  # "I never went." "I don't go."
    for token in sentence:
        refers = _BACK.get(token.lower_)
        if refers is None or token.dep_ not in ("dobj", "pobj", "nsubj", "attr"):
            continue
        if token.dep_ == "nsubj" and not has_cue:
            continue  # "she's very good": a subject is rejected only with a cue
        if has_cue or _governing_verb_negated(token):
            return refers
    return None


def back_references(sentence) -> list[tuple[int, str]]:
    """Pronouns of a sentence under a negated verb, and what they can refer to.

    Returns:
        ``(token index, refers)`` for "it", "them", "her", "him" as object of
        a negated verb ("I didn't get much from it"); ``refers`` as in
        :func:`rejects_back`.
    """
    found = []
    for token in sentence:
        refers = _BACK.get(token.lower_)
        if refers is None or token.dep_ not in ("dobj", "pobj"):
            continue
        if _governing_verb_negated(token):
            found.append((token.i, refers))
    return found
