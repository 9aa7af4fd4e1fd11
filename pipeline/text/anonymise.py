"""Check transcripts for direct identifiers left in the speech; report, redact or block.

The transcripts this project analyses should arrive anonymised: people, trusts
and hospitals replaced by placeholders such as ``[Name]`` or ``[Trust A]``. This
stage checks that nothing slipped through. It looks only at the speech of each
turn (``text[turn.start:turn.end]``), never at speaker labels, and finds:

- ``EMAIL``, ``URL``, ``PHONE`` (UK and North American numbers),
  ``POSTCODE`` (full UK postcodes, Canadian postal codes, US ZIP codes after
  a state or a street address), ``NHS_NUMBER`` (ten digits with a valid
  modulus-11 check digit), ``NI_NUMBER`` (National Insurance numbers with an
  allowed prefix), ``SSN`` (US Social Security numbers of an issued shape),
  ``SIN`` (Canadian Social Insurance Numbers with a valid Luhn check digit)
  and ``DATE_OF_BIRTH`` (a date next to "born", "DOB", "date of birth" or
  "birthday"), with regular expressions; under ``redact`` and ``block``
  (recall first) also any string of the right shape just after its cue
  ("NHS number", "NI number", "SSN", "SIN", "mobile", "DOB"...), valid or not;
- ``PERSON``, ``PLACE`` and ``ORGANISATION`` with spaCy's named-entity
  recogniser, helped by a few name patterns ("Dr Patel", "a nurse called
  Jo Bloggs", "I spoke to Sam Lee").

Never flagged: placeholders (anything in square, angle or curly brackets,
``[Name]``, ``<PERSON>``, ``{name}``, and masks such as ``X``, ``XXX`` or
``***``, also after a title or a role: "Dr X", "Participant X"), the terms of
the built-in lists chosen in ``AnonymiseConfig.allowlist_groups`` (NHS terms;
funders, review boards and regulators; platforms and software; countries and
states) and the terms of ``AnonymiseConfig.allowlist``.

A ``Finding`` records where an identifier is and what kind it is, never the
identifier itself, so findings can be logged, stored and shown safely. A
``FindingsCache`` (the results store is one) keeps each document's findings
under a key of its speech and the checker (settings, spaCy model version and
this module's code), so a rerun checks only new or changed documents.
``redact`` replaces identifiers with ``[KIND]`` placeholders and returns an
``OffsetMap`` that carries offsets over to the redacted text;
``apply_policy`` applies the ``report``, ``redact`` or ``block`` policy to a
corpus.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol, get_args

import numpy as np

from pipeline.config import AllowlistGroup, AnonymiseConfig, IdentifierKind
from pipeline.errors import ModelError
from pipeline.records import Quarantined, Transcript

if TYPE_CHECKING:
    import pandas as pd
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = [
    "BUILTIN_ALLOWLISTS",
    "FINDING_COLUMNS",
    "KINDS",
    "AnonymiseConfig",
    "AnonymiseResult",
    "Finding",
    "IdentifierChecker",
    "OffsetMap",
    "Redacted",
    "Span",
    "apply_policy",
    "describe_counts",
    "is_valid_nhs_number",
    "is_valid_sin",
    "is_valid_ssn",
    "placeholder_for",
    "redact",
    "redact_transcript",
]

logger = logging.getLogger(__name__)

Kind = IdentifierKind
KINDS: tuple[str, ...] = get_args(IdentifierKind)
Detector = Literal["pattern", "ner"]
Policy = Literal["report", "redact", "block"]

NAME_KINDS: frozenset[str] = frozenset({"PERSON", "PLACE", "ORGANISATION"})
# When two pattern findings overlap, the longer wins; on a tie the kind that
# comes first here (an NHS number written 3-3-4 can also parse as a phone
# number; an e-mail address contains a domain name).
_PRIORITY = {
    kind: rank
    for rank, kind in enumerate(
        (
            "EMAIL",
            "URL",
            "NHS_NUMBER",
            "NI_NUMBER",
            "SSN",
            "SIN",
            "PHONE",
            "POSTCODE",
            "DATE_OF_BIRTH",
            "PERSON",
            "PLACE",
            "ORGANISATION",
        )
    )
}
# spaCy's OntoNotes labels and the kind each one is reported as.
NER_LABELS: Mapping[str, str] = {
    "PERSON": "PERSON",
    "GPE": "PLACE",
    "LOC": "PLACE",
    "FAC": "PLACE",
    "ORG": "ORGANISATION",
}

# ---------------------------------------------------------------------------
# What is never flagged
# ---------------------------------------------------------------------------

PLACEHOLDER = re.compile(
    r"\[[^\[\]\n]{0,80}\]"
    # <PERSON>, {name}, <Participant 3>: letters first, and no "@", ":" or "/",
    # so that <jo@nhs.net> and <https://...> are still checked
    r"|<[^\S\n]*[A-Za-z][\w '’-]{0,78}>"
    r"|\{[^\S\n]*[A-Za-z][\w '’-]{0,78}\}"
)
"""A bracketed placeholder: ``[Trust A]``, ``[Name]``, ``<PERSON>``, ``{name}``."""

MASK_WORD = re.compile(r"X{1,8}|x{2,8}|XYZ|xyz|[*_#]{2,}")
"""A word that masks a removed one: ``X``, ``XX``, ``XXX``, ``XYZ``, ``***``."""

FILLER_WORD = re.compile(
    r"u+[hm]+|e+[hr]+m*|h+m+|m+[hm]*|a+h+|o+h+|e+h+|u+h+-?h+u+h+|m+-?h+m+",
    re.IGNORECASE,
)
"""A hesitation or backchannel of speech: ``Um``, ``Erm``, ``Ehm``, ``Mmmm``."""


def _terms(phrases: str, words: str) -> tuple[str, ...]:
    """Phrases separated by semicolons, then single words separated by spaces."""
    return (
        *(" ".join(term.split()) for term in phrases.split(";") if term.strip()),
        *words.split(),
    )


# National bodies, plans and programmes (several named after people: they are
# programmes of the NHS Leadership Academy, not participants), then single
# words: acronyms of NHS organisations, services and roles.
_NHS_TERMS = _terms(
    """
    NHS England; NHS Improvement; NHS England and Improvement; NHS Digital; NHS
    Employers; NHS Providers; NHS Confederation; NHS Leadership Academy;
    Leadership Academy; NHS Trust; NHS Foundation Trust; Foundation Trust;
    Health Education England; Department of Health; Department of Health and
    Social Care; Public Health England; Care Quality Commission; King's Fund;
    The King's Fund; Kings Fund; Nuffield Trust; Health Foundation; Royal
    College of Nursing; Skills for Health; Agenda for Change; National
    Insurance; NHS number; date of birth; NHS Pension; Freedom to Speak Up; Long
    Term Plan; Five Year Forward View; Getting It Right First Time; Francis
    Report; Francis Inquiry; Open University; Mary Seacole; Elizabeth Garrett
    Anderson; Nye Bevan; Rosalind Franklin; Edward Jenner; Florence
    Nightingale; Ready Now; Stepping Up; Top Leaders
    """,
    """
    NHS NI DOB Datix Covid Covid-19 GP GPs CCG CCGs ICS ICB ICP STP PCN PCNs A&E
    ED ICU ITU HDU AMU MAU SDEC OPD CQC NICE HEE DHSC PHE UKHSA NHSE NHSI NHSX
    CSU PALS BMA GMC NMC HCPC RCN CIPD CIPFA HFMA CIMA ACCA AfC HR OD IT IG QI
    PMO CEO COO CFO CNO CMO CIO CCIO CNIO MD GM NED HCA ANP ACP AHP AHPs MBA MSc
    PhD PGCert RTT KPI KPIs CIP CIPs TUPE ESR EPR EHR nhs.uk www.nhs.uk gov.uk
    www.gov.uk
    """,
)
# Funders, ethics and review boards, regulators, public health agencies and
# public programmes that any study may mention (UK, US, Canada, international).
_RESEARCH_TERMS = _terms(
    """
    Institutional Review Board; Research Ethics Board; Research Ethics
    Committee; Ethics Committee; Research Ethics Service; Health Research
    Authority; National Institutes of Health; National Institute of Health;
    National Science Foundation; National Institute for Health Research;
    National Institute for Health and Care Research; Medical Research Council;
    Economic and Social Research Council; UK Research and Innovation; European
    Research Council; Canadian Institutes of Health Research; Social Sciences
    and Humanities Research Council; Natural Sciences and Engineering Research
    Council; Wellcome Trust; Centers for Disease Control; Centers for Disease
    Control and Prevention; Food and Drug Administration; World Health
    Organization; World Health Organisation; Public Health Agency of Canada;
    Health Canada; Department of Health and Human Services; Health and Human
    Services; Office for Human Research Protections; Patient-Centered Outcomes
    Research Institute; Agency for Healthcare Research and Quality; National
    Cancer Institute; National Institute of Mental Health; Veterans Affairs;
    Social Security; Affordable Care Act; Good Clinical Practice; Declaration
    of Helsinki; Belmont Report; Tri-Council Policy Statement; General Data
    Protection Regulation; Data Protection Act; United Nations; World Bank;
    European Commission; Census Bureau; Statistics Canada; Office for National
    Statistics
    """,
    """
    IRB IRBs REB REBs REC RECs HREC HRA NIH NSF NIHR MRC ESRC AHRC EPSRC BBSRC
    UKRI ERC CIHR SSHRC NSERC Wellcome CDC FDA WHO HHS OHRP PCORI AHRQ NCI NIMH
    VA CMS Medicare Medicaid Obamacare HIPAA GDPR TCPS GCP CITI PhD MSc UN
    UNICEF UNESCO OECD ONS
    """,
)
# Platforms, software and file formats people mention when they talk about
# their work or the study itself.
_SOFTWARE_TERMS = _terms(
    """
    Microsoft Teams; Google Meet; Google Docs; Google Drive; Google Forms;
    Google Sheets; Google Scholar; Google Maps; Microsoft Word; Microsoft
    Excel; Microsoft Forms; Microsoft Office; Power BI; Internet Explorer;
    Survey Monkey; Otter.ai
    """,
    """
    Zoom Teams Skype Webex FaceTime Slack Discord YouTube GitHub GitLab Google
    Gmail Outlook Microsoft Office Excel Word PowerPoint OneDrive SharePoint
    OneNote Dropbox Twitter Facebook LinkedIn Instagram WhatsApp TikTok
    Snapchat Reddit Wikipedia Netflix Spotify Amazon Apple ChatGPT Qualtrics
    REDCap SurveyMonkey NVivo ATLAS.ti MAXQDA Dedoose SPSS Stata SAS Python R
    RStudio MATLAB Tableau PowerBI Jupyter Zotero EndNote Mendeley Moodle
    Windows macOS iOS Android iPhone iPad Chrome Firefox Safari Bluetooth WiFi
    Wi-Fi USB PDF CSV XML JSON HTML SQL API SMS
    """,
)
# Areas too large to identify anyone (HIPAA's Safe Harbor keeps states):
# countries, continents, the UK's nations, US states, Canadian provinces.
# Left out because they are also common first names or surnames: Chad,
# Georgia, India, Israel, Jordan, Kenya, Virginia, Washington; AL, LA and MO
# (Al, Mo, and LA is also Los Angeles).
_COUNTRY_TERMS = _terms(
    """
    United States; United States of America; United Kingdom; Great Britain;
    Northern Ireland; North America; South America; Latin America; Central
    America; Middle East; Southeast Asia; East Asia; Western Europe; Eastern
    Europe; European Union; Antigua and Barbuda; Bosnia and Herzegovina;
    Burkina Faso; Cabo Verde; Cape Verde; Central African Republic; Costa Rica;
    Czech Republic; Dominican Republic; El Salvador; Equatorial Guinea; Hong
    Kong; Ivory Coast; Marshall Islands; New Zealand; North Korea; North
    Macedonia; Papua New Guinea; Puerto Rico; Saint Lucia; San Marino; Saudi
    Arabia; Sierra Leone; Solomon Islands; South Africa; South Korea; South
    Sudan; Sri Lanka; Trinidad and Tobago; United Arab Emirates; Vatican City;
    East Timor; Viet Nam; New Hampshire; New Jersey; New Mexico; New York;
    North Carolina; North Dakota; Rhode Island; South Carolina; South Dakota;
    West Virginia; Washington State; District of Columbia; British Columbia;
    New Brunswick; Newfoundland and Labrador; Nova Scotia; Prince Edward
    Island; Northwest Territories
    """,
    """
    US U.S. USA U.S.A. UK U.K. EU UAE America Americas Britain England Scotland
    Wales Ireland Europe Africa Asia Oceania Antarctica Caribbean Scandinavia
    Afghanistan Albania Algeria Andorra Angola Argentina Armenia Australia
    Austria Azerbaijan Bahamas Bahrain Bangladesh Barbados Belarus Belgium
    Belize Benin Bhutan Bolivia Bosnia Botswana Brazil Brunei Bulgaria Burundi
    Cambodia Cameroon Canada Chile China Colombia Comoros Congo Croatia Cuba
    Cyprus Czechia Denmark Djibouti Dominica Ecuador Egypt Eritrea Estonia
    Eswatini Ethiopia Fiji Finland France Gabon Gambia Germany Ghana Greece
    Greenland Grenada Guatemala Guinea Guinea-Bissau Guyana Haiti Honduras
    Hungary Iceland Indonesia Iran Iraq Italy Jamaica Japan Kazakhstan Kiribati
    Korea Kosovo Kuwait Kyrgyzstan Laos Latvia Lebanon Lesotho Liberia Libya
    Liechtenstein Lithuania Luxembourg Madagascar Malawi Malaysia Maldives Mali
    Malta Mauritania Mauritius Mexico Micronesia Moldova Monaco Mongolia
    Montenegro Morocco Mozambique Myanmar Burma Namibia Nauru Nepal Netherlands
    Nicaragua Niger Nigeria Norway Oman Pakistan Palau Palestine Panama Paraguay
    Peru Philippines Poland Portugal Qatar Romania Russia Rwanda Samoa Senegal
    Serbia Seychelles Singapore Slovakia Slovenia Somalia Spain Sudan Suriname
    Swaziland Sweden Switzerland Syria Taiwan Tajikistan Tanzania Thailand
    Timor-Leste Togo Tonga Tunisia Turkey Türkiye Turkmenistan Tuvalu Uganda
    Ukraine Uruguay Uzbekistan Vanuatu Venezuela Vietnam Yemen Zambia Zimbabwe
    Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware
    Florida Hawaii Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine
    Maryland Massachusetts Michigan Minnesota Mississippi Missouri Montana
    Nebraska Nevada Ohio Oklahoma Oregon Pennsylvania Tennessee Texas Utah
    Vermont Wisconsin Wyoming Alberta Manitoba Newfoundland Ontario Quebec
    Québec Saskatchewan Yukon Nunavut AK AZ AR CA CT DC FL GA HI IA ID IL IN KS
    KY MD ME MI MN MS MT NC ND NE NH NJ NM NV NY OH OK OR PA RI SC SD TN TX UT
    VA VT WA WI WV WY ON QC BC AB MB SK NS NB NL PE YT NT NU
    """,
)
BUILTIN_ALLOWLISTS: Mapping[AllowlistGroup, tuple[str, ...]] = {
    "nhs": _NHS_TERMS,
    "research": _RESEARCH_TERMS,
    "software": _SOFTWARE_TERMS,
    "countries": _COUNTRY_TERMS,
}
"""The terms of each built-in list (``AnonymiseConfig.allowlist_groups``).

