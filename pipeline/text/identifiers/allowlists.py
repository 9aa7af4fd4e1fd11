"""What the identifier check never flags: placeholders, masks and allowed terms.

Placeholders (anything in square, angle or curly brackets, ``[Name]``,
``<PERSON>``, ``{name}``), masks such as ``X``, ``XXX`` or ``***``, fillers of
speech, the terms of the built-in lists chosen in
``AnonymiseConfig.allowlist_groups`` (NHS terms; funders, review boards and
regulators; platforms and software; countries and states), generic words and
the terms of ``AnonymiseConfig.allowlist``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pipeline.config.inputs import AllowlistGroup

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

_WORD = re.compile(r"[^\W_](?:[\w'’&.-]*\w)?")


class Allowlist:
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

    def is_listed(self, fragment: str) -> bool:
        """Tell whether a fragment is an allowed term (spacing and case ignored)."""
        return " ".join(fragment.split()).casefold() in self.exact
