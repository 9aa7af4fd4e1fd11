"""Find people, places and organisations: name patterns and spaCy's entities.

A few name patterns ("Dr Patel", "a nurse called Jo Bloggs", "I spoke to Sam
Lee", "worked at Acme Widgets") and spaCy's named-entity recogniser propose
``PERSON``, ``PLACE`` and ``ORGANISATION`` findings; a finding made only of
allowed, generic or masked words is dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from pipeline.errors import ModelError
from pipeline.text.identifiers.allowlists import PLACEHOLDER, Allowlist
from pipeline.text.identifiers.findings import (
    RANK_GUESS,
    RANK_NAME_CONTEXT,
    RANK_NER,
    Candidate,
)
from pipeline.text.spacy_pipelines import PipelineView, shared_pipeline

if TYPE_CHECKING:
    from spacy.tokens import Doc

logger = logging.getLogger(__name__)

# spaCy's OntoNotes labels and the kind each one is reported as.
NER_LABELS: Mapping[str, str] = {
    "PERSON": "PERSON",
    "GPE": "PLACE",
    "LOC": "PLACE",
    "FAC": "PLACE",
    "ORG": "ORGANISATION",
}

_TITLES = (
    "Dr|Doctor|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sister|Matron|Nurse|Sir|Dame|"
    "Lady|Lord|Rev|Reverend|Father|Cllr|Councillor"
)
_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ"
_NAME_WORD = (
    rf"(?:(?:Mc|Mac|O['’]|D['’])?[{_UPPER}][{_LOWER}]+"
    rf"(?:[-'’][{_UPPER}][{_LOWER}]+)?)"
)
_LEADING_NOISE = re.compile(rf"^(?:(?:the|a|an|and|The|A|An|And|{_TITLES})\.?\s+)+")
_TRAILING_NOISE = re.compile(r"(?:['’]s|['’])?[\s.,;:!?)\"'’-]*$")

TITLE_NAME = re.compile(
    rf"(?<![\w-])(?P<title>{_TITLES})\.?[ \t]+"
    rf"(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?)"
)
# After these the next capitalised word is a surname even when it is also a
# common word ("Mr Ward", "Mrs Long"); after "Sister" or "Nurse" it may not be.
_FORMAL_TITLES = frozenset(
    "Dr Mr Mrs Ms Miss Mx Prof Professor Sir Dame Lady Lord Rev Reverend Cllr "
    "Councillor".split()
)
CALLED_NAME = re.compile(
    r"(?<![\w-])(?i:called|named|known\s+as|name\s+is|name's)[ \t]+"
    rf"(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,2}})"
)
CONTACT_NAME = re.compile(
    r"(?<![\w-])(?i:spoke|speak|speaking|spoken|talked|talk|talking|chatted|chat"
    r"|met|meet|meeting|emailed|email|rang|ring|phoned|phone|texted|contacted"
    r"|contact|asked|ask|told|tell|introduced\s+me|reported|report|reporting"
    r"|works?|worked|working|managed|mentored|supervised|coached|replaced"
    r"|thanks|according|helped|help|saw|see|shadowed|shadow)"
    r"(?:[ \t]+(?i:to|with|by|for|up\s+to))?[ \t]+"
    rf"(?P<name>{_NAME_WORD}[ \t]+{_NAME_WORD})"
)
RELATION_NAME = re.compile(
    r"(?<![\w-])(?i:my|our|his|her|their)[ \t]+(?:(?i:old|new|former|then|line)"
    r"[ \t]+)?(?i:manager|boss|mentor|coach|supervisor|director|colleague"
    r"|consultant|matron|deputy|husband|wife|partner|son|daughter|mum|mother"
    r"|dad|father|brother|sister|friend|predecessor|successor|PA|secretary)"
    rf",?[ \t]+(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?)"
)
SAID_NAME = re.compile(
    rf"(?<![\w-])(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?)[ \t]+"
    r"(?:said|says|told|tells|asked|asks|thinks|thought|reckons|reckoned"
    r"|suggested|mentioned|explained|replied|rang|emailed|phoned)(?![\w-])"
)
PLACE_CONTEXT = re.compile(
    r"(?<![\w-])(?i:live|lives|lived|living|grew[ \t]+up|moved|moving|move"
    r"|based|relocated|raised|born)(?:[ \t]+(?i:down|up|over|out|back))?"
    r"[ \t]+(?i:in|to|from|near)[ \t]+"
    rf"(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,2}})"
)
_ORG_WORD = rf"(?:{_NAME_WORD}|[A-Z][A-Z&]{{1,6}}\b)"
ORGANISATION_CONTEXT = re.compile(
    r"(?<![\w-])(?i:worked|work|works|working|trained|training|employed"
    r"|placement|secondment|seconded|job)[ \t]+(?i:at|for|by)[ \t]+"
    rf"(?:the[ \t]+)?(?P<name>{_ORG_WORD}"
    rf"(?:[ \t]+(?:(?:of|and|for)[ \t]+)?{_ORG_WORD}){{0,3}})"
)
# Two or more capitalised words in a row, not at the start of a sentence: in
# speech that is almost always a name. Its kind is a guess, so a finding of
# the recogniser over the same words takes precedence.
PROPER_RUN = re.compile(rf"(?<![\w-])(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD})+)")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“”(\n])\s*$")

_NAME_PATTERNS: tuple[tuple[re.Pattern[str], str, int], ...] = (
    (TITLE_NAME, "PERSON", RANK_NAME_CONTEXT),
    (CALLED_NAME, "PERSON", RANK_NAME_CONTEXT),
    (CONTACT_NAME, "PERSON", RANK_NAME_CONTEXT),
    (RELATION_NAME, "PERSON", RANK_NAME_CONTEXT),
    (SAID_NAME, "PERSON", RANK_NAME_CONTEXT),
    (PLACE_CONTEXT, "PLACE", RANK_NAME_CONTEXT),
    (ORGANISATION_CONTEXT, "ORGANISATION", RANK_NAME_CONTEXT),
    (PROPER_RUN, "PERSON", RANK_GUESS),
)


def find_name_candidates(
    speech: str, kinds: frozenset[str], allowlist: Allowlist
) -> Iterator[Candidate]:
    """Find names of the kinds checked by the name patterns.

    Args:
        speech: The speech of one turn.
        kinds: The kinds checked (``AnonymiseConfig.entity_types``).
        allowlist: Terms never flagged.

    Yields:
        Candidates with offsets into ``speech``.
    """
    for pattern, kind, rank in _NAME_PATTERNS:
        if kind not in kinds:
            continue
        for match in pattern.finditer(speech):
            start, end = match.span("name")
            if pattern is PROPER_RUN and _SENTENCE_START.search(
                speech, max(0, start - 12), start
            ):
                continue
            if pattern is TITLE_NAME and match.group("title") in _FORMAL_TITLES:
                first_end = start + len(speech[start:end].split()[0])
                end = max(first_end, _cut_generic_tail(speech, start, end, allowlist))
                name = speech[start:end]
                if not allowlist.is_listed(name):
                    yield Candidate(kind, start, end, "pattern", rank)
                continue
            if not allowlist.is_identifying(speech[start:end]):
                continue  # an allowed phrase: "North Korea", "Google Scholar"
            end = _cut_generic_tail(speech, start, end, allowlist)
            if end > start and allowlist.is_identifying(speech[start:end]):
                yield Candidate(kind, start, end, "pattern", rank)


def _cut_generic_tail(speech: str, start: int, end: int, allowlist: Allowlist) -> int:
    """End a name before its first generic word ("Dr Shah Said" stays whole)."""
    for word in re.finditer(r"\S+", speech[start:end]):
        if word.group().casefold() in allowlist.words:
            return start + len(speech[start : start + word.start()].rstrip())
    return end


def find_entity_candidates(
    speech: str, doc: Doc, kinds: frozenset[str], allowlist: Allowlist
) -> Iterator[Candidate]:
    """Find names of the kinds checked among spaCy's entities of a turn.

    Args:
        speech: The speech of one turn.
        doc: spaCy's parse of ``speech``.
        kinds: The kinds checked (``AnonymiseConfig.entity_types``).
        allowlist: Terms never flagged.

    Yields:
        Candidates with offsets into ``speech``.
    """
    for entity in doc.ents:
        kind = NER_LABELS.get(entity.label_)
        if kind is None or kind not in kinds:
            continue
        start, end = _trim_entity(speech, entity.start_char, entity.end_char)
        if end > start and allowlist.is_identifying(speech[start:end]):
            yield Candidate(kind, start, end, "ner", RANK_NER)


def _trim_entity(speech: str, start: int, end: int) -> tuple[int, int]:
    """Drop leading articles and titles, placeholders at the edges, a final 's."""
    for _ in range(3):
        before = (start, end)
        fragment = speech[start:end]
        leading = _LEADING_NOISE.match(fragment)
        if leading:
            start += leading.end()
        fragment = speech[start:end]
        trailing = _TRAILING_NOISE.search(fragment)
        if trailing and trailing.start() > 0:
            end = start + trailing.start()
        # placeholders are at most 82 characters long
        nearby = PLACEHOLDER.finditer(speech, max(0, start - 82), end + 82)
        for placeholder in nearby:
            if placeholder.start() >= end or placeholder.end() <= start:
                continue
            if placeholder.start() <= start:
                start = max(start, placeholder.end())
            elif placeholder.end() >= end:
                end = min(end, placeholder.start())
        while start < end and speech[start].isspace():
            start += 1
        while end > start and speech[end - 1].isspace():
            end -= 1
        if (start, end) == before:
            break
    return start, end