Matched case-insensitively as whole words, like the user's own allowlist.
"""

# Capitalised words that are not identifying on their own: they name kinds of
# organisation, departments, roles, days and months, speaker labels and words
# of talk. A name-like finding made only of these (and of allowlisted terms,
# placeholders, masks, fillers, lower-case words and words with digits) is
# dropped: "the Trust", "Digital", "the Board", "Finance and Estates".
GENERIC_WORDS: frozenset[str] = frozenset(
    """
    a an the and of for in on at to by with from my our their his her its
    i we you he she they it this that these those there here so but or if
    nobody somebody someone everyone anyone everybody anybody people who what
    which when where why how yes yeah no well oh um er
    mum mam dad mother father nan gran grandad grandma husband wife son daughter
    one two three four five six seven eight nine ten eleven twelve
    trust trusts hospital hospitals foundation university college school council
    board boards team teams department departments directorate directorates
    division ward wards unit units service services practice practices surgery
    clinic clinics centre center group network networks partnership alliance
    system region regional national local community primary secondary acute
    academy programme program scheme project course module award institute
    health care healthcare social mental general royal teaching integrated
    commissioning clinical medical nursing nurse nurses doctor doctors
    executive executives director directors manager managers management leader
    leaders leadership chief deputy head lead senior junior associate assistant
    consultant consultants matron sister registrar practitioner practitioners
    specialist officer officers partner partners chair chairman chairwoman
    finance estates facilities digital operations workforce pharmacy radiology
    theatres theatre outpatients outpatient inpatients maternity paediatrics
    cardiology oncology orthopaedics urology surgery medicine emergency
    therapies therapy physiotherapy governance quality safety performance
    information procurement payroll recruitment communications comms strategy
    transformation improvement research education training learning
    development planning capacity demand access patient patients staff
    rotas rota band bands level levels grade masters master degree diploma
    monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october
    november december christmas easter covid lockdown brexit
    mr mrs ms miss dr prof sir dame
    interviewer interviewee participant participants respondent speaker
    facilitator moderator researcher researchers
    okay ok yep yup nope anyway anyways alright right hello hi sorry ssn sin
    prime minister president governor senator mayor city county state
    """.split()
)

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
_WORD = re.compile(r"[^\W_](?:[\w'’&.-]*\w)?")
_LEADING_NOISE = re.compile(rf"^(?:(?:the|a|an|and|The|A|An|And|{_TITLES})\.?\s+)+")
_TRAILING_NOISE = re.compile(r"(?:['’]s|['’])?[\s.,;:!?)\"'’-]*$")

# ---------------------------------------------------------------------------
# Patterns, compiled once
# ---------------------------------------------------------------------------

EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]*[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
URL = re.compile(
    r"(?<![\w@/.-])(?:(?:https?|ftp)://|www\.)[^\s<>\"\[\]{}|\\^`]+"
    r"|(?<![\w@/.-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"(?:com|org|net|uk|io|info)(?:/[^\s<>\"\[\]{}|\\^`]*)?(?![\w@-])",
    re.IGNORECASE,
)
NHS_NUMBER = re.compile(
    r"(?<![\w+/.-])(?<!\d[ -])(?P<a>\d{3})(?P<sep>[ -]?)(?P<b>\d{3})(?P=sep)"
    r"(?P<c>\d{4})(?![ -]?\d)(?![\w/])"
)
NI_NUMBER = re.compile(
    r"(?<![\w-])(?P<prefix>[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z])"
    r"[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}(?:[ -]?[A-D])?(?![\w-])"
    # the compact lower-case form, ab123456c
    r"|(?<![\w-])(?P<lower>[a-z]{2})\d{6}[a-d]?(?![\w-])"
)
NI_EXCLUDED_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
POSTCODE = re.compile(
    r"(?<![\w-])(?:GIR ?0AA|[A-PR-UWYZ](?:\d[A-HJKPSTUW]|\d{1,2}"
    r"|[A-HK-Y]\d[ABEHMNPRV-Y]|[A-HK-Y]\d{1,2}) ?\d[ABD-HJLNP-UW-Z]{2})(?![\w-])",
    re.IGNORECASE,
)
# A candidate UK number: +44 / 0044 (with an optional "(0)"), "(0" or "0",
# then groups of digits separated by one space or dash. The digits after the
# trunk prefix are counted in code (10, or 9 for some 01 numbers).
PHONE = re.compile(
    r"(?<![\w+/.-])(?P<prefix>(?:\+|00)44[ -]?(?:\(0\)[ -]?)?|\(0|0)"
    r"(?P<rest>\d+(?:(?:\)[ -]?|[ -])\d+)*)"
)
_DIGITS = re.compile(r"\d+")

# A North American number (NANP): an area code (2-9, then two digits), three
# digits and four, as (555) 123-4567, 555-123-4567, 555.123.4567 or, after +1,
# with spaces. Separators are checked in code: without brackets both must be
# the same, and spaces need +1 (a bare 3-3-4 with spaces is an NHS number's
# shape). Toll-free area codes are businesses, not people (like UK freephone).
NA_PHONE = re.compile(
    r"(?<![\w+/.-])(?P<country>\+1[ .-]?|1[.-])?"
    r"(?:\((?P<bracketed>[2-9]\d{2})\)[ .-]?|(?P<area>[2-9]\d{2})(?P<sep>[ .-]))"
    r"\d{3}(?P<sep2>[ .-])\d{4}(?![ .-]?\d)(?![\w/])"
)
NA_TOLL_FREE = frozenset({"800", "833", "844", "855", "866", "877", "888"})
# US Social Security number: 3-2-4 digits (dashes or spaces); never issued
# with area 000, 666 or 900-999, group 00 or serial 0000.
SSN = re.compile(
    r"(?<![\w+/.-])(?<!\d[ ,.-])(?P<area>\d{3})(?P<sep>[ -])(?P<group>\d{2})"
    r"(?P=sep)(?P<serial>\d{4})(?![ -]?\d)(?![\w/])"
)
# Canadian Social Insurance Number: 3-3-3 digits (spaces or dashes) with a
# valid Luhn check digit; first digit 1-7 or 9 (0 and 8 are not given to
# people). Run together, nine digits are too common to flag without a cue.
SIN = re.compile(
    r"(?<![\w+/.-])(?<!\d[ ,.-])(?P<a>\d{3})(?P<sep>[ -])(?P<b>\d{3})(?P=sep)"
    r"(?P<c>\d{3})(?![ -]?\d)(?![\w/])"
)
CA_POSTCODE = re.compile(
    r"(?<![\w-])[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d"
    r"(?![\w-])",
    re.IGNORECASE,
)
"""A Canadian postal code: ``K1A 0B1`` (no D, F, I, O, Q or U; no W or Z first)."""

US_STATES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware"
    "|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky"
    "|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi"
    "|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico"
    "|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania"
    "|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont"
    "|Virginia|Washington|West Virginia|Wisconsin|Wyoming|District of Columbia"
    "|Puerto Rico"
)
US_STATE_CODES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS"
    "|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|PR|RI|SC|SD|TN|TX|UT|VT|VA|WA"
    "|WV|WI|WY"
)
_ZIP = r"(?P<zip>\d{5}(?:-\d{4})?)(?![\w-])"
# A US ZIP code (5 digits, or ZIP+4) is only taken in an address: right after
# a state ("Austin, TX 78701", "Ohio 43215") or a zip-code cue, or shortly
# after a street address ("12 Elm Street, Dayton 45402"); never any 5 digits.
ZIP_AFTER_STATE = re.compile(
    rf"(?<![\w-])(?:{US_STATES}|{US_STATE_CODES})\.?,?[ \t]+{_ZIP}"
)
ZIP_AFTER_CUE = re.compile(
    r"(?<![\w-])(?i:zip(?:[ \t]*code)?|postal[ \t]+code)"
    rf"(?:[ \t]+(?i:is|was|of|number))?[ \t]*[:#]?[ \t]*{_ZIP}"
)
STREET_ADDRESS = re.compile(
    r"(?<![\w-])\d{1,6}[ \t]+(?:[A-Z][\w'’.-]*[ \t]+){1,4}"
    r"(?:(?:Street|Avenue|Road|Boulevard|Drive|Lane|Way|Court|Place|Terrace"
    r"|Parkway|Highway|Circle|Square)\b|(?:St|Ave|Rd|Blvd|Ln|Ct|Pl|Pkwy|Hwy)\b\.?)"
)
_ZIP_AFTER_STREET_WINDOW = 60
ZIP_SHAPE = re.compile(rf"(?<![\w.,-]){_ZIP}")

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?"
    r"|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_DAY_ORDINAL = rf"{_DAY}(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
DATE = re.compile(
    r"(?<![\w/.-])(?:"
    rf"{_DAY}[/.-](?:0?[1-9]|1[0-2])[/.-](?:{_YEAR}|\d{{2}})"
    rf"|{_YEAR}-(?:0?[1-9]|1[0-2])-{_DAY}"
    rf"|(?:the\s+)?{_DAY_ORDINAL}(?:\s+of)?\s+{_MONTH}(?:,?\s+(?:{_YEAR}|'\d{{2}}))?"
    rf"|{_MONTH}\s+(?:the\s+)?{_DAY_ORDINAL}(?:,?\s+{_YEAR})?"
    rf"|{_MONTH},?\s+{_YEAR}"
    r")(?![\w/-])",
    re.IGNORECASE,
)
BIRTH_WORDS = re.compile(
    r"(?<!\w)(?:born|birth\s?days?|birth\s?date|date\s+of\s+birth"
    r"|d\.?\s?o\.?\s?b\b\.?)",
    re.IGNORECASE,
)
_SENTENCE_BREAK = re.compile(r"[.!?](?:\s|$)|\n")
_BIRTH_WINDOW_BEFORE = 50
_BIRTH_WINDOW_AFTER = 30

# Cue rules, used under redact and block (recall first): a string of the right
# shape that starts within _CUE_WINDOW characters after its cue is flagged even
# when the checksum or prefix rule says it was never issued ("NI number QQ 12 34
# 56 C", an NHS number with a wrong check digit): a mistyped identifier is
# still one. Report keeps the strict rules, to avoid false alarms.
_CUE_WINDOW = 40
# nine digits in any grouping: 123-45-6789, 123 456 789, 123456789
_NINE_DIGITS = re.compile(r"(?<![\w+/.-])\d(?:[ .-]?\d){8}(?![ .-]?\d)(?![\w/])")
_CUE_RULES: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"(?<!\w)(?:{cue})(?!\w)", re.IGNORECASE), shape)
    for kind, cue, shape in (
        ("NHS_NUMBER", r"NHS\s+(?:number|no\.?)", NHS_NUMBER),
        (
            "NI_NUMBER",
            r"national\s+insurance(?:\s+(?:number|no\.?))?|NI\s+(?:number|no\.?)",
            re.compile(
                r"(?<![\w-])[A-Z]{2}(?:[ -]*\d){6}(?:[ -]*[A-D])?(?![\w-])",
                re.IGNORECASE,
            ),
        ),
        (
            "PHONE",
            r"(?:tele)?phone|mobile|tel\.?|call\s+me\s+on",
            re.compile(
                r"(?<![\w+/.-])(?:(?:\+|00)(?:44|1)[ .-]?(?:\(0\)[ .-]?)?)?\(?\d"
                r"(?:(?:[ .-]|\)[ .-]?)?\d){9,10}(?![ .-]?\d)(?![\w/])"
            ),
        ),
        (
            "SSN",
            r"social\s+security(?:\s+(?:number|no\.?|#))?|SSN",
            _NINE_DIGITS,
        ),
        (
            "SIN",
            # "SIN" in capitals only: "a sin" is not a cue
            r"social\s+insurance(?:\s+(?:number|no\.?|#))?|(?-i:SIN)",
            _NINE_DIGITS,
        ),
        (
            "DATE_OF_BIRTH",
            r"date\s+of\s+birth|d\.?\s?o\.?\s?b\.?|born\s+on|birth\s?date",
            re.compile(
                rf"{DATE.pattern}|(?<![\w/.-])(?:\d{{1,2}}[/. -]\d{{1,2}}[/. -]"
                r"(?:\d{4}|\d{2})|\d{4}[/.-]\d{1,2}[/.-]\d{1,2})(?![\w/-])",
                re.IGNORECASE,
            ),
        ),
    )
)

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

# Ranks: which finding decides the kind when findings overlap (lowest wins).
_RANK_PATTERN = 0  # e-mail, phone, NHS number and the other pattern kinds
_RANK_NAME_CONTEXT = 1  # a name in a telling context: "Dr Patel", "worked at X"
_RANK_NER = 2
_RANK_GUESS = 3  # capitalised words mid-sentence
_NAME_PATTERNS: tuple[tuple[re.Pattern[str], str, int], ...] = (
    (TITLE_NAME, "PERSON", _RANK_NAME_CONTEXT),
    (CALLED_NAME, "PERSON", _RANK_NAME_CONTEXT),
    (CONTACT_NAME, "PERSON", _RANK_NAME_CONTEXT),
    (RELATION_NAME, "PERSON", _RANK_NAME_CONTEXT),
    (SAID_NAME, "PERSON", _RANK_NAME_CONTEXT),
    (PLACE_CONTEXT, "PLACE", _RANK_NAME_CONTEXT),
    (ORGANISATION_CONTEXT, "ORGANISATION", _RANK_NAME_CONTEXT),
    (PROPER_RUN, "PERSON", _RANK_GUESS),
)


def is_valid_nhs_number(number: str) -> bool:
    """Tell whether ten digits (spaces and dashes ignored) pass the NHS check.

    The first nine digits are weighted 10 down to 2; the check digit is
    ``11 - (sum mod 11)``, 11 becoming 0; a result of 10 is never issued.

    Args:
        number: The number as written, e.g. ``"943 476 5919"``.

    Returns:
        ``True`` when it has ten digits and the last is the right check digit.
    """
    digits = [int(char) for char in number if char.isdigit()]
    if len(digits) != 10 or len(number.replace(" ", "").replace("-", "")) != 10:
        return False
    total = sum(weight * digit for weight, digit in zip(range(10, 1, -1), digits))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == digits[9]


def is_valid_ssn(number: str) -> bool:
    """Tell whether nine digits (spaces and dashes ignored) may be a US SSN.

    Social Security numbers are never issued with the area number 000, 666 or
    900-999, the group number 00 or the serial number 0000.

    Args:
        number: The number as written, e.g. ``"123-45-6789"``.

    Returns:
        ``True`` when it has nine digits and none of the parts is unissued.
    """
    digits = "".join(char for char in number if char.isdigit())
    if len(digits) != 9 or len(number.replace(" ", "").replace("-", "")) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return (
        area not in ("000", "666")
        and area[0] != "9"
        and group != "00"
        and serial != "0000"
    )


def is_valid_sin(number: str) -> bool:
    """Tell whether nine digits (spaces and dashes ignored) pass the SIN check.

    A Canadian Social Insurance Number has a Luhn check digit; its first digit
    is 1-7 (by province) or 9 (temporary residents), never 0 or 8.

    Args:
        number: The number as written, e.g. ``"130 692 544"``.

    Returns:
        ``True`` when it has nine digits, an allowed first digit and a valid
        check digit.
    """
    digits = [int(char) for char in number if char.isdigit()]
    if len(digits) != 9 or len(number.replace(" ", "").replace("-", "")) != 9:
        return False
    if digits[0] in (0, 8):
        return False
    total = 0
    for position, digit in enumerate(digits):
        if position % 2:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return total % 10 == 0


# ---------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """Where a possible identifier is, and what kind it is; never its text.

    Attributes:
        document_id: The transcript it was found in (``""`` from
            ``IdentifierChecker.find``, which checks a bare string).
        kind: One of ``KINDS``: ``PERSON``, ``PLACE``, ``ORGANISATION``,
            ``EMAIL``, ``PHONE``, ``POSTCODE``, ``NHS_NUMBER``, ``NI_NUMBER``,
            ``SSN``, ``SIN``, ``DATE_OF_BIRTH`` or ``URL``.
        start: Offset of its first character in the document text.
        end: Offset one past its last character.
        detector: ``pattern`` (regular expressions) or ``ner`` (spaCy).

    """

    document_id: str
    kind: Kind
    start: int
    end: int
    detector: Detector

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Finding.kind must be one of {KINDS}, got {self.kind!r}")
        if self.detector not in ("pattern", "ner"):
            raise ValueError(
                f"Finding.detector must be 'pattern' or 'ner', got {self.detector!r}"
            )
        if not 0 <= self.start < self.end:
            raise ValueError(
                f"Finding offsets out of order: start={self.start}, end={self.end}"
            )


FINDING_COLUMNS: tuple[str, ...] = ("document_id", "kind", "start", "end", "detector")
"""Columns of ``AnonymiseResult.findings_table()``."""

CachedFinding = tuple[str, int, int, str]
"""A finding without its document: ``(kind, start, end, detector)``."""


class FindingsCache(Protocol):
    """Findings of documents checked before, by check key (offsets and kinds only)."""

    def get_identifier_checks(
        self, keys: Sequence[str]
    ) -> dict[str, list[CachedFinding]]:
        """The findings stored under those of ``keys`` that were checked before."""
        ...

    def put_identifier_checks(self, checks: Mapping[str, list[CachedFinding]]) -> None:
        """Store findings by check key (a document with none has an empty list)."""
        ...


class _Allowlist:
    """Terms never flagged: whole phrases removed first, then generic words."""

    def __init__(self, terms: Iterable[str]) -> None:
        cleaned = {" ".join(term.split()) for term in terms if term.strip()}
        self.exact = frozenset(term.casefold() for term in cleaned)
        self.words = GENERIC_WORDS | {
            term.casefold() for term in cleaned if " " not in term
        }
        phrases = sorted(cleaned, key=len, reverse=True)
        alternatives = "|".join(
            r"\s+".join(re.escape(word) for word in phrase.split())
            for phrase in phrases
        )
        self.phrases = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def is_identifying(self, fragment: str) -> bool:
        """Tell whether a name-like fragment has a word that may identify someone.

        A word counts when it has a capital letter, is longer than one letter,
        has no digit (names have none: "Q3", "NO2", "P07") and is neither
        allowlisted, generic, a mask ("XX") nor a filler ("Mmm"); placeholders
        and allowlisted phrases are removed first.
        """
        remainder = self.phrases.sub(" ", PLACEHOLDER.sub(" ", fragment))
        for word in _WORD.findall(remainder):
            if (
                len(word) < 2
                or not any(char.isupper() for char in word)
                or any(char.isdigit() for char in word)
                or MASK_WORD.fullmatch(word)
                or FILLER_WORD.fullmatch(word)
            ):
                continue
            bare = word.casefold().rstrip(".").removesuffix("'s").removesuffix("’s")
            if bare not in self.words:
                return True
        return False


class _Candidate(NamedTuple):
    kind: str
    start: int
    end: int
    detector: Detector
    rank: int = _RANK_PATTERN


class Span(NamedTuple):
    """A ``start``/``end`` pair of offsets (end exclusive)."""

    start: int
    end: int


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
        self, config: AnonymiseConfig | None = None, *, nlp: Language | None = None
    ) -> None:
        self.config = config if config is not None else AnonymiseConfig()
        self._nlp = nlp
        self._lock = threading.Lock()
        self._kinds = frozenset(self.config.entity_types)
        self._allowlist = _Allowlist(
            (
                *(
                    term
                    for group in self.config.allowlist_groups
                    for term in BUILTIN_ALLOWLISTS[group]
                ),
                *self.config.allowlist,
            )
        )
        # redact and block put recall first: cue rules apply (see _CUE_RULES)
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

        A change to this module's code, the ``anonymise`` settings or the
        installed spaCy model changes the key, so cached findings are not reused.
        Of the policy only what changes the rules counts (:attr:`recall_first`):
        ``redact`` and ``block`` share findings, ``report`` has its own.
        """
        from importlib import metadata

        from pipeline.config import hash_json

        try:
            model_version = metadata.version(self.config.spacy_model)
        except (metadata.PackageNotFoundError, ValueError):
            model_version = "unknown"
        return hash_json(
            {
                "config": self.config.model_dump(mode="json", exclude={"policy"}),
                "recall_first": self.recall_first,
                "model": [self.config.spacy_model, model_version],
                "code": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
            }
        )

    def check_key(self, transcript: Transcript) -> str:
        """Key of a document's check: its text, its turns and :attr:`settings_key`."""
        digest = hashlib.sha256(self.settings_key.encode())
        digest.update(transcript.text.encode("utf-8", "surrogatepass"))
        digest.update(repr([(t.start, t.end) for t in transcript.turns]).encode())
        return digest.hexdigest()

    @property
    def uses_ner(self) -> bool:
        """Whether the spaCy model is used (names are checked and enabled)."""
        return self.config.detect_names and bool(self._kinds & NAME_KINDS)

    @property
    def nlp(self) -> Language:
        """The spaCy pipeline, loaded once with only what entity recognition needs.

        Raises:
            ModelError: The model is not installed or has no ``ner`` component.
        """
        with self._lock:
            if self._nlp is None:
                self._nlp = _load_ner(self.config.spacy_model)
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
        candidates: list[_Candidate] = []
        for (start, end), doc in zip(spans, docs):
            speech = text[start:end]
            found = list(self._find_patterns(speech))
            if doc is not None:
                found.extend(self._find_entities(speech, doc))
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
            for c in _merge(candidates)
        ]

    def _find_patterns(self, speech: str) -> Iterator[_Candidate]:
        kinds = self._kinds
        found: list[_Candidate] = []
        if "EMAIL" in kinds:
            found += [
                _Candidate("EMAIL", *m.span(), "pattern")
                for m in EMAIL.finditer(speech)
            ]
        if "URL" in kinds:
            found += _find_urls(speech)
        if "NHS_NUMBER" in kinds:
            found += [
                _Candidate("NHS_NUMBER", *m.span(), "pattern")
                for m in NHS_NUMBER.finditer(speech)
                if is_valid_nhs_number(m.group())
            ]
        if "NI_NUMBER" in kinds:
            found += _find_ni_numbers(speech)
        if "SSN" in kinds:
            found += [
                _Candidate("SSN", *m.span(), "pattern")
                for m in SSN.finditer(speech)
                if is_valid_ssn(m.group())
            ]
        if "SIN" in kinds:
            found += [
                _Candidate("SIN", *m.span(), "pattern")
                for m in SIN.finditer(speech)
                if is_valid_sin(m.group())
            ]
        if "PHONE" in kinds:
            found += _find_phones(speech)
            found += _find_na_phones(speech)
        if "POSTCODE" in kinds:
            found += [
                _Candidate("POSTCODE", *m.span(), "pattern")
                for m in POSTCODE.finditer(speech)
                if _plausible_postcode(m.group())
            ]
            # a Canadian postal code is written in capitals or in lower case
            found += [
                _Candidate("POSTCODE", *m.span(), "pattern")
                for m in CA_POSTCODE.finditer(speech)
                if m.group() in (m.group().upper(), m.group().lower())
            ]
            found += _find_zip_codes(speech)
        if "DATE_OF_BIRTH" in kinds:
            found += _find_dates_of_birth(speech)
        if self.recall_first:
            found += _find_cued(speech, kinds)
        for candidate in found:
            fragment = speech[candidate.start : candidate.end]
            if _normalise(fragment) not in self._allowlist.exact:
                yield candidate
        yield from self._find_name_patterns(speech)

    def _find_name_patterns(self, speech: str) -> Iterator[_Candidate]:
        for pattern, kind, rank in _NAME_PATTERNS:
            if kind not in self._kinds:
                continue
            for match in pattern.finditer(speech):
                start, end = match.span("name")
                if pattern is PROPER_RUN and _SENTENCE_START.search(
                    speech, max(0, start - 12), start
                ):
                    continue
                if pattern is TITLE_NAME and match.group("title") in _FORMAL_TITLES:
                    first_end = start + len(speech[start:end].split()[0])
                    end = max(first_end, self._cut_generic_tail(speech, start, end))
                    name = speech[start:end]
                    if _normalise(name) not in self._allowlist.exact:
                        yield _Candidate(kind, start, end, "pattern", rank)
                    continue
                if not self._allowlist.is_identifying(speech[start:end]):
                    continue  # an allowed phrase: "North Korea", "Google Scholar"
                end = self._cut_generic_tail(speech, start, end)
                if end > start and self._allowlist.is_identifying(speech[start:end]):
                    yield _Candidate(kind, start, end, "pattern", rank)

    def _cut_generic_tail(self, speech: str, start: int, end: int) -> int:
        """End a name before its first generic word ("Dr Shah Said" stays whole)."""
        for word in re.finditer(r"\S+", speech[start:end]):
            if word.group().casefold() in self._allowlist.words:
                return start + len(speech[start : start + word.start()].rstrip())
        return end

    def _find_entities(self, speech: str, doc: Doc) -> Iterator[_Candidate]:
        for entity in doc.ents:
            kind = NER_LABELS.get(entity.label_)
            if kind is None or kind not in self._kinds:
                continue
            start, end = _trim_entity(speech, entity.start_char, entity.end_char)
            if end > start and self._allowlist.is_identifying(speech[start:end]):
                yield _Candidate(kind, start, end, "ner", _RANK_NER)


