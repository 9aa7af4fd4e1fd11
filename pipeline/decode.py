"""Bytes to normalised text: decoding, encoding detection, line endings.

UTF-8 is expected (a byte-order mark is tolerated). Anything else is detected
with ``charset-normalizer``, converted, and reported with the file name.
Binary files and text that no encoding fits are refused with a clear reason.
The result has ``\\n`` line endings; every offset in the project refers to it.
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
_PREFERRED_LEGACY = "cp1252"


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
                return data.decode(encoding), encoding, None
            except UnicodeDecodeError as error:
                raise InputFormatError(
                    f"{source}: starts with a {encoding} byte-order mark but is not "
                    f"valid {encoding} (byte {error.start})"
                ) from error
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise InputFormatError(
            f"{source}: contains NUL bytes and no UTF-16 byte-order mark; this looks "
            "like a binary file, not a text transcript"
        )
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        raise InputFormatError(
            f"{source}: cannot be decoded: not UTF-8, and no other text encoding fits; "
            "save it as UTF-8 and try again"
        )
    best = matches[0]
    # Short texts fit several single-byte encodings equally well; among the
    # equally good ones, prefer Windows-1252, by far the commonest legacy
    # encoding of English transcripts.
    for match in matches:
        tied = match.chaos <= best.chaos and match.coherence >= best.coherence - 0.01
        if tied and _PREFERRED_LEGACY in match.could_be_from_charset:
            best = match
            break
    encoding = (
        _PREFERRED_LEGACY
        if _PREFERRED_LEGACY in best.could_be_from_charset
        else best.encoding
    )
    text = data.decode(encoding)
    note = (
        f"{source}: not UTF-8; decoded as {encoding} and converted "
        "(check accented characters, and save it as UTF-8 to silence this)"
    )
    return text, encoding, note
