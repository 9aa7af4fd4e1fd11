"""Regular expressions for the identifiers found by their shape, compiled once.

``EMAIL``, ``URL``, ``PHONE`` (UK and North American numbers), ``POSTCODE``
(full UK postcodes, Canadian postal codes, US ZIP codes after a state or a
street address), ``NHS_NUMBER``, ``NI_NUMBER``, ``SSN``, ``SIN`` and
``DATE_OF_BIRTH`` (a date next to a birth word), and the cue rules used when
recall comes first (``redact`` and ``block``).
"""

from __future__ import annotations

import re

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
DIGITS = re.compile(r"\d+")

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
ZIP_AFTER_STREET_WINDOW = 60
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
SENTENCE_BREAK = re.compile(r"[.!?](?:\s|$)|\n")
BIRTH_WINDOW_BEFORE = 50
BIRTH_WINDOW_AFTER = 30

# Cue rules, used under redact and block (recall first): a string of the right
# shape that starts within CUE_WINDOW characters after its cue is flagged even
# when the checksum or prefix rule says it was never issued ("NI number QQ 12 34
# 56 C", an NHS number with a wrong check digit): a mistyped identifier is
# still one. Report keeps the strict rules, to avoid false alarms.
CUE_WINDOW = 40
# nine digits in any grouping: 123-45-6789, 123 456 789, 123456789
_NINE_DIGITS = re.compile(r"(?<![\w+/.-])\d(?:[ .-]?\d){8}(?![ .-]?\d)(?![\w/])")
CUE_RULES: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = tuple(
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
