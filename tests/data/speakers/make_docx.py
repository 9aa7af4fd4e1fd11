"""Recreate the Word files of this convention corpus.

Run from the project root: ``.venv/bin/python tests/data/speakers/make_docx.py``.
The files are committed; this script documents how they were made.
"""

from pathlib import Path

import docx

HERE = Path(__file__).parent


def bold_names() -> None:
    """Speaker names in bold at the start of each paragraph (no colon)."""
    document = docx.Document()
    document.add_paragraph().add_run("Group interview, March").bold = True
    turns = [
        ("Researcher", "What do you remember about the flood?"),
        ("nR3-02", "The water came up to the second stair."),
        ("Researcher", "How long did the repairs take?"),
        ("nR3-02", "Eight months. We lived upstairs the whole time."),
    ]
    for speaker, text in turns:
        paragraph = document.add_paragraph()
        paragraph.add_run(speaker).bold = True
        paragraph.add_run("\t" + text)
    document.save(HERE / "word_bold_names.docx")


def teams_names() -> None:
    """Teams' Word export: the name and a time in one paragraph, then the speech."""
    document = docx.Document()
    turns = [
        ("Dana Whitfield", "0:03", "How often do you use the bus?"),
        ("Leo Marsh", "0:07", "Every weekday, to get to work."),
        ("Dana Whitfield", "0:12", "What would you improve?"),
        ("Leo Marsh", "0:15", "The Sunday timetable. There is hardly a bus."),
    ]
    for speaker, time, text in turns:
        document.add_paragraph(f"{speaker}   {time}")
        document.add_paragraph(text)
    document.save(HERE / "teams_names.docx")


if __name__ == "__main__":
    bold_names()
    teams_names()
