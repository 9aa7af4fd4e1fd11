"""Bytes to normalised text: decoding, encoding detection, line endings.

The bytes decide, in this order: a byte-order mark (UTF-8, UTF-16, UTF-32);
valid UTF-8; UTF-16 without a mark (every other byte NUL); else a legacy
single-byte file, read as Windows-1252, the encoding of older Windows files in
Western languages (``café``, ``naïve``, curly quotes, ``£``, en dashes), unless
its bytes are not Windows-1252 or the result does not read as Western text
(Cyrillic or Greek files): then ``charset-normalizer`` names the encoding.
Characters are never replaced or dropped: a file that no encoding fits is
refused, and every encoding but UTF-8 is reported in a note with the file name.
Binary files are refused with a clear reason. The result has ``\\n`` line
endings; every offset in the project refers to it.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from pipeline.errors import InputFormatError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
_MAX_CONTROL_SHARE = 0.01
_LEGACY = "cp1252"
_WINDOWS = frozenset(f"cp{number}" for number in range(1250, 1259))
_MAX_NON_ASCII_LETTERS = 0.3
"""Above this share of non-ASCII letters, Windows-1252 text is not Western."""
_MIN_UTF16_NUL_SHARE = 0.3
"""UTF-16 without a mark: at least this share of the units have a NUL byte."""


@dataclass(frozen=True, slots=True)
class DecodedText:
    """Normalised text and how it was obtained.

    Attributes:
        text: Decoded text with ``\\n`` line endings.
        encoding: The encoding it was decoded from.
        note: A sentence for the user when the encoding was not UTF-8, else None.

    """

    text: str
    encoding: str
    note: str | None = None

    @property
    def notes(self) -> tuple[str, ...]:
        """The note as a tuple of notes: empty for UTF-8 text."""
        return (self.note,) if self.note else ()


def decode_bytes(
    data: bytes, *, source: str, max_line_chars: int | None = None
) -> DecodedText:
    """Decode a file's bytes into normalised text.

    Args:
        data: The raw file content.
        source: The file name, for messages.
        max_line_chars: Refuse text with a line longer than this.

    Returns:
        The normalised text, its encoding and a note when it was converted.

    Raises:
        InputFormatError: The file is empty, binary, holds NUL characters,
            cannot be decoded, or has a line over the limit.

    """
    if not data.strip():
        raise InputFormatError(f"{source}: empty file (no text to read)")
    text, encoding, note = _decode(data, source)
    if "\x00" in text:
        raise InputFormatError(
            f"{source}: contains NUL characters; this looks like a binary file, "
            "not a text transcript"
        )
    n_controls = sum(1 for char in text if char < " " and char not in _ALLOWED_CONTROLS)
    if n_controls > _MAX_CONTROL_SHARE * len(text):
        raise InputFormatError(
            f"{source}: {n_controls} control characters in {len(text)}; this looks "
            "like a binary file, not a text transcript"
        )
    text = normalise_newlines(text)
    if max_line_chars is not None:
        check_line_lengths(text, source=source, max_line_chars=max_line_chars)
    return DecodedText(text=text, encoding=encoding, note=note)


def normalise_newlines(text: str) -> str:
    """Turn ``\\r\\n`` and lone ``\\r`` into ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_line_lengths(text: str, *, source: str, max_line_chars: int) -> None:
    """Raise when a line is longer than ``max_line_chars``, naming the line."""
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > max_line_chars:
            raise InputFormatError(
                f"{source}: line {number} has {len(line):,} characters, over the "
                f"limit of {max_line_chars:,} (ingest.limits.max_line_chars); is this "
                "really a transcript?"
            )


def _decode(data: bytes, source: str) -> tuple[str, str, str | None]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as error:
                raise InputFormatError(
                    f"{source}: starts with a {encoding} byte-order mark but is not "
                    f"valid {encoding} (byte {error.start})"
                ) from error
            note = (
                None
                if encoding == "utf-8-sig"
                else f"{source}: not UTF-8 but {encoding.upper()} (it has a "
                "byte-order mark); read as such"
            )
            return text, encoding, note
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        note = (
            f"{source}: not UTF-8 but {utf16.upper()} without a byte-order mark; "
            "read as such"
        )
        return data.decode(utf16), utf16, note
    if b"\x00" in data:
        raise InputFormatError(
            f"{source}: contains NUL bytes and no UTF-16 byte-order mark; this looks "
            "like a binary file, not a text transcript"
        )
    try:
        text = data.decode(_LEGACY)
    except UnicodeDecodeError:
        text = None  # a byte Windows-1252 does not define: another encoding
    if text is not None and _reads_as_western(text):
        note = (
            f"{source}: not UTF-8; read as Windows-1252 (cp1252), the usual "
            "encoding of older Windows files (check accented characters, and save "
            "it as UTF-8 to silence this)"
        )
        return text, _LEGACY, note
    return _detect(data, source)


def _utf16_without_bom(data: bytes) -> str | None:
    """Name the UTF-16 byte order of text without a mark, or None.

    ASCII-heavy UTF-16 has a NUL in every unit, always on the same side.
    """
    if len(data) < 4 or len(data) % 2:
        return None
    even_nuls = data[0::2].count(0)
    odd_nuls = data[1::2].count(0)
    n_units = len(data) // 2
    for encoding, nuls, others in (
        ("utf-16-le", odd_nuls, even_nuls),
        ("utf-16-be", even_nuls, odd_nuls),
    ):
        if nuls >= _MIN_UTF16_NUL_SHARE * n_units and others == 0:
            try:
                data.decode(encoding)
            except UnicodeDecodeError:
                return None
            return encoding
    return None


def _reads_as_western(text: str) -> bool:
    """Tell whether decoded text looks like a Western language, not mojibake.

    Cyrillic or Greek bytes read as Windows-1252 give mostly accented letters
    (``Ïðèâåò``); English, French or German text has few.
    """
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return True
    non_ascii = sum(1 for char in letters if not char.isascii())
    return non_ascii <= _MAX_NON_ASCII_LETTERS * len(letters)


def _detect(data: bytes, source: str) -> tuple[str, str, str | None]:
    import charset_normalizer  # heavy: kept out of start-up

    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        raise InputFormatError(
            f"{source}: cannot be decoded: not UTF-8, and no other text encoding fits; "
            "save it as UTF-8 and try again"
        )
    best = matches[0]
    encoding = best.encoding
    # Short texts fit several single-byte encodings about equally well; among
    # those, prefer a Windows code page (cp1251 over mac_cyrillic), by far the
    # commonest source of legacy transcripts.
    for match in matches:
        if match.chaos > best.chaos or match.coherence < best.coherence - 0.05:
            continue
        windows = [name for name in match.could_be_from_charset if name in _WINDOWS]
        if windows:
            encoding = windows[0]
            break
    text = data.decode(encoding)
    note = (
        f"{source}: not UTF-8, and not Windows-1252 text; read as {encoding}, the "
        "encoding its bytes fit best (check the characters, and save it as UTF-8 "
        "to silence this)"
    )
    return text, encoding, note
