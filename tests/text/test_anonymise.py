from __future__ import annotations

import dataclasses
import logging
import pickle
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config.inputs import AnonymiseConfig
from pipeline.config.run import PipelineConfig, load_config
from pipeline.errors import ConfigError, ModelError
from pipeline.records import Transcript
from pipeline.text.identifiers.checker import IdentifierChecker
from pipeline.text.identifiers.findings import FINDING_COLUMNS, KINDS, Finding
from pipeline.text.identifiers.policy import apply_policy
from pipeline.text.identifiers.redaction import OffsetMap, redact, redact_transcript
from pipeline.text.identifiers.validators import (
    is_valid_nhs_number,
    is_valid_sin,
    is_valid_ssn,
)
from tests.conftest import DATA
from tests.text.test_segment import transcript_from_text

FIXTURES = DATA / "anonymise"


# -- helpers -------------------------------------------------------------------


def nhs_check_digit(nine_digits: str) -> int | None:
    """The modulus-11 check digit of the NHS number, or None if none is valid."""
    total = sum(int(d) * w for d, w in zip(nine_digits, range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def valid_nhs_numbers(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    numbers = []
    while len(numbers) < n:
        nine = "".join(str(rng.randrange(10)) for _ in range(9))
        check = nhs_check_digit(nine)
        if check is not None:
            numbers.append(nine + str(check))
    return numbers


def with_bad_check_digit(number: str) -> str:
    return number[:9] + str((int(number[9]) + 1) % 10)


def interview(*answers: str, document_id: str = "doc") -> Transcript:
    lines = []
    for answer in answers:
        lines += ["Interviewer: Could you tell me more?", f"P07: {answer}"]
    return transcript_from_text("\n\n".join(lines), document_id)


@pytest.fixture(scope="module")
def checker() -> IdentifierChecker:
    """Patterns only: no model is loaded."""
    return IdentifierChecker(AnonymiseConfig(detect_names=False))


@pytest.fixture(scope="module")
def ruler_nlp():
    """A blank pipeline whose entity ruler stands in for the NER model (fast)."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": "Jane Doe"},
            {"label": "PERSON", "pattern": "Mary Seacole"},
            {"label": "ORG", "pattern": "NHS England"},
            {"label": "ORG", "pattern": "the Trust"},
            {"label": "ORG", "pattern": "Acme Widgets"},
            {"label": "ORG", "pattern": [{"LIKE_EMAIL": True}]},
            {"label": "GPE", "pattern": "Wakefield"},
            {"label": "FAC", "pattern": "[Hospital B]"},
            {"label": "GPE", "pattern": "reflux"},
            {"label": "NORP", "pattern": "Welsh"},
        ]
    )
    return nlp


def spans_of(text: str, findings) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start : f.end]) for f in findings]


# -- patterns ------------------------------------------------------------------

NHS = valid_nhs_numbers(3)
NHS_SPACED = f"{NHS[0][:3]} {NHS[0][3:6]} {NHS[0][6:]}"
NHS_DASHED = f"{NHS[1][:3]}-{NHS[1][3:6]}-{NHS[1][6:]}"

FOUND = [
    ("EMAIL", "Email me at jo.bloggs@nhs.net, any time.", "jo.bloggs@nhs.net"),
    ("EMAIL", "It's SAM_LEE81@hotmail.co.uk.", "SAM_LEE81@hotmail.co.uk"),
    ("PHONE", "My mobile is 07700 900123.", "07700 900123"),
    ("PHONE", "Try 07700900123 instead.", "07700900123"),
    ("PHONE", "Ring 07700 900 123 please.", "07700 900 123"),
    ("PHONE", "Ring 07700-900-123 please.", "07700-900-123"),
    ("PHONE", "Call +44 7700 900123 from abroad.", "+44 7700 900123"),
    ("PHONE", "Call +44 (0)20 7946 0958 now.", "+44 (0)20 7946 0958"),
    ("PHONE", "The office is (020) 7946 0958.", "(020) 7946 0958"),
    ("PHONE", "Birmingham is 0121 496 0000.", "0121 496 0000"),
    ("PHONE", "Ring (01632) 960123 or not.", "(01632) 960123"),
    ("PHONE", "The line is 0300 123 4567.", "0300 123 4567"),
    ("POSTCODE", "Send it to SW1A 1AA please.", "SW1A 1AA"),
    ("POSTCODE", "We're at M1 1AE now.", "M1 1AE"),
    ("POSTCODE", "It's B33 8TH, I think.", "B33 8TH"),
    ("POSTCODE", "it's ls1 4ap in lower case", "ls1 4ap"),
    ("POSTCODE", "Compact EC1A1BB too.", "EC1A1BB"),
    ("NHS_NUMBER", f"His number is {NHS_SPACED}.", NHS_SPACED),
    ("NHS_NUMBER", f"Or {NHS_DASHED} with dashes.", NHS_DASHED),
    ("NHS_NUMBER", f"Or {NHS[2]} run together.", NHS[2]),
    ("NI_NUMBER", "My NI is AB 12 34 56 C, that one.", "AB 12 34 56 C"),
    ("NI_NUMBER", "Written JK123456D on the form.", "JK123456D"),
    ("NI_NUMBER", "or lower case, ce123456a.", "ce123456a"),
    ("DATE_OF_BIRTH", "I was born on 12/03/1985 in the old unit.", "12/03/1985"),
    ("DATE_OF_BIRTH", "DOB: 3rd of May 1979.", "3rd of May 1979"),
    ("DATE_OF_BIRTH", "My date of birth is 4 July 1990.", "4 July 1990"),
    ("DATE_OF_BIRTH", "My birthday's on March 12th, so soon.", "March 12th"),
    ("DATE_OF_BIRTH", "12.03.85 is my birthday.", "12.03.85"),
    ("URL", "See https://www.example.org/a?b=1.", "https://www.example.org/a?b=1"),
    ("URL", "It's on www.leeds-health.co.uk, look.", "www.leeds-health.co.uk"),
    ("URL", "Try example.co.uk/page for it.", "example.co.uk/page"),
    ("PERSON", "I spoke to Jane Whitcombe about it.", "Jane Whitcombe"),
    ("PERSON", "Then Dr Okonjo said no.", "Okonjo"),
    ("PERSON", "I went to see Mr Ward about it.", "Ward"),
    ("PERSON", "My manager, Sarah O'Neill, was great.", "Sarah O'Neill"),
    ("PERSON", "There's a nurse called Jo on nights.", "Jo"),
    ("PLACE", "We moved to Reading when the kids were small.", "Reading"),
    ("ORGANISATION", "Before that I worked at Barclays for years.", "Barclays"),
    # North American forms
    ("PHONE", "Call (555) 123-4567 after five.", "(555) 123-4567"),
    ("PHONE", "My cell is 555-123-4567.", "555-123-4567"),
    ("PHONE", "From Canada dial +1 555 123 4567.", "+1 555 123 4567"),
    ("PHONE", "Or 555.123.4567 at work.", "555.123.4567"),
    ("PHONE", "It's +1 (416) 555-0199, ask for me.", "+1 (416) 555-0199"),
    ("PHONE", "Dial 1-416-555-0199 now.", "1-416-555-0199"),
    ("SSN", "It was 123-45-6789 on the form.", "123-45-6789"),
    ("SSN", "Written 078 05 1120 with spaces.", "078 05 1120"),
    ("SIN", "Mine is 123 456 782, the card says.", "123 456 782"),
    ("SIN", "Or 130-692-544 with dashes.", "130-692-544"),
    ("POSTCODE", "It's in Austin, TX 78701 now.", "78701"),
    ("POSTCODE", "Columbus, Ohio 43215-1234 was the address.", "43215-1234"),
    ("POSTCODE", "and my zip code is 02138, so", "02138"),
    ("POSTCODE", "The office is K1A 0B1 in Ottawa.", "K1A 0B1"),
    ("POSTCODE", "it's m5v 3l9 in lower case", "m5v 3l9"),
]


@pytest.mark.parametrize(("kind", "text", "identifier"), FOUND)
def test_find_gives_kind_and_exact_offsets(checker, kind, text, identifier):
    findings = checker.find(text)
    start = text.index(identifier)
    assert [(f.kind, f.start, f.end, f.detector) for f in findings] == [
        (kind, start, start + len(identifier), "pattern")
    ]


NOT_FOUND = [
    ("NHS number with a wrong check digit", f"It was {with_bad_check_digit(NHS[0])}."),
    (
        "spaced NHS number with a wrong check digit",
        "It was {} {} {}.".format(
            *[with_bad_check_digit(NHS[1])[i:j] for i, j in ((0, 3), (3, 6), (6, 10))]
        ),
    ),
    ("a date with no birth word", "We met on 12/03/1985 and again on 3rd May 1990."),
    ("a birth word in another sentence", "I was born here. We moved on 12/03/1985."),
    ("a year of birth only", "I was born in 1975."),
    ("NHS terms", "The NHS and NHS England, the GP, the CCG, the ICS and A&E."),
    ("placeholders", "I worked at [Trust A] with [Name] and [Hospital B]."),
    ("anything in square brackets", "Then [Dr Jane Whitcombe on 07700 900123] left."),
    (
        "programme names",
        "I spoke to Mary Seacole people and did Elizabeth Garrett Anderson.",
    ),
    ("the Trust as a word", "I talked to the Trust Board about it."),
    ("NI number with a disallowed prefix", "GB 12 34 56 A and QQ 12 34 56 C."),
    ("too few digits for a phone", "Ring 0770 0900 or 0121 496."),
    ("freephone and money", "Call 0800 123 4567, it costs £0.50."),
    ("ordinals are not postcodes", "the A1 2nd junction and the m1 1st exit"),
    ("lower-case entities", "we spoke to people about it and went home"),
    ("a capitalised word at sentence start", "Digital is hard. Rotas are worse."),
    ("a five-digit number that is not a ZIP", "We had 12345 replies, 90210 in May."),
    ("a state with a year, not a ZIP", "In IN 2020 and Ohio 2021 it rained."),
    ("unissued SSNs", "666-12-3456, 000-12-3456, 912-34-5678, 123-00-4567."),
    ("an SSN with serial 0000", "Then 123-45-0000 on the form."),
    ("a SIN with a wrong check digit", "It was 123 456 789 I think."),
    ("a SIN starting with 0 or 8", "Either 000 000 000 or 800 000 004."),
    ("nine digits run together without a cue", "Ticket 123456782 was closed."),
    ("a spaced 3-3-4 number without +1", "It was 555 123 4567 or so."),
    ("a North American toll-free number", "Call 1-800-555-1234 or (888) 555-1234."),
    ("a postal code in mixed case", "The code K1a 0B1 was wrong."),
]


@pytest.mark.parametrize(("why", "text"), NOT_FOUND, ids=[w for w, _ in NOT_FOUND])
def test_find_ignores_near_misses(checker, why, text):
    assert spans_of(text, checker.find(text)) == []


def test_nhs_number_check_digit_matches_the_modulus_11_rule():
    rng = random.Random(3)
    for _ in range(2000):
        nine = "".join(str(rng.randrange(10)) for _ in range(9))
        check = nhs_check_digit(nine)
        for last in range(10):
            assert is_valid_nhs_number(nine + str(last)) == (check == last)
    assert is_valid_nhs_number("943 476 5919")
    assert not is_valid_nhs_number("943 476 591")
    assert not is_valid_nhs_number("9434765919 1")


def test_find_checks_only_the_given_spans(checker):
    text = "Email a@b.com. Email c@d.com."
    second = text.index("Email c")
    findings = checker.find(text, [(second, len(text))])
    assert spans_of(text, findings) == [("EMAIL", "c@d.com")]
    with pytest.raises(ValueError, match="outside the text"):
        checker.find(text, [(0, len(text) + 1)])


def test_check_skips_speaker_labels_and_offsets_point_into_the_document(checker):
    transcript = transcript_from_text(
        "Dr Okafor: Did you use email?\n\nRespondent 03: Yes, jo@nhs.net mostly."
    )
    findings = checker.check(transcript)
    assert spans_of(transcript.text, findings) == [("EMAIL", "jo@nhs.net")]
    assert findings[0].document_id == "doc"
    # the same text checked whole finds the name in the label
    assert ("PERSON", "Okafor") in spans_of(
        transcript.text, checker.find(transcript.text)
    )


def test_config_allowlist_is_case_insensitive(checker):
    text = "I spoke to Jane Whitcombe and see www.example.org."
    assert len(checker.find(text)) == 2
    relaxed = IdentifierChecker(
        AnonymiseConfig(
            detect_names=False, allowlist=("jane whitcombe", "WWW.EXAMPLE.ORG")
        )
    )
    assert relaxed.find(text) == []


def test_entity_types_limit_the_kinds_checked():
    only_email = IdentifierChecker(
        AnonymiseConfig(detect_names=False, entity_types=("EMAIL",))
    )
    text = "Mail a@b.com or ring 07700 900123; I spoke to Jane Whitcombe."
    assert [f.kind for f in only_email.find(text)] == ["EMAIL"]


def test_overlapping_findings_are_merged_and_patterns_win_over_ner(ruler_nlp):
    checker = IdentifierChecker(AnonymiseConfig(), nlp=ruler_nlp)
    text = "Write to jane.doe@acme.com or Jane Doe at Acme Widgets in Wakefield."
    assert spans_of(text, checker.find(text)) == [
        ("EMAIL", "jane.doe@acme.com"),
        ("PERSON", "Jane Doe"),
        ("ORGANISATION", "Acme Widgets"),
        ("PLACE", "Wakefield"),
    ]
    detectors = [f.detector for f in checker.find(text)]
    assert detectors == ["pattern", "ner", "ner", "ner"]


def test_ner_findings_respect_allowlist_placeholders_and_capitals(ruler_nlp):
    checker = IdentifierChecker(AnonymiseConfig(), nlp=ruler_nlp)
    text = (
        "NHS England and the Trust ran Mary Seacole at [Hospital B]; "
        "reflux is common, and Welsh is spoken."
    )
    assert checker.find(text) == []


def test_checker_never_loads_a_model_when_names_are_off():
    checker = IdentifierChecker(
        AnonymiseConfig(detect_names=False, spacy_model="no_such_model_here")
    )
    assert not checker.uses_ner
    assert [f.kind for f in checker.find("a@b.com")] == ["EMAIL"]


def test_missing_model_raises_a_model_error():
    checker = IdentifierChecker(AnonymiseConfig(spacy_model="no_such_model_here"))
    with pytest.raises(ModelError, match="no_such_model_here"):
        checker.find("I spoke to someone.")


def test_check_many_equals_check_of_each(ruler_nlp):
    checker = IdentifierChecker(AnonymiseConfig(), nlp=ruler_nlp)
    transcripts = [
        interview("I met Jane Doe in Wakefield.", document_id="a"),
        interview("Nothing here.", document_id="b"),
        interview(
            "Mail jane.doe@acme.com.", "Acme Widgets, 07700 900123.", document_id="c"
        ),
    ]
    assert checker.check_many(transcripts) == [
        f for t in transcripts for f in checker.check(t)
    ]


def test_checker_pickles_without_its_model(ruler_nlp):
    checker = IdentifierChecker(AnonymiseConfig(detect_names=False), nlp=ruler_nlp)
    copy = pickle.loads(pickle.dumps(checker))
    assert copy.config == checker.config
    assert copy.find("a@b.com") == checker.find("a@b.com")


def test_ssn_rules_reject_numbers_never_issued():
    assert is_valid_ssn("123-45-6789")
    assert is_valid_ssn("899 99 9999")
    for number in ("000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456"):
        assert not is_valid_ssn(number)
    assert not is_valid_ssn("123-00-4567")
    assert not is_valid_ssn("123-45-0000")
    assert not is_valid_ssn("123-45-678")
    assert not is_valid_ssn("123-45-6789 1")


def test_sin_check_digit_follows_luhn():
    assert is_valid_sin("123 456 782")
    assert is_valid_sin("130-692-544")
    assert not is_valid_sin("046 454 286")  # 0: never given to a person
    assert not is_valid_sin("123 456 789")
    assert not is_valid_sin("823 456 782")  # 8: business numbers, not people
    assert not is_valid_sin("123 456 78")
    rng = random.Random(5)
    for _ in range(500):
        body = "".join(str(rng.randrange(10)) for _ in range(8))
        valid = [d for d in "0123456789" if is_valid_sin("1" + body[1:] + d)]
        assert len(valid) == 1  # exactly one check digit fits


def test_zip_codes_are_taken_after_a_street_address(checker):
    text = "We were at 12 Elm Street, Dayton 45402 for years."
    found = spans_of(text, checker.find(text))
    assert ("POSTCODE", "45402") in found
    # the same number in another sentence is not in the address
    text = "We were at 12 Elm Street. There were 45402 of us."
    assert "POSTCODE" not in [kind for kind, _ in spans_of(text, checker.find(text))]


# -- what is never flagged: placeholders and the built-in allowlists -------------

PLACEHOLDERS = (
    "X",
    "XX",
    "XXX",
    "[name]",
    "[NAME]",
    "<PERSON>",
    "<name>",
    "***",
    "[redacted]",
    "{name}",
    "Participant X",
    "Dr. X",
    "Mr X",
    "XX Hospital",
)


@pytest.fixture(scope="module")
def placeholder_nlp():
    """A recogniser that tags every placeholder as a person, as a model might."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [{"label": "PERSON", "pattern": text} for text in PLACEHOLDERS]
        + [{"label": "PERSON", "pattern": "Jane Doe"}]
    )
    return nlp


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_placeholders_are_never_flagged(placeholder_nlp, placeholder):
    checker = IdentifierChecker(AnonymiseConfig(), nlp=placeholder_nlp)
    text = f"Then I spoke to {placeholder} about it, and to Jane Doe."
    assert spans_of(text, checker.find(text)) == [("PERSON", "Jane Doe")]


def test_addresses_in_angle_brackets_are_still_checked(checker):
    text = "Write to <jo.bloggs@nhs.net> or see <https://example.org/team>."
    assert [kind for kind, _ in spans_of(text, checker.find(text))] == [
        "EMAIL",
        "URL",
    ]


DEFAULT_ALLOWED = (
    ("ORG", "IRB"),
    ("ORG", "NIH"),
    ("ORG", "the National Institutes of Health"),
    ("ORG", "SSHRC"),
    ("ORG", "Wellcome"),
    ("ORG", "CDC"),
    ("ORG", "Medicaid"),
    ("ORG", "YouTube"),
    ("ORG", "GitHub"),
    ("ORG", "Qualtrics"),
    ("ORG", "ATLAS.ti"),
    ("PERSON", "Google Scholar"),
    ("GPE", "United States"),
    ("GPE", "Ontario"),
)


@pytest.fixture(scope="module")
def allowlist_nlp():
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": label, "pattern": t} for label, t in DEFAULT_ALLOWED])
    return nlp


@pytest.mark.parametrize(("label", "term"), DEFAULT_ALLOWED)
def test_default_allowlist_terms_are_not_flagged(allowlist_nlp, label, term):
    text = f"We talked about {term} a lot in that meeting."
    assert IdentifierChecker(AnonymiseConfig(), nlp=allowlist_nlp).find(text) == []
    without = IdentifierChecker(AnonymiseConfig(allowlist_groups=()), nlp=allowlist_nlp)
    assert len(without.find(text)) == 1


def test_allowlist_groups_can_be_left_out_and_the_user_allowlist_still_works(
    allowlist_nlp,
):
    text = "The IRB wanted GitHub links, and we flew in from Ontario."
    research_only = IdentifierChecker(
        AnonymiseConfig(allowlist_groups=("research",)), nlp=allowlist_nlp
    )
    assert [v for _, v in spans_of(text, research_only.find(text))] == [
        "GitHub",
        "Ontario",
    ]
    own = IdentifierChecker(
        AnonymiseConfig(allowlist_groups=("research",), allowlist=("github",)),
        nlp=allowlist_nlp,
    )
    assert [v for _, v in spans_of(text, own.find(text))] == ["Ontario"]


def test_allowlist_name_patterns_respect_whole_allowed_phrases(checker):
    # "North Korea" is allowed as a whole; "Korea" alone must not cut it to "North"
    text = "We had colleagues in North Korea and South Africa, and in Sam Lee's team."
    assert spans_of(text, checker.find(text)) == [("PERSON", "Sam Lee")]


def test_allowlist_groups_are_defined_once_and_change_the_settings_key(ruler_nlp):
    from typing import get_args

    from pipeline.config.inputs import AllowlistGroup
    from pipeline.text.identifiers.allowlists import BUILTIN_ALLOWLISTS

    assert tuple(BUILTIN_ALLOWLISTS) == get_args(AllowlistGroup)
    assert AnonymiseConfig().allowlist_groups == get_args(AllowlistGroup)
    default = IdentifierChecker(AnonymiseConfig(), nlp=ruler_nlp)
    fewer = IdentifierChecker(AnonymiseConfig(allowlist_groups=("nhs",)), nlp=ruler_nlp)
    assert default.settings_key != fewer.settings_key
    with pytest.raises(ConfigError, match="anonymise.allowlist_groups"):
        load_config(overrides={"anonymise.allowlist_groups": ["nhs", "sports"]})


# -- config --------------------------------------------------------------------


def test_anonymise_config_defaults_and_strictness():
    assert PipelineConfig().anonymise == AnonymiseConfig()
    assert AnonymiseConfig().policy == "report"
    assert set(AnonymiseConfig().entity_types) == set(KINDS)
    with pytest.raises(ConfigError, match="anonymise.entity_types"):
        load_config(overrides={"anonymise.entity_types": ["PASSPORT"]})
    with pytest.raises(ConfigError, match="anonymise.policy"):
        load_config(overrides={"anonymise.policy": "delete"})
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(overrides={"anonymise.detect_people": True})


# -- redaction -----------------------------------------------------------------


def finding(kind: str, start: int, end: int, document_id: str = "") -> Finding:
    return Finding(
        document_id=document_id, kind=kind, start=start, end=end, detector="pattern"
    )


def test_redact_puts_placeholders_in_the_text(checker):
    text = "Mail jo@nhs.net or ring 07700 900123 at SW1A 1AA."
    redacted = redact(text, checker.find(text))
    assert redacted.text == "Mail [EMAIL] or ring [PHONE] at [POSTCODE]."


def test_offset_map_before_inside_and_after_a_redaction():
    text = "abc NAME xyz"
    redacted = redact(text, [finding("PERSON", 4, 8)])
    assert redacted.text == "abc [PERSON] xyz"
    offsets = redacted.offsets
    assert offsets.map(0) == 0
    assert offsets.map(3) == 3
    assert offsets.map(4) == 4  # the start of the redacted part
    assert offsets.map(6) == 4  # inside: the placeholder's start...
    assert offsets.map(6, side="right") == 12  # ...or its end
    assert offsets.map(8) == 12  # the end of the redacted part
    assert offsets.map(9) == 13
    assert offsets.map(len(text)) == len(redacted.text)
    assert offsets.map_span(5, 10) == (4, 14)  # widened over the placeholder
    assert offsets.map_span(0, 4) == (0, 4)  # touching: not widened
    assert offsets.map_span(8, 12) == (12, 16)
    assert offsets.new_length == len(redacted.text)
    with pytest.raises(ValueError, match="outside the text"):
        offsets.map(len(text) + 1)


def test_offset_map_vectorised_matches_scalar():
    text = "x" * 200
    findings = [
        finding("PHONE", 10, 25),
        finding("EMAIL", 30, 31),
        finding("URL", 100, 180),
    ]
    offsets = redact(text, findings).offsets
    everything = np.arange(len(text) + 1)
    for side in ("left", "right"):
        expected = [offsets.map(int(o), side=side) for o in everything]
        assert offsets.map_many(everything, side=side).tolist() == expected
    spans = np.array([[0, 5], [5, 12], [26, 30], [31, 200]])
    assert offsets.map_spans(spans).tolist() == [
        list(offsets.map_span(int(a), int(b))) for a, b in spans
    ]
    identity = OffsetMap.identity(10)
    assert identity.map_many([0, 5, 10]).tolist() == [0, 5, 10]


@st.composite
def texts_turns_and_findings(draw):
    """A text cut into turns, with non-overlapping findings inside the turns."""
    text = draw(st.text(alphabet="ab \n.é", min_size=0, max_size=120))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    bounds = [0, *cuts, len(text)]
    turns = [(a, b) for a, b in zip(bounds, bounds[1:]) if a <= b]
    findings = []
    for start, end in turns:
        if end - start < 1:
            continue
        points = sorted(draw(st.sets(st.integers(start, end), max_size=6)))
        for a, b in zip(points[0::2], points[1::2]):
            if b > a:
                kind = draw(st.sampled_from(KINDS))
                findings.append(finding(kind, a, b))
    return text, turns, findings


@settings(max_examples=200, deadline=None)
@given(texts_turns_and_findings())
def test_mapped_turn_spans_give_the_redacted_speech(case):
    text, turns, findings = case
    redacted = redact(text, findings)
    for start, end in turns:
        inside = [
            dataclasses.replace(f, start=f.start - start, end=f.end - start)
            for f in findings
            if start <= f.start and f.end <= end
        ]
        new_start, new_end = redacted.offsets.map_span(start, end)
        assert redacted.text[new_start:new_end] == redact(text[start:end], inside).text
    # text outside the findings is kept, in order, and each kept character
    # maps to itself
    kept = [
        i for i in range(len(text)) if not any(f.start <= i < f.end for f in findings)
    ]
    mapped = redacted.offsets.map_many(kept)
    assert [redacted.text[j] for j in mapped] == [text[i] for i in kept]
    assert list(mapped) == sorted(mapped)
    placeholders = "".join(f"[{f.kind}]" for f in findings)
    assert len(redacted.text) == len(kept) + len(placeholders)


def test_redact_rejects_findings_outside_the_text():
    with pytest.raises(ValueError, match="outside the text"):
        redact("short", [finding("EMAIL", 2, 10)])


def test_redact_transcript_maps_turns_and_leaves_the_original(checker):
    transcript = interview(
        "Mail jo@nhs.net or 07700 900123.", "No identifiers here.", "Try SW1A 1AA."
    )
    findings = checker.check(transcript)
    redacted = redact_transcript(transcript, findings)
    speech = [redacted.text[t.start : t.end] for t in redacted.turns]
    assert speech[1] == "Mail [EMAIL] or [PHONE]."
    assert speech[3] == "No identifiers here."
    assert speech[5] == "Try [POSTCODE]."
    assert [t.speaker for t in redacted.turns] == [t.speaker for t in transcript.turns]
    assert "jo@nhs.net" in transcript.text  # the input is unchanged
    assert "EMAIL 1" in redacted.notes[-1] and "jo@" not in redacted.notes[-1]
    other = dataclasses.replace(findings[0], document_id="someone-else")
    with pytest.raises(ValueError, match="someone-else"):
        redact_transcript(transcript, [other])


# -- policies ------------------------------------------------------------------

IDENTIFIERS = ("jo.bloggs@nhs.net", "07700 900123", "Jane Whitcombe")


@pytest.fixture()
def corpus() -> list[Transcript]:
    return [
        interview(
            f"Mail {IDENTIFIERS[0]}, or ring {IDENTIFIERS[1]}.",
            f"I spoke to {IDENTIFIERS[2]} about it.",
            document_id="M01",
        ),
        interview("I worked at [Trust A] with the GP.", document_id="M02"),
    ]


def test_report_policy_leaves_the_text_unchanged(checker, corpus):
    result = apply_policy(corpus, checker, "report")
    assert result.transcripts == tuple(corpus)
    assert result.quarantined == ()
    assert result.counts() == {"M01": {"EMAIL": 1, "PHONE": 1, "PERSON": 1}, "M02": {}}


def test_redact_policy_changes_text_and_keeps_turns_consistent(checker, corpus):
    result = apply_policy(corpus, checker, "redact")
    first, second = result.transcripts
    assert second is corpus[1]
    assert not any(identifier in first.text for identifier in IDENTIFIERS)
    assert first.text[first.turns[1].start : first.turns[1].end] == (
        "Mail [EMAIL], or ring [PHONE]."
    )
    assert first.text[first.turns[3].start : first.turns[3].end] == (
        "I spoke to [PERSON] about it."
    )
    # checking the redacted text again finds nothing
    assert checker.check(first) == []


def test_block_policy_quarantines_with_counts_and_never_the_identifier(checker, corpus):
    result = apply_policy(corpus, checker, "block")
    assert [t.document_id for t in result.transcripts] == ["M02"]
    (blocked,) = result.quarantined
    assert blocked.source == "M01.txt"
    assert "3 possible identifiers" in blocked.reason
    assert "PERSON 1" in blocked.reason and "EMAIL 1" in blocked.reason
    assert not any(identifier in blocked.reason for identifier in IDENTIFIERS)


def test_policy_defaults_to_the_config_and_rejects_unknown_ones(corpus):
    checker = IdentifierChecker(AnonymiseConfig(detect_names=False, policy="block"))
    assert apply_policy(corpus, checker).policy == "block"
    with pytest.raises(ValueError, match="policy"):
        apply_policy(corpus, checker, "shred")


# -- redact and block put recall first: cue rules ------------------------------

# Identifier-shaped, next to their cue, but not real by the strict rules: QQ is
# not an allocated NI prefix, the NHS number fails the modulus-11 check, 0800
# is not a number the strict phone rule takes.
CUED = ("QQ 12 34 56 C", with_bad_check_digit(valid_nhs_numbers(1)[0]), "0800 123 4567")


@pytest.fixture()
def cued_corpus() -> list[Transcript]:
    return [
        interview(
            f"My national insurance number is {CUED[0]}, I think.",
            f"Well my NHS number is {CUED[1]} if that helps.",
            f"Her mobile is {CUED[2]}.",
            document_id="C01",
        ),
        interview(
            "The figure was QQ 12 34 56 C on the form.",
            "We logged it as ticket 1234567890 in Datix.",
            document_id="C02",
        ),
    ]


def test_redact_removes_cued_identifiers_that_fail_checksum_or_prefix_rules(
    checker, cued_corpus
):
    assert not is_valid_nhs_number(CUED[1])
    result = apply_policy(cued_corpus, checker, "redact")
    redacted, unchanged = result.transcripts
    assert not any(identifier in redacted.text for identifier in CUED)
    assert result.counts()["C01"] == {"NI_NUMBER": 1, "NHS_NUMBER": 1, "PHONE": 1}
    assert "[NI_NUMBER], I think." in redacted.text
    # the same shapes with no cue before them stay (no strict rule flags them)
    assert unchanged is cued_corpus[1]
    assert result.counts()["C02"] == {}


def test_block_blocks_a_document_with_cued_identifiers(checker, cued_corpus):
    result = apply_policy(cued_corpus, checker, "block")
    assert [t.document_id for t in result.transcripts] == ["C02"]
    (blocked,) = result.quarantined
    assert "3 possible identifiers" in blocked.reason
    assert not any(identifier in blocked.reason for identifier in CUED)


def test_report_keeps_the_strict_rules(cued_corpus):
    checker = IdentifierChecker(AnonymiseConfig(detect_names=False, policy="block"))
    result = apply_policy(cued_corpus, checker, "report")
    assert result.counts() == {"C01": {}, "C02": {}}
    assert result.transcripts == tuple(cued_corpus)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NI number qq123456c.", [("NI_NUMBER", "qq123456c")]),
        ("NHS no. 1234567890", [("NHS_NUMBER", "1234567890")]),
        ("tel: (01632) 960 001", [("PHONE", "(01632) 960 001")]),
        ("call me on 7700 900 123", [("PHONE", "7700 900 123")]),
        ("DOB? Oh, 31/13/1985.", [("DATE_OF_BIRTH", "31/13/1985")]),
        ("born on 1985-13-01", [("DATE_OF_BIRTH", "1985-13-01")]),
        # a cue too far before the shape, or a shape before its cue
        (f"NHS number, well, {'we never used it really ' * 2}1234567890", []),
        ("1234567890 is not my NHS number", []),
        ("National insurance went up by 12 per cent in 2022.", []),
        ("My SSN is 123456789.", [("SSN", "123456789")]),
        ("social security number 666-12-3456", [("SSN", "666-12-3456")]),
        ("my social insurance number, 123 456 789", [("SIN", "123 456 789")]),
        ("SIN: 123-456-789", [("SIN", "123-456-789")]),
        ("phone me on 555 123 4567", [("PHONE", "555 123 4567")]),
        ("it was a sin 123 456 789 times over", []),
    ],
)
def test_cue_rules_flag_shapes_just_after_their_cue(text, expected):
    checker = IdentifierChecker(AnonymiseConfig(detect_names=False, policy="redact"))
    assert spans_of(text, checker.find(text)) == expected