def _load_ner(name: str) -> Language:
    import spacy

    try:
        nlp = spacy.load(name)
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
    nlp.select_pipes(enable=[pipe for pipe in nlp.pipe_names if pipe in keep])
    logger.debug("anonymise: loaded %s with %s", name, nlp.pipe_names)
    return nlp


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


def _normalise(fragment: str) -> str:
    return " ".join(fragment.split()).casefold()


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


def _find_urls(speech: str) -> list[_Candidate]:
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
            found.append(_Candidate("URL", start, end, "pattern"))
    return found


def _find_ni_numbers(speech: str) -> list[_Candidate]:
    found = []
    for match in NI_NUMBER.finditer(speech):
        prefix = (match.group("prefix") or match.group("lower") or "").upper()
        letters_ok = re.fullmatch(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]", prefix)
        if letters_ok and prefix not in NI_EXCLUDED_PREFIXES:
            found.append(_Candidate("NI_NUMBER", *match.span(), "pattern"))
    return found


def _plausible_postcode(postcode: str) -> bool:
    # "A1 2nd" and "M1 1st" are ordinals in lower case, not postcodes.
    return not (
        postcode != postcode.upper()
        and re.search(r"\d(?:st|nd|rd|th)$", postcode, re.IGNORECASE)
    )


