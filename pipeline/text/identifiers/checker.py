"""The identifier checker: finds direct identifiers in the speech of transcripts.

It looks only at the speech of each turn (``text[turn.start:turn.end]``), never
at speaker labels, and merges what the finders propose (see
:mod:`pipeline.text.identifiers`) into findings. A ``FindingsCache`` keeps each
document's findings under its check key, so a rerun checks only new or changed
documents.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from pipeline.config.inputs import AnonymiseConfig
from pipeline.records import Transcript
from pipeline.store.cache_keys import identifier_check_key, identifier_settings_key
from pipeline.text.identifiers.allowlists import (
    BUILTIN_ALLOWLISTS,
    PLACEHOLDER,
    Allowlist,
)
from pipeline.text.identifiers.findings import (
    NAME_KINDS,
    CachedFinding,
    Candidate,
    Finding,
    FindingsCache,
    Policy,
    merge_candidates,
)
from pipeline.text.identifiers.names import (
    find_entity_candidates,
    find_name_candidates,
    load_ner,
)
from pipeline.text.identifiers.pattern_finders import find_pattern_candidates
from pipeline.text.spacy_pipelines import PipelineView

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

logger = logging.getLogger(__name__)


class IdentifierChecker:
    """Finds direct identifiers in the speech of transcripts.

    Patterns are compiled once, at import; the spaCy model is loaded on first
    use (only when names are checked) and kept.

    Args:
        config: The ``anonymise`` section (default settings when ``None``).
        nlp: A loaded spaCy pipeline with entity recognition to use instead of
            loading ``config.spacy_model`` (tests pass a small one).

    Attributes:
        recall_first: Whether identifier-shaped strings just after their cue
            are flagged even when they fail the checksum or prefix rule: true
            when ``config.policy`` is ``redact`` or ``block``.

    Example:
        >>> checker = IdentifierChecker(AnonymiseConfig(detect_names=False))
        >>> [f.kind for f in checker.find("Ring me on 07700 900123.")]
        ['PHONE']
    """

    def __init__(
        self,
        config: AnonymiseConfig | None = None,
        *,
        nlp: Language | PipelineView | None = None,
    ) -> None:
        self.config = config if config is not None else AnonymiseConfig()
        self._nlp = nlp
        self._lock = threading.Lock()
        self._kinds = frozenset(self.config.entity_types)
        self._allowlist = Allowlist(
            (
                *(
                    term
                    for group in self.config.allowlist_groups
                    for term in BUILTIN_ALLOWLISTS[group]
                ),
                *self.config.allowlist,
            )
        )
        # redact and block put recall first: cue rules apply (see patterns.CUE_RULES)
        self.recall_first = self.config.policy != "report"

    def __reduce__(self):
        # Picklable for process pools and Dask workers: the lock and the model
        # are not sent; a worker loads the model again on first use.
        return (type(self), (self.config,))

    def for_policy(self, policy: Policy) -> IdentifierChecker:
        """This checker with the rules of a policy (a loaded model is shared).

        ``report`` keeps the strict checksum and prefix rules; ``redact`` and
        ``block`` also flag identifier-shaped strings next to their cue.

        Args:
            policy: ``report``, ``redact`` or ``block``.

        Returns:
            ``self`` when its rules are already those of ``policy``, else a new
            checker whose config has that policy.
        """
        if (policy != "report") == self.recall_first:
            return self
        config = self.config.model_copy(update={"policy": policy})
        return IdentifierChecker(config, nlp=self._nlp)

    @cached_property
    def settings_key(self) -> str:
        """What findings depend on besides the speech: settings, model version, code.

        See :func:`~pipeline.store.cache_keys.identifier_settings_key`.
        """
        return identifier_settings_key(self.config, recall_first=self.recall_first)

    def check_key(self, transcript: Transcript) -> str:
        """Key of a document's check: its text, its turns and :attr:`settings_key`."""
        return identifier_check_key(self.settings_key, transcript)

    @property
    def uses_ner(self) -> bool:
        """Whether the spaCy model is used (names are checked and enabled)."""
        return self.config.detect_names and bool(self._kinds & NAME_KINDS)

    @property
    def nlp(self) -> Language | PipelineView:
        """The spaCy pipeline, loaded once with only what entity recognition needs.

        Raises:
            ModelError: The model is not installed or has no ``ner`` component.
        """
        with self._lock:
            if self._nlp is None:
                self._nlp = load_ner(self.config.spacy_model)
        return self._nlp

    def find(
        self, text: str, spans: Sequence[tuple[int, int]] | None = None
    ) -> list[Finding]:
        """Find identifiers in a string, or only within some spans of it.

        Args:
            text: The text to check.
            spans: ``(start, end)`` offsets of the parts to check (the speech
                of each turn); the whole text when ``None``.

        Returns:
            Findings sorted by offset, overlapping ones merged, with an empty
            ``document_id``.

        Raises:
            ValueError: A span is out of order or outside the text.
        """
        checked = _check_spans(text, [(0, len(text))] if spans is None else spans)
        docs = self._run_ner([text[start:end] for start, end in checked])
        return self._collect("", text, checked, docs)

    def check(self, transcript: Transcript) -> list[Finding]:
        """Find identifiers in the speech of one transcript (labels are skipped).

        Args:
            transcript: The document to check.

        Returns:
            Its findings, sorted by offset.
        """
        return self.check_many([transcript])

    def check_many(
        self,
        transcripts: Iterable[Transcript],
        *,
        cache: FindingsCache | None = None,
    ) -> list[Finding]:
        """Find identifiers in the speech of many transcripts.

        Entity recognition runs once over every turn of every document
        (``nlp.pipe``), which is much faster than one call per document.

        Args:
            transcripts: The documents to check.
            cache: Findings of earlier checks; only documents it does not
                hold are checked, and their findings are added to it.

        Returns:
            Every finding, in document order, then by offset.
        """
        transcripts = list(transcripts)
        if cache is None:
            return self._check_many(transcripts)
        keys = [self.check_key(t) for t in transcripts]
        known = cache.get_identifier_checks(list(dict.fromkeys(keys)))
        missing = {
            key: t for key, t in zip(keys, transcripts, strict=True) if key not in known
        }
        fresh: dict[str, list[CachedFinding]] = {key: [] for key in missing}
        by_document = {t.document_id: key for key, t in missing.items()}
        for finding in self._check_many(list(missing.values())) if missing else ():
            fresh[by_document[finding.document_id]].append(
                (finding.kind, finding.start, finding.end, finding.detector)
            )
        if fresh:
            cache.put_identifier_checks(fresh)
        known.update(fresh)
        logger.info(
            "anonymise: %d documents checked, %d found checked before",
            len(missing),
            len(transcripts) - len(missing),
        )
        return [
            Finding(
                document_id=t.document_id,
                kind=kind,
                start=start,
                end=end,
                detector=detector,
            )
            for key, t in zip(keys, transcripts, strict=True)
            for kind, start, end, detector in known[key]
        ]

    def _check_many(self, transcripts: list[Transcript]) -> list[Finding]:
        spans = [[(turn.start, turn.end) for turn in t.turns] for t in transcripts]
        texts = [
            t.text[start:end]
            for t, pairs in zip(transcripts, spans)
            for start, end in pairs
        ]
        docs = iter(self._run_ner(texts))
        findings: list[Finding] = []
        for transcript, pairs in zip(transcripts, spans):
            own = [next(docs) for _ in pairs]
            findings.extend(
                self._collect(transcript.document_id, transcript.text, pairs, own)
            )
        return findings

    # -- internals ---------------------------------------------------------

    def _run_ner(self, texts: list[str]) -> list[Doc | None]:
        if not self.uses_ner or not texts:
            return [None] * len(texts)
        # Entities need a capital letter to survive the filters below, so
        # all-lower-case turns ("yeah", "mm-hm") skip the model.
        # Identical turns (common in comment corpora) go through the model once.
        needed = list(
            dict.fromkeys(text for text in texts if any(c.isupper() for c in text))
        )
        parsed = dict(zip(needed, self.nlp.pipe(needed, batch_size=64), strict=True))
        docs: list[Doc | None] = [parsed.get(text) for text in texts]
        return docs

    def _collect(
        self,
        document_id: str,
        text: str,
        spans: Sequence[tuple[int, int]],
        docs: Sequence[Doc | None],
    ) -> list[Finding]:
        candidates: list[Candidate] = []
        for (start, end), doc in zip(spans, docs):
            speech = text[start:end]
            found = [
                *find_pattern_candidates(
                    speech, self._kinds, self._allowlist, recall_first=self.recall_first
                ),
                *find_name_candidates(speech, self._kinds, self._allowlist),
            ]
            if doc is not None:
                found.extend(
                    find_entity_candidates(speech, doc, self._kinds, self._allowlist)
                )
            # Anything inside square brackets is a placeholder, never flagged.
            placeholders = [m.span() for m in PLACEHOLDER.finditer(speech)]
            candidates.extend(
                c._replace(start=c.start + start, end=c.end + start)
                for c in found
                if not any(s <= c.start and c.end <= e for s, e in placeholders)
            )
        return [
            Finding(
                document_id=document_id,
                kind=c.kind,
                start=c.start,
                end=c.end,
                detector=c.detector,
            )
            for c in merge_candidates(candidates)
        ]


def _check_spans(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    checked = []
    for start, end in spans:
        if not 0 <= start <= end <= len(text):
            raise ValueError(
                f"span ({start}, {end}) is out of order or outside the text "
                f"({len(text)} characters); give 0 <= start <= end <= len(text)"
            )
        checked.append((int(start), int(end)))
    return checked
