"""Phrase helpers of the mention finder: spellings, noun phrases, self-reference."""

from __future__ import annotations

from typing import NamedTuple

EXPAND_LEFT = frozenset({"amod", "compound", "nmod", "npadvmod", "nummod"})
EXPAND_PREPS = frozenset({"of", "for", "in", "on"})
SKIP_LEFT = frozenset({"other", "own", "such", "few", "couple", "lot", "fellow"})
_SORT_OF = frozenset({"sort", "kind", "type", "bit"})


class Entry(NamedTuple):
    """What a gazetteer match means.

    Attributes:
        kind: The mention's kind ("" for an ``ignore`` phrase).
        scope: Its default scope.
        role: A person's canonical role ("" for a generic role word).
        named: The named source's name, or "".
        group: A group word (community inside, network outside).
        base: The score before cues.
        proper: Matched only when capitalised (an organisation's name).
    """

    kind: str
    scope: str
    role: str = ""
    named: str = ""
    group: bool = False
    base: float = 0.5
    proper: bool = False


def plural_forms(term: str) -> tuple[str, ...]:
    """The term and its plural ("mentor" → "mentors", "body" → "bodies")."""
    words = term.split()
    last = words[-1]
    if not last.isalpha() or last.isupper() or last.endswith("s"):
        return (term,)
    if last.endswith(("ch", "sh", "x")):
        plural = last + "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        plural = last[:-1] + "ies"
    else:
        plural = last + "s"
    return (term, " ".join([*words[:-1], plural]))


def is_acronym(term: str) -> bool:
    """True for a one-word term with two or more capitals ("NICE", "PRINCE2")."""
    letters = [c for c in term if c.isalpha()]
    return bool(letters) and " " not in term and sum(c.isupper() for c in letters) > 1


def expand(span, entry: Entry):
    """Grow a generic word into its noun phrase, without determiners.

    Left: adjectives and nouns modifying it ("regional HR network"), a
    possessor noun ("ward leaders' programme"), a hyphenated word
    ("system-wide"). Right: a short ``of/for/in/on`` phrase ("programme for
    finance staff"; a person only ``of``: "head of nursing").
    """
    doc = span.doc
    root = span.root
    start, end = span.start, span.end
    while start > span.sent.start:
        token = doc[start - 1]
        if token.dep_ == "case" or (
            token.dep_ == "poss" and token.pos_ in ("NOUN", "PROPN")
        ):
            start -= 1
        elif (
            token.dep_ in EXPAND_LEFT
            and token.head.i in range(start, end)
            and token.lower_ not in SKIP_LEFT
            and token.pos_ not in ("PRON", "DET", "NUM")
        ):
            start -= 1
        elif (
            token.text == "-"
            and not token.whitespace_
            and start - 2 >= span.sent.start
            and not doc[start - 2].whitespace_
        ):
            start -= 2  # "system-wide workforce group", "old-school manager"
        else:
            break
    preps = {"of"} if entry.kind == "person" and not entry.group else EXPAND_PREPS
    limit = 8 if entry.proper else 5
    for child in root.rights:
        if child.dep_ == "prep" and child.lower_ in preps:
            subtree = list(child.subtree)
            if child.i == end and len(subtree) <= limit:
                end = subtree[-1].i + 1
            break
    return doc[start:end]


def self_reference(span, *, kind: str) -> str | None:
    """Why a mention names no source of its own, or None.

    ``self``: the participant's own job ("I'm the service manager", "as a
    manager"). ``description``: what something named already is ("she's a
    service manager over there", "the nurses are the biggest user group",
    "she's been a sort of sponsor"); a person with "my" is kept ("she was my
    manager then").
    """
    root = span.root
    if kind == "person" and root.dep_ == "pobj" and root.head.lower_ == "as":
        return "self"
    if (
        root.dep_ == "pobj"
        and root.head.lower_ == "of"
        and root.head.head.lemma_.lower() in _SORT_OF
    ):
        root = root.head.head  # "a sort of sponsor": the phrase is "a sort"
    if root.dep_ != "attr":
        return None
    verb = root.head
    if kind == "person" and verb.dep_ == "xcomp" and _subject_is_me(verb.head):
        return "self"  # "I'm training to be a coach"
    for child in verb.children:
        if child.dep_ not in ("nsubj", "nsubjpass"):
            continue
        if child.lower_ in ("i", "we"):
            return "self" if kind == "person" else None
        if kind == "person" and possessed(span):
            return None
        if kind != "person" and child.pos_ == "PRON":
            return None  # "it was a regional leadership programme": naming it
        return "description"
    return None


def _subject_is_me(verb) -> bool:
    return any(c.dep_ == "nsubj" and c.lower_ in ("i", "we") for c in verb.children)


def people_in_general(span) -> bool:
    """True for a plural role said of a class of people ("general managers").

    People the participant knows come with "my", "other", a number, or words
    placing them ("from other trusts", "in my division", "I trained with").
    """
    root = span.root
    if root.tag_ not in ("NNS", "NNPS") or possessed(span):
        return False
    heads = [root, *(c for c in root.children if c.dep_ == "conj")]
    for head in heads:
        for child in head.children:
            if child.lower_ in ("other", "fellow") or child.dep_ in (
                "prep",
                "relcl",
                "acl",
                "nummod",
                "quantmod",
            ):
                return False
    return not (root.dep_ == "pobj" and root.head.lower_ == "of")


def possessed(span) -> bool:
    """True for "my ..." or "our ..."."""
    return any(
        c.dep_ == "poss" and c.lower_ in ("my", "our") for c in span.root.children
    )


def role_name(span) -> str:
    """A generic person's role: the phrase in lower case, head singular."""
    words = [t for t in span if t.lower_ not in SKIP_LEFT]
    text = " ".join(t.lemma_.lower() if t.i == span.root.i else t.lower_ for t in words)
    return text.replace(" - ", "-").replace(" 's", "'s")


def has_proper_noun(span) -> bool:
    """True when a word of the span is a proper noun or an acronym."""
    return any(t.pos_ == "PROPN" or is_acronym(t.text) for t in span)