def _find_na_phones(speech: str) -> list[_Candidate]:
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
        found.append(_Candidate("PHONE", *match.span(), "pattern"))
    return found


def _find_zip_codes(speech: str) -> list[_Candidate]:
    """ZIP codes after a state or a zip-code cue, or soon after a street address."""
    spans = {
        match.span("zip")
        for pattern in (ZIP_AFTER_STATE, ZIP_AFTER_CUE)
        for match in pattern.finditer(speech)
    }
    for street in STREET_ADDRESS.finditer(speech):
        limit = street.end() + _ZIP_AFTER_STREET_WINDOW
        for match in ZIP_SHAPE.finditer(speech, street.end(), limit):
            if not _SENTENCE_BREAK.search(speech, street.end(), match.start()):
                spans.add(match.span("zip"))
            break
    return [
        _Candidate("POSTCODE", start, end, "pattern") for start, end in sorted(spans)
    ]


def _find_phones(speech: str) -> list[_Candidate]:
    found = []
    for match in PHONE.finditer(speech):
        rest_start = match.start("rest")
        groups = list(_DIGITS.finditer(match.group("rest")))
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
            found.append(_Candidate("PHONE", match.start(), best_end, "pattern"))
    return found


def _find_dates_of_birth(speech: str) -> list[_Candidate]:
    if not BIRTH_WORDS.search(speech):
        return []
    found = []
    for match in DATE.finditer(speech):
        start, end = match.span()
        if start < len(speech) and speech[start : start + 4].casefold() == "the ":
            start += 4
        if _near_birth_word(speech, start, end):
            found.append(_Candidate("DATE_OF_BIRTH", start, end, "pattern"))
    return found


