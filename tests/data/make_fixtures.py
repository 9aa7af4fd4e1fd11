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


if __name__ == "__main__":
    plain_labels()
    bold_labels(colon=True, name="word_bold_colon.docx")
    bold_labels(colon=False, name="word_bold.docx")
    table_labels()
    answers_xlsx()