def load_ner(name: str) -> PipelineView:
    """The spaCy pipeline's entity recogniser, and only what it needs.

    Args:
        name: The model package (``AnonymiseConfig.spacy_model``).

    Returns:
        A view of the shared pipeline that runs the recogniser, any entity
        ruler and the layers they listen to.

    Raises:
        ModelError: The model is not installed or has no ``ner`` component.
    """
    try:
        nlp = shared_pipeline(name)
    except (OSError, ImportError) as error:
        raise ModelError(
            f"anonymise.spacy_model: cannot load spaCy model {name!r} ({error}); "
            "install the model package or set detect_names: false"
        ) from error
    if "ner" not in nlp.pipe_names:
        raise ModelError(
            f"anonymise.spacy_model: {name!r} has no 'ner' component "
            f"(it has {nlp.pipe_names}); choose a pipeline with entity recognition"
        )
    # Keep the recogniser, any entity ruler and the embedding layers they listen
    # to; the tagger, parser and lemmatiser are not needed here.
    keep = {"ner", "entity_ruler"}
    for pipe_name, pipe in nlp.pipeline:
        if "ner" in getattr(pipe, "listening_components", ()):
            keep.add(pipe_name)
    view = PipelineView(nlp, keep)
    logger.debug("anonymise: %s with %s", name, view.pipe_names)
    return view