def _find_cued(speech: str, kinds: frozenset[str]) -> list[_Candidate]:
    """Identifier-shaped strings starting within ``_CUE_WINDOW`` after a cue."""
    found = []
    for kind, cue, shape in _CUE_RULES:
        if kind not in kinds:
            continue
        for cue_match in cue.finditer(speech):
            limit = cue_match.end() + _CUE_WINDOW
            for match in shape.finditer(speech, cue_match.end()):
                if match.start() > limit:
                    break
                found.append(_Candidate(kind, *match.span(), "pattern"))
    return found


def _near_birth_word(speech: str, start: int, end: int) -> bool:
    """A birth word within a few words before or after, in the same sentence."""
    window_start = max(0, start - _BIRTH_WINDOW_BEFORE)
    for word in BIRTH_WORDS.finditer(speech, window_start, start):
        if not _SENTENCE_BREAK.search(speech, word.end(), start):
            return True
    window_end = min(len(speech), end + _BIRTH_WINDOW_AFTER)
    for word in BIRTH_WORDS.finditer(speech, end, window_end):
        if not _SENTENCE_BREAK.search(speech, end, word.start()):
            return True
    return False


def _merge(candidates: list[_Candidate]) -> list[_Candidate]:
    """Merge overlapping findings into one over their union.

    The merged finding takes the kind of the best-ranked finding: pattern kinds
    (e-mail, phone, ...) over names in a telling context ("Dr Patel") over
    spaCy's entities over capitalised words; then of the longer finding; then
    of the kind listed first in ``_PRIORITY``.
    """
    merged: list[_Candidate] = []
    cluster: list[_Candidate] = []
    cluster_end = -1
    for candidate in sorted(candidates, key=lambda c: (c.start, -c.end)):
        if cluster and candidate.start >= cluster_end:
            merged.append(_resolve(cluster))
            cluster = []
        if not cluster:
            cluster_end = candidate.end
        cluster.append(candidate)
        cluster_end = max(cluster_end, candidate.end)
    if cluster:
        merged.append(_resolve(cluster))
    return merged


