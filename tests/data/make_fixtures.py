"""Recreate the binary test fixtures (.docx, .xlsx) in this folder.

Run from the project root: ``.venv/bin/python tests/data/make_fixtures.py``.
The files are committed; this script documents how they were made.
"""

from pathlib import Path

import docx
import pandas as pd
from docx.shared import Pt

HERE = Path(__file__).parent
TURNS = [
    ("Interviewer", "How did you come into management?"),
    ("Participant", "I was a ward sister first. Then the matron post came up."),
    ("Interviewer", "Did anyone train you?"),
    ("Participant", "Not really. You learn by doing, and by making mistakes."),
]


def plain_labels() -> None:
    document = docx.Document()
    document.add_paragraph("Interview transcript – [Trust B] – clinical manager")
    for speaker, text in TURNS:
        document.add_paragraph(f"{speaker}: {text}")
    document.save(HERE / "corpus" / "word_plain.docx")


def bold_labels(colon: bool, name: str) -> None:
    document = docx.Document()
    heading = document.add_paragraph()
    heading.add_run("Transcript of interview 5").bold = True
    for speaker, text in TURNS:
        paragraph = document.add_paragraph()
        label = paragraph.add_run(speaker + (":" if colon else ""))
        label.bold = True
        label.font.size = Pt(11)
        paragraph.add_run((" " if colon else "\t") + text)
    document.save(HERE / "corpus" / name)


def table_labels() -> None:
    document = docx.Document()
    document.add_paragraph("Interview 11")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Speaker"
    table.rows[0].cells[1].text = "Text"
    for speaker, text in TURNS:
        cells = table.add_row().cells
        cells[0].text = speaker
        cells[1].text = text
    document.save(HERE / "corpus" / "word_table.docx")


def answers_xlsx() -> None:
    frame = pd.DataFrame(
        {
            "id": ["x1", "x2", "x3"],
            "answer": ["Great care from the crew.", "", "The call handler was rude."],
            "site": ["Trust A", "Trust A", "Trust C"],
        }
    )
    frame.to_excel(HERE / "answers.xlsx", index=False)


QDPX_TEXT = (
    "Interviewer: Café first – how did you learn?\r\n"
    "P1: Naïve at first 🙂. I learnt on the job, really.\r\n"
    "Interviewer: And support?\r\n"
    "P1: My mentor helped me a lot – she still does.\r\n"
)


def qdpx_fixture() -> None:
    """A REFI-QDA project.

    Nested codes, two users, offsets after non-ASCII, CRLF text.
    """
    import zipfile

    text = QDPX_TEXT

    def span(phrase: str) -> tuple[int, int]:
        start = text.index(phrase)
        return start, start + len(phrase)

    ann, bob = (
        "aaaaaaaa-0000-0000-0000-000000000001",
        "bbbbbbbb-0000-0000-0000-000000000002",
    )
    codes = {
        "parent": "c0000000-0000-0000-0000-000000000000",
        "experience": "c0000000-0000-0000-0000-000000000001",
        "support": "c0000000-0000-0000-0000-000000000002",
    }
    selections = [
        ("s1", span("I learnt on the job, really."), codes["experience"], ann),
        ("s2", span("My mentor helped me a lot"), codes["support"], ann),
        (
            "s3",
            span("My mentor helped me a lot – she still does."),
            codes["support"],
            bob,
        ),
        ("s4", span("Naïve at first 🙂."), codes["experience"], bob),
    ]
    selection_xml = "".join(
        f'<PlainTextSelection guid="5e1ec700-0000-0000-0000-00000000000{i}" '
        f'startPosition="{start}" endPosition="{end}" creatingUser="{user}">'
        f'<Coding guid="c0d10000-0000-0000-0000-00000000000{i}" creatingUser="{user}">'
        f'<CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>'
        for i, (_, (start, end), code, user) in enumerate(selections, start=1)
    )
    project = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Project xmlns="urn:QDA-XML:project:1.0" name="fixture" origin="hand-written">'
        f'<Users><User guid="{ann}" name="Ann"/><User guid="{bob}" name="Bob"/></Users>'
        "<CodeBook><Codes>"
        f'<Code guid="{codes["parent"]}" name="Learning" isCodable="true">'
        "<Description>How managers learn</Description>"
        f'<Code guid="{codes["experience"]}" name="Learning from experience" '
        'isCodable="true"/>'
        f'<Code guid="{codes["support"]}" name="Support ties" isCodable="true"/>'
        "</Code></Codes></CodeBook>"
        '<Sources><TextSource guid="50000000-0000-0000-0000-000000000001" '
        'name="interview_q.txt" '
        'plainTextPath="internal://50000000-0000-0000-0000-000000000001.txt">'
        f"{selection_xml}</TextSource></Sources></Project>"
    )
    with zipfile.ZipFile(HERE / "interview.qdpx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", project)
        archive.writestr(
            "sources/50000000-0000-0000-0000-000000000001.txt", text.encode("utf-8")
        )
    (HERE / "qdpx_corpus").mkdir(exist_ok=True)
    (HERE / "qdpx_corpus" / "interview_q.txt").write_bytes(text.encode("utf-8"))


if __name__ == "__main__":
    plain_labels()
    bold_labels(colon=True, name="word_bold_colon.docx")
    bold_labels(colon=False, name="word_bold.docx")
    table_labels()
    answers_xlsx()
    qdpx_fixture()