def test_cached_findings_are_kept_apart_for_report_and_redact(checker, cued_corpus):
    class DictCache(dict):
        def get_identifier_checks(self, keys):
            return {key: self[key] for key in keys if key in self}

        def put_identifier_checks(self, checks):
            self.update(checks)

    cache = DictCache()
    assert apply_policy(cued_corpus, checker, "report", cache=cache).findings == ()
    redacted = apply_policy(cued_corpus, checker, "redact", cache=cache)
    blocked = apply_policy(cued_corpus, checker, "block", cache=cache)
    assert len(redacted.findings) == 3
    assert blocked.findings == redacted.findings
    # report, and redact and block (same rules, shared findings): two keys each
    assert len(cache) == 4
    assert checker.for_policy("report") is checker
    redact_checker = checker.for_policy("redact")
    assert redact_checker.for_policy("block") is redact_checker
    assert pickle.loads(pickle.dumps(redact_checker)).recall_first


# -- findings never carry the identifier ---------------------------------------


def test_findings_never_hold_the_identifier(checker, corpus, caplog):
    names = {field.name for field in dataclasses.fields(Finding)}
    assert names == {"document_id", "kind", "start", "end", "detector"}
    with caplog.at_level(logging.DEBUG, logger="pipeline"):
        result = apply_policy(corpus, checker, "block")
    assert len(result.findings) == 3
    table = result.findings_table()
    assert tuple(table.columns) == FINDING_COLUMNS
    assert len(table) == 3
    rendered = table.to_csv() + "".join(
        str(f) + repr(f) + str(dataclasses.asdict(f)) for f in result.findings
    )
    for identifier in IDENTIFIERS:
        assert identifier not in rendered
        assert identifier not in caplog.text
        for part in identifier.split():
            assert part not in rendered