def _resolve(cluster: list[_Candidate]) -> _Candidate:
    winner = min(cluster, key=lambda c: (c.rank, -(c.end - c.start), _PRIORITY[c.kind]))
    start = min(c.start for c in cluster)
    end = max(c.end for c in cluster)
    return winner._replace(start=start, end=end)


# ---------------------------------------------------------------------------
# Redaction
# ---------------------------------------------------------------------------


class OffsetMap:
    """Carries offsets of a text over to its redacted version.

    Offsets outside the redacted parts keep their place relative to the text
    around them. An offset strictly inside a redacted part maps to the start
    of its placeholder (``side="left"``) or to its end (``side="right"``).

    Args:
        old_starts: Starts of the redacted parts in the old text, sorted.
        old_ends: Their ends.
        new_starts: Starts of the placeholders in the new text.
        new_ends: Their ends.
        old_length: Length of the old text.

    """

    __slots__ = ("_old_starts", "_old_ends", "_new_starts", "_new_ends", "old_length")

    def __init__(
        self,
        old_starts: Sequence[int],
        old_ends: Sequence[int],
        new_starts: Sequence[int],
        new_ends: Sequence[int],
        *,
        old_length: int,
    ) -> None:
        self._old_starts = np.asarray(old_starts, dtype=np.int64)
        self._old_ends = np.asarray(old_ends, dtype=np.int64)
        self._new_starts = np.asarray(new_starts, dtype=np.int64)
        self._new_ends = np.asarray(new_ends, dtype=np.int64)
        self.old_length = old_length
        sizes = {
            len(self._old_starts),
            len(self._old_ends),
            len(self._new_starts),
            len(self._new_ends),
        }
        if len(sizes) != 1:
            raise ValueError("OffsetMap needs as many starts as ends, old and new")

    @classmethod
    def identity(cls, length: int) -> OffsetMap:
        """The map of a text with nothing redacted."""
        return cls([], [], [], [], old_length=length)

    @property
    def new_length(self) -> int:
        """Length of the redacted text."""
        if not len(self._old_ends):
            return self.old_length
        return int(self.old_length - self._old_ends[-1] + self._new_ends[-1])

    def map(self, offset: int, *, side: Literal["left", "right"] = "left") -> int:
        """Map one offset of the old text to the new text.

        Args:
            offset: ``0 <= offset <= old_length``.
            side: Where an offset strictly inside a redacted part goes: the
                start (``left``) or the end (``right``) of its placeholder.

        Returns:
            The offset in the redacted text.

        Raises:
            ValueError: The offset is outside the old text.
        """
        if not 0 <= offset <= self.old_length:
            raise ValueError(
                f"offset {offset} is outside the text (0 to {self.old_length})"
            )
        # k: how many redacted parts end at or before the offset
        k = bisect.bisect_right(self._old_ends, offset)
        if k < len(self._old_starts) and self._old_starts[k] < offset:
            return int(self._new_starts[k] if side == "left" else self._new_ends[k])
        if k == 0:
            return offset
        return int(offset - self._old_ends[k - 1] + self._new_ends[k - 1])

    def map_many(
        self,
        offsets: Sequence[int] | np.ndarray,
        *,
        side: Literal["left", "right"] = "left",
    ) -> np.ndarray:
        """Map many offsets at once (vectorised ``map``).

        Args:
            offsets: Offsets of the old text, any shape.
            side: As for ``map``.

        Returns:
            An int64 array of the same shape.

        Raises:
            ValueError: An offset is outside the old text.
        """
        values = np.asarray(offsets, dtype=np.int64)
        if values.size and (values.min() < 0 or values.max() > self.old_length):
            raise ValueError(
                f"offsets must lie between 0 and {self.old_length}; got "
                f"{values.min()} to {values.max()}"
            )
        if not len(self._old_starts):
            return values.copy()
        k = np.searchsorted(self._old_ends, values, side="right")
        shift = np.where(
            k > 0, self._new_ends[k - 1] - self._old_ends[k - 1], 0
        ).astype(np.int64)
        mapped = values + shift
        inside_k = np.minimum(k, len(self._old_starts) - 1)
        inside = (k < len(self._old_starts)) & (self._old_starts[inside_k] < values)
        target = self._new_starts if side == "left" else self._new_ends
        return np.where(inside, target[inside_k], mapped)

    def map_span(self, start: int, end: int) -> Span:
        """Map a span; one that overlaps a redacted part covers its placeholder.

        A span that only touches a redacted part (ends where it starts, or
        starts where it ends) does not take in the placeholder.

        Args:
            start: Start of the span in the old text.
            end: Its end (``start <= end``).

        Returns:
            The span in the redacted text.
        """
        if start > end:
            raise ValueError(f"span out of order: start={start}, end={end}")
        return Span(self.map(start, side="left"), self.map(end, side="right"))

    def map_spans(self, spans: Sequence[tuple[int, int]] | np.ndarray) -> np.ndarray:
        """Map many spans at once: an ``(n, 2)`` array of starts and ends."""
        pairs = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        return np.stack(
            [
                self.map_many(pairs[:, 0], side="left"),
                self.map_many(pairs[:, 1], side="right"),
            ],
            axis=1,
        )


