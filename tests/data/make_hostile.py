"""Recreate the hostile-input corpus in ``tests/data/hostile/`` (small files only).

Run from the project root: ``.venv/bin/python tests/data/make_hostile.py``.
The large cases (a 1.5-million-character line, a CSV with a 50 MB field) are
made by the test itself, in a temporary folder.
"""

import zipfile
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "hostile"
TEMPLATE = HERE / "corpus" / "word_plain.docx"


def docx_with(
    name: str,
    replace: dict[str, bytes] | None = None,
    extra: dict[str, bytes] | None = None,
) -> None:
    with (
        zipfile.ZipFile(TEMPLATE) as source,
        zipfile.ZipFile(OUT / name, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = (replace or {}).get(item.filename, source.read(item))
            target.writestr(item.filename, data)
        for entry, data in (extra or {}).items():
            target.writestr(entry, data)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / "good.txt").write_text(
        "Interviewer: How did you learn the job?\n"
        "P1: By doing it, mostly. Nobody trained me.\n"
        "Interviewer: Anyone to turn to?\nP1: Not really, it is a lonely role.\n"
    )
    (OUT / "good_too.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Interviewer>Who helps you?</v>\n\n"
        "00:00:04.000 --> 00:00:07.000\n<v Respondent 2>My old mentor, still.</v>\n"
    )
    bomb = (
        b'<?xml version="1.0"?><w:document xmlns:w="urn:x">'
        + b" " * 50_000_000
        + b"</w:document>"
    )
    docx_with("zip_bomb.docx", replace={"word/document.xml": bomb})
    docx_with("traversal.docx", extra={"../../escaped.txt": b"written outside?"})
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;'
        b'&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&lol3;</w:t></w:r></w:p></w:body></w:document>"
    )
    docx_with("billion_laughs.docx", replace={"word/document.xml": laughs})
    external = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>"
    )
    docx_with("external_entity.docx", replace={"word/document.xml": external})
    with zipfile.ZipFile(TEMPLATE) as source:
        document = source.read("word/document.xml")
    docx_with(
        "broken_xml.docx", replace={"word/document.xml": document[: len(document) // 2]}
    )
    (OUT / "nul_bytes.txt").write_bytes(b"Interviewer: Hi?\nP1: Hello\x00\x00 there.\n")
    (OUT / "reversed.vtt").write_text(
        "WEBVTT\n\n00:00:09.000 --> 00:00:02.000\n<v Interviewer>Backwards?</v>\n\n"
        "00:00:10.000 --> 00:00:12.000\n<v P1>Yes.</v>\n"
    )
    (OUT / "overlapping.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:20.000\n<v Interviewer>Long question?</v>\n\n"
        "00:00:05.000 --> 00:00:08.000\n<v P1>Interrupting.</v>\n"
    )
    (OUT / "picture.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)


if __name__ == "__main__":
    main()