def test_the_store_keeps_findings_so_a_rerun_checks_only_new_or_changed_documents(
    tmp_path, ruler_nlp, corpus
):
    from pipeline.store.database import ResultsStore

    store = ResultsStore(tmp_path / "themes.duckdb")
    checker = IdentifierChecker(AnonymiseConfig(), nlp=ruler_nlp)
    expected = checker.check_many(corpus)
    assert len(expected) == 3
    checked: list[list[str]] = []
    check = checker._check_many
    checker._check_many = lambda ts: (
        checked.append([t.document_id for t in ts]) or check(ts)
    )

    assert checker.check_many(corpus, cache=store) == expected
    assert checker.check_many(corpus, cache=store) == expected
    changed = interview("Ring me on 07700 900456.", document_id="M02")
    assert checker.check_many([corpus[0], changed], cache=store) == check(
        [corpus[0], changed]
    )
    assert checked == [["M01", "M02"], ["M02"]]
    # other settings, other key: nothing is reused across them
    other = IdentifierChecker(AnonymiseConfig(allowlist=("Acme",)), nlp=ruler_nlp)
    assert other.check_key(corpus[0]) != checker.check_key(corpus[0])
    # only kinds and offsets are kept, never what was found
    import duckdb

    with duckdb.connect(str(store.path), read_only=True) as connection:
        rows = str(connection.execute("SELECT * FROM identifier_checks").fetchall())
    assert "PHONE" in rows
    for identifier in IDENTIFIERS:
        for part in identifier.split():
            assert part not in rows