@dataclass(frozen=True, slots=True)
class Redacted:
    """A redacted text and the map from the old text's offsets to it."""

    text: str
    offsets: OffsetMap


def placeholder_for(kind: str) -> str:
    """The placeholder that replaces an identifier: ``[PERSON]``, ``[EMAIL]``..."""
    return f"[{kind}]"


def redact(text: str, findings: Iterable[Finding]) -> Redacted:
    """Replace each finding with its kind in square brackets.

    Overlapping findings are redacted as one, with the kind of the first.

    Args:
        text: The text the findings' offsets refer to.
        findings: Where the identifiers are.

    Returns:
        The redacted text and an ``OffsetMap`` from old offsets to new ones.

    Raises:
        ValueError: A finding lies outside the text.
    """
    parts: list[tuple[int, int, str]] = []
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if finding.end > len(text):
            raise ValueError(
                f"finding {finding.kind} at {finding.start}-{finding.end} lies "
                f"outside the text ({len(text)} characters); redact the text the "
                "findings were made on"
            )
        if parts and finding.start < parts[-1][1]:
            last = parts[-1]
            parts[-1] = (last[0], max(last[1], finding.end), last[2])
        else:
            parts.append((finding.start, finding.end, finding.kind))
    pieces: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    position = 0
    length = 0
    for start, end, kind in parts:
        pieces.append(text[position:start])
        length += start - position
        placeholder = placeholder_for(kind)
        new_starts.append(length)
        pieces.append(placeholder)
        length += len(placeholder)
        new_ends.append(length)
        position = end
    pieces.append(text[position:])
    offsets = OffsetMap(
        [p[0] for p in parts],
        [p[1] for p in parts],
        new_starts,
        new_ends,
        old_length=len(text),
    )
    return Redacted(text="".join(pieces), offsets=offsets)


def redact_transcript(
    transcript: Transcript, findings: Iterable[Finding]
) -> Transcript:
    """Return a copy of a transcript with its identifiers replaced by placeholders.

    Turn offsets are carried over, so ``text[turn.start:turn.end]`` is the
    redacted speech; the copy gets a note with the counts per kind.

    Args:
        transcript: The document (left unchanged).
        findings: Its findings; findings of other documents are an error.

    Returns:
        The redacted transcript (the same object when there is nothing to redact).

    Raises:
        ValueError: A finding belongs to another document or lies outside it.
    """
    own = []
    for finding in findings:
        if finding.document_id not in ("", transcript.document_id):
            raise ValueError(
                f"a finding of document {finding.document_id!r} was given to "
                f"redact_transcript for {transcript.document_id!r}; pass only "
                "that document's findings"
            )
        own.append(finding)
    if not own:
        return transcript
    redacted = redact(transcript.text, own)
    turns = []
    for turn in transcript.turns:
        start, end = redacted.offsets.map_span(turn.start, turn.end)
        turns.append(replace(turn, start=start, end=end))
    note = f"anonymise: redacted {len(own)} identifiers ({describe_counts(own)})"
    return replace(
        transcript,
        text=redacted.text,
        turns=tuple(turns),
        notes=(*transcript.notes, note),
    )


