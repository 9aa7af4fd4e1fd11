"""Find the identifiers that have a shape: numbers, addresses, e-mails, dates.

Each finder returns ``Candidate`` findings of one kind in a turn's speech;
:func:`find_pattern_candidates` runs those of the kinds checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pipeline.text.identifiers.allowlists import Allowlist
from pipeline.text.identifiers.findings import Candidate
from pipeline.text.identifiers.patterns import (
    BIRTH_WINDOW_AFTER,
    BIRTH_WINDOW_BEFORE,
    BIRTH_WORDS,
    CA_POSTCODE,
    CUE_RULES,
    CUE_WINDOW,
    DATE,
    DIGITS,
    EMAIL,
    NA_PHONE,
    NA_TOLL_FREE,
    NHS_NUMBER,
    NI_EXCLUDED_PREFIXES,
    NI_NUMBER,
    PHONE,
    POSTCODE,
    SENTENCE_BREAK,
    SIN,
    SSN,
    STREET_ADDRESS,
    URL,
    ZIP_AFTER_CUE,
    ZIP_AFTER_STATE,
    ZIP_AFTER_STREET_WINDOW,
    ZIP_SHAPE,
)
from pipeline.text.identifiers.validators import (
    is_valid_nhs_number,
    is_valid_sin,
    is_valid_ssn,
)


def find_pattern_candidates(
    speech: str, kinds: frozenset[str], allowlist: Allowlist, *, recall_first: bool
) -> Iterator[Candidate]:
    """Find the identifiers of the kinds checked that have a shape.

    Args:
        speech: The speech of one turn.
        kinds: The kinds checked (``AnonymiseConfig.entity_types``).
        allowlist: Terms never flagged (whole findings only).
        recall_first: Whether identifier-shaped strings just after their cue
            are flagged even when they fail the checksum or prefix rule.

    Yields:
        Candidates with offsets into ``speech``.
    """
    found: list[Candidate] = []
    if "EMAIL" in kinds:
        found += [
            Candidate("EMAIL", *m.span(), "pattern") for m in EMAIL.finditer(speech)
        ]
    if "URL" in kinds:
        found += _find_urls(speech)
    if "NHS_NUMBER" in kinds:
        found += [
            Candidate("NHS_NUMBER", *m.span(), "pattern")
            for m in NHS_NUMBER.finditer(speech)
            if is_valid_nhs_number(m.group())
        ]
    if "NI_NUMBER" in kinds:
        found += _find_ni_numbers(speech)
    if "SSN" in kinds:
        found += [
            Candidate("SSN", *m.span(), "pattern")
            for m in SSN.finditer(speech)
            if is_valid_ssn(m.group())
        ]
    if "SIN" in kinds:
        found += [
            Candidate("SIN", *m.span(), "pattern")
            for m in SIN.finditer(speech)
            if is_valid_sin(m.group())
        ]
    if "PHONE" in kinds:
        found += _find_phones(speech)
        found += _find_na_phones(speech)
    if "POSTCODE" in kinds:
        found += [
            Candidate("POSTCODE", *m.span(), "pattern")
            for m in POSTCODE.finditer(speech)
            if _plausible_postcode(m.group())
        ]
        # a Canadian postal code is written in capitals or in lower case
        found += [
            Candidate("POSTCODE", *m.span(), "pattern")
            for m in CA_POSTCODE.finditer(speech)
            if m.group() in (m.group().upper(), m.group().lower())
        ]
        found += _find_zip_codes(speech)
    if "DATE_OF_BIRTH" in kinds:
        found += _find_dates_of_birth(speech)
    if recall_first:
        found += _find_cued(speech, kinds)
    for candidate in found:
        fragment = speech[candidate.start : candidate.end]
        if not allowlist.is_listed(fragment):
            yield candidate


def _find_urls(speech: str) -> list[Candidate]:
    found = []
    for match in URL.finditer(speech):
        start, end = match.span()
        # Sentence punctuation after a link is not part of it; a closing
        # bracket is, when the link opened one.
        while end > start and speech[end - 1] in ".,;:!?'\"”’)":
            if speech[end - 1] == ")" and speech.count("(", start, end) >= speech.count(
                ")", start, end
            ):
                break
            end -= 1
        if end - start > 4:
            found.append(Candidate("URL", start, end, "pattern"))
    return found


def _find_ni_numbers(speech: str) -> list[Candidate]:
    found = []
    for match in NI_NUMBER.finditer(speech):
        prefix = (match.group("prefix") or match.group("lower") or "").upper()
        letters_ok = re.fullmatch(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]", prefix)
        if letters_ok and prefix not in NI_EXCLUDED_PREFIXES:
            found.append(Candidate("NI_NUMBER", *match.span(), "pattern"))
    return found


def _plausible_postcode(postcode: str) -> bool:
    # "A1 2nd" and "M1 1st" are ordinals in lower case, not postcodes.
    return not (
        postcode != postcode.upper()
        and re.search(r"\d(?:st|nd|rd|th)$", postcode, re.IGNORECASE)
    )


def _find_na_phones(speech: str) -> list[Candidate]:
    found = []
    for match in NA_PHONE.finditer(speech):
        area = match.group("bracketed") or match.group("area")
        sep = match.group("sep")
        if area in NA_TOLL_FREE:
            continue
        if sep is not None and sep != match.group("sep2"):
            continue
        if sep == " " and not (match.group("country") or "").startswith("+"):
            continue
        found.append(Candidate("PHONE", *match.span(), "pattern"))
    return found


def _find_zip_codes(speech: str) -> list[Candidate]:
    """ZIP codes after a state or a zip-code cue, or soon after a street address."""
    spans = {
        match.span("zip")
        for pattern in (ZIP_AFTER_STATE, ZIP_AFTER_CUE)
        for match in pattern.finditer(speech)
    }
    for street in STREET_ADDRESS.finditer(speech):
        limit = street.end() + ZIP_AFTER_STREET_WINDOW
        for match in ZIP_SHAPE.finditer(speech, street.end(), limit):
            if not SENTENCE_BREAK.search(speech, street.end(), match.start()):
                spans.add(match.span("zip"))
            break
    return [
        Candidate("POSTCODE", start, end, "pattern") for start, end in sorted(spans)
    ]


def _find_phones(speech: str) -> list[Candidate]:
    found = []
    for match in PHONE.finditer(speech):
        rest_start = match.start("rest")
        groups = list(DIGITS.finditer(match.group("rest")))
        first = groups[0].group()[0]
        n_digits = 0
        best_end = None
        for group in groups:
            n_digits += len(group.group())
            if n_digits > 10:
                break
            if (first in "237" and n_digits == 10) or (
                first == "1" and n_digits in (9, 10)
            ):
                best_end = rest_start + group.end()
        if best_end is not None:
            found.append(Candidate("PHONE", match.start(), best_end, "pattern"))
    return found


def _find_dates_of_birth(speech: str) -> list[Candidate]:
    if not BIRTH_WORDS.search(speech):
        return []
    found = []
    for match in DATE.finditer(speech):
        start, end = match.span()
        if start < len(speech) and speech[start : start + 4].casefold() == "the ":
            start += 4
        if _near_birth_word(speech, start, end):
            found.append(Candidate("DATE_OF_BIRTH", start, end, "pattern"))
    return found


def _find_cued(speech: str, kinds: frozenset[str]) -> list[Candidate]:
    """Identifier-shaped strings starting within ``CUE_WINDOW`` after a cue."""
    found = []
    for kind, cue, shape in CUE_RULES:
        if kind not in kinds:
            continue
        for cue_match in cue.finditer(speech):
            limit = cue_match.end() + CUE_WINDOW
            for match in shape.finditer(speech, cue_match.end()):
                if match.start() > limit:
                    break
                found.append(Candidate(kind, *match.span(), "pattern"))
    return found


def _near_birth_word(speech: str, start: int, end: int) -> bool:
    """A birth word within a few words before or after, in the same sentence."""
    window_start = max(0, start - BIRTH_WINDOW_BEFORE)
    for word in BIRTH_WORDS.finditer(speech, window_start, start):
        if not SENTENCE_BREAK.search(speech, word.end(), start):
            return True
    window_end = min(len(speech), end + BIRTH_WINDOW_AFTER)
    for word in BIRTH_WORDS.finditer(speech, end, window_end):
        if not SENTENCE_BREAK.search(speech, end, word.start()):
            return True
    return False