def test_findings_table_is_typed_when_empty(checker):
    result = apply_policy([interview("Nothing to see.")], checker, "report")
    table = result.findings_table()
    assert tuple(table.columns) == FINDING_COLUMNS
    assert table.empty
    assert str(table["start"].dtype) == "int64"


# -- the real model (slow) -------------------------------------------------------


@pytest.fixture(scope="module")
def ner_checker() -> IdentifierChecker:
    return IdentifierChecker(AnonymiseConfig())


@pytest.mark.slow
def test_ner_finds_planted_people_and_places_in_an_interview(ner_checker):
    text = (FIXTURES / "interview_with_names.txt").read_text(encoding="utf-8")
    transcript = transcript_from_text(text, "names")
    found = spans_of(transcript.text, ner_checker.check(transcript))
    people = {value for kind, value in found if kind == "PERSON"}
    for name in (
        "Margaret Thornton",
        "Okonjo",
        "Graham Fairweather",
        "Priya Ramaswamy",
        "Tom Ashcroft",
    ):
        assert name in people, (name, found)
    assert ("PLACE", "Leeds") in found
    flagged = " ".join(value for _, value in found)
    for term in ("Mary Seacole", "Elizabeth Garrett", "Trust", "NHS", "GP", "CCG"):
        assert term not in flagged
    assert "Interviewer" not in flagged and "P07" not in flagged


@pytest.mark.slow
def test_ner_check_many_matches_check_and_redacts_names(ner_checker):
    text = (FIXTURES / "interview_with_names.txt").read_text(encoding="utf-8")
    transcripts = [transcript_from_text(text, f"d{i}") for i in range(3)]
    findings = ner_checker.check_many(transcripts)
    assert findings == [f for t in transcripts for f in ner_checker.check(t)]
    result = apply_policy(transcripts, ner_checker, "redact")
    assert "Margaret Thornton" not in result.transcripts[0].text
    assert "[PERSON]" in result.transcripts[0].text