# ---------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------


def describe_counts(findings: Iterable[Finding]) -> str:
    """Counts per kind as text, e.g. ``"PERSON 2, EMAIL 1"`` (never the text)."""
    counts = Counter(finding.kind for finding in findings)
    return ", ".join(f"{kind} {counts[kind]}" for kind in KINDS if counts[kind])


@dataclass(frozen=True, slots=True, kw_only=True)
class AnonymiseResult:
    """What the check found and what the policy did.

    Attributes:
        policy: The policy applied.
        transcripts: The documents for the next stages: unchanged (``report``),
            redacted (``redact``) or without the blocked ones (``block``).
        quarantined: The blocked documents and why (counts per kind only).
        findings: Every finding, in document order (offsets into the original
            texts).
        document_ids: Every document checked, in order.

    """

    policy: Policy
    transcripts: tuple[Transcript, ...]
    quarantined: tuple[Quarantined, ...]
    findings: tuple[Finding, ...]
    document_ids: tuple[str, ...]

    def counts(self) -> dict[str, dict[str, int]]:
        """Findings per document and kind; every document checked is a key."""
        counts: dict[str, dict[str, int]] = {doc_id: {} for doc_id in self.document_ids}
        for finding in self.findings:
            per_kind = counts.setdefault(finding.document_id, {})
            per_kind[finding.kind] = per_kind.get(finding.kind, 0) + 1
        return counts

    def findings_table(self) -> pd.DataFrame:
        """The findings as a DataFrame with the columns of ``FINDING_COLUMNS``."""
        import pandas as pd

        frame = pd.DataFrame(
            [[getattr(f, name) for name in FINDING_COLUMNS] for f in self.findings],
            columns=list(FINDING_COLUMNS),
        )
        return frame.astype(
            {
                "document_id": "string",
                "kind": "string",
                "start": "int64",
                "end": "int64",
                "detector": "string",
            }
        )


def apply_policy(
    transcripts: Iterable[Transcript],
    checker: IdentifierChecker,
    policy: Policy | None = None,
    *,
    cache: FindingsCache | None = None,
) -> AnonymiseResult:
    """Check a corpus and report, redact or block what is found.

    Args:
        transcripts: The documents (never changed in place).
        checker: The configured checker; its rules follow ``policy`` (see
            :meth:`IdentifierChecker.for_policy`).
        policy: ``report``, ``redact`` or ``block``; defaults to
            ``checker.config.policy``.
        cache: Findings of earlier checks (see :class:`FindingsCache`).

    Returns:
        The documents to carry on with, the quarantined ones and the findings.

    Raises:
        ValueError: The policy is not one of the three.
    """
    policy = policy if policy is not None else checker.config.policy
    if policy not in ("report", "redact", "block"):
        raise ValueError(
            f"policy must be 'report', 'redact' or 'block', got {policy!r}"
        )
    checker = checker.for_policy(policy)
    transcripts = tuple(transcripts)
    findings = checker.check_many(transcripts, cache=cache)
    by_document: dict[str, list[Finding]] = {}
    for finding in findings:
        by_document.setdefault(finding.document_id, []).append(finding)
    kept: list[Transcript] = []
    quarantined: list[Quarantined] = []
    for transcript in transcripts:
        own = by_document.get(transcript.document_id, [])
        if not own or policy == "report":
            kept.append(transcript)
        elif policy == "redact":
            kept.append(redact_transcript(transcript, own))
        else:
            quarantined.append(
                Quarantined(
                    source=transcript.source,
                    reason=(
                        f"blocked by the anonymisation check: {len(own)} possible "
                        f"identifiers in the speech ({describe_counts(own)}); "
                        "anonymise the transcript, add false alarms to "
                        "anonymise.allowlist, or set anonymise.policy to redact"
                    ),
                )
            )
    n_flagged = len(by_document)
    logger.info(
        "anonymise: %d possible identifiers in %d of %d documents%s; policy %s",
        len(findings),
        n_flagged,
        len(transcripts),
        f" ({describe_counts(findings)})" if findings else "",
        policy,
    )
    if policy == "block" and quarantined:
        logger.warning(
            "anonymise: %d documents blocked for possible identifiers", len(quarantined)
        )
    return AnonymiseResult(
        policy=policy,
        transcripts=tuple(kept),
        quarantined=tuple(quarantined),
        findings=tuple(findings),
        document_ids=tuple(t.document_id for t in transcripts),
    )


def offset_maps(
    result: AnonymiseResult, originals: Mapping[str, int]
) -> dict[str, dict]:
    """The offset maps of redacted documents as numbers, for ``anonymisation.json``.

    Args:
        result: A ``redact`` result.
        originals: Document id to the length of its original text.

    Returns:
        Document id to ``old_starts, old_ends, new_starts, new_ends, old_length``;
        only numbers, never text.
    """
    if result.policy != "redact":
        return {}
    by_document: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_document.setdefault(finding.document_id, []).append(finding)
    maps = {}
    for document_id, findings in by_document.items():
        length = originals[document_id]
        offsets = redact(
            " " * length, findings
        ).offsets  # the same parts as the real text
        maps[document_id] = {
            "old_starts": offsets._old_starts.tolist(),
            "old_ends": offsets._old_ends.tolist(),
            "new_starts": offsets._new_starts.tolist(),
            "new_ends": offsets._new_ends.tolist(),
            "old_length": length,
        }
    return maps


def offset_map_from(data: Mapping) -> OffsetMap:
    """Rebuild an ``OffsetMap`` from :func:`offset_maps`' numbers."""
    return OffsetMap(
        data["old_starts"],
        data["old_ends"],
        data["new_starts"],
        data["new_ends"],
        old_length=int(data["old_length"]),
    )


def check_corpus(
    ingested,
    config: AnonymiseConfig,
    *,
    checker: IdentifierChecker | None = None,
    cache: FindingsCache | None = None,
):
    """Run the identifier check on what ingest read and apply the policy.

    Args:
        ingested: An :class:`~pipeline.io.ingest.IngestResult`.
        config: The ``anonymise`` section.
        checker: A checker to reuse (its model stays loaded).
        cache: Findings of earlier checks: only new or changed documents are checked.

    Returns:
        ``(ingest result for the next stages, AnonymiseResult, report)``: the
        transcripts unchanged, redacted or without the blocked ones, blocked
        documents added to the quarantine; the report holds the policy,
        counts per document and kind, and offset maps of redacted documents.
    """
    checker = checker or IdentifierChecker(config)
    result = apply_policy(ingested.transcripts, checker, config.policy, cache=cache)
    lengths = {t.document_id: len(t.text) for t in ingested.transcripts}
    report = {
        "policy": result.policy,
        "n_findings": len(result.findings),
        "documents_with_findings": sum(1 for c in result.counts().values() if c),
        "counts": {d: c for d, c in result.counts().items() if c},
        "offset_maps": offset_maps(result, lengths),
    }
    kept = replace(
        ingested,
        transcripts=result.transcripts,
        quarantined=ingested.quarantined + result.quarantined,
    )
    return kept, result, report


_CHECKERS: dict[AnonymiseConfig, IdentifierChecker] = {}


def cached_checker(config: AnonymiseConfig) -> IdentifierChecker:
    """One checker (and spaCy model) per process and setting."""
    if config not in _CHECKERS:
        _CHECKERS[config] = IdentifierChecker(config)
    return _CHECKERS[config]
