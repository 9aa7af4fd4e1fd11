"""Subtitle transcripts: WebVTT (Teams, Zoom) and SubRip (``.srt``).

The speaker of a cue comes from its voice tag (``<v Jane Doe>``, as Teams
writes it) or from a label at the start of its text (``Jane Doe: ...``, as
Zoom writes it); a cue with neither continues the previous speaker.
Consecutive cues of one speaker become one turn: one line of the normalised
text, ``Speaker: cue text cue text ...``, the cue texts joined by a space.
Cue timings are kept on the turn. Cues whose end comes before their start,
or that start before the previous cue ended (beyond a small tolerance), make
the file invalid: such timings mean a broken export.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from pipeline.errors import InputFormatError
from pipeline.io.readers.base import (
    LineBuilder,
    ParsedDocument,
    ReadContext,
    decode_transcript,
)
from pipeline.io.readers.labels import confirmed_speakers
from pipeline.text.speakers import assemble_turns


@dataclass(slots=True)
class _Cue:
    speaker: str | None
    text: str
    start: float
    end: float


def read_vtt(data: bytes, context: ReadContext) -> ParsedDocument:
    """Read a WebVTT transcript (``.vtt``).

    Args:
        data: The file's bytes.
        context: Source name and settings.

    Returns:
        The normalised text (one line per speaker turn) and its turns.

    Raises:
        InputFormatError: Not WebVTT, a malformed cue, or impossible timings.

    """
    return _read_subtitles(data, context, subtitle_format="vtt")


def read_srt(data: bytes, context: ReadContext) -> ParsedDocument:
    """Read a SubRip transcript (``.srt``); speakers as labels in the cue text.

    Args:
        data: The file's bytes.
        context: Source name and settings.

    Returns:
        The normalised text (one line per speaker turn) and its turns.

    Raises:
        InputFormatError: Not SubRip, a malformed cue, or impossible timings.

    """
    return _read_subtitles(data, context, subtitle_format="srt")


def _read_subtitles(
    data: bytes, context: ReadContext, *, subtitle_format: str
) -> ParsedDocument:
    # heavy: kept out of start-up
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    decoded = decode_transcript(data, context)
    try:
        captions = webvtt.from_buffer(
            io.StringIO(decoded.text), format=subtitle_format
        ).captions
    except (MalformedFileError, MalformedCaptionError, ValueError, IndexError) as error:
        raise InputFormatError(
            f"{context.source}: not a valid {subtitle_format.upper()} file ({error})"
        ) from error
    cues = _cues_with_speakers(captions, context)
    _check_timings(cues, context)
    builder = LineBuilder()
    for speaker, group in _group_by_speaker(cues):
        builder.add_turn(
            " ".join(cue.text for cue in group),
            speaker=speaker,
            time=group[0].start,
            time_end=group[-1].end,
        )
    if not builder.lines:
        raise InputFormatError(f"{context.source}: no cues with text")
    text = builder.text
    return ParsedDocument(
        text=text,
        turns=assemble_turns(text, builder.lines, context.rules),
        encoding=decoded.encoding,
        notes=decoded.notes,
    )


def _cues_with_speakers(captions, context: ReadContext) -> list[_Cue]:
    texts = [" ".join(caption.text.split()) for caption in captions]
    voices = [
        caption.voice.strip() if getattr(caption, "voice", None) else None
        for caption in captions
    ]
    found = [
        context.rules.match_label(text, 0, len(text)) if voice is None else None
        for text, voice in zip(texts, voices, strict=True)
    ]
    # a label in the cue text is a speaker only when the document confirms it
    # (as in .txt files): "So: ..." in one cue is speech
    speakers = confirmed_speakers(
        [
            (line.speaker, text[: line.content_start])
            for text, line in zip(texts, found, strict=True)
            if line is not None and line.speaker is not None
        ],
        n_lines=sum(1 for text in texts if text),
        rules=context.rules,
    )
    cues = []
    previous_speaker: str | None = None
    for caption, text, speaker, line in zip(
        captions, texts, voices, found, strict=True
    ):
        if not text:
            continue
        if line is not None and line.speaker in speakers:
            speaker = line.speaker
            text = text[line.content_start :].strip()
        if speaker is None:
            speaker = previous_speaker
        previous_speaker = speaker
        if text:
            # caption.start_in_seconds drops the milliseconds: parse the text
            cues.append(
                _Cue(speaker, text, _seconds(caption.start), _seconds(caption.end))
            )
    return cues


def _seconds(timestamp: str) -> float:
    hours, minutes, seconds = timestamp.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _check_timings(cues: list[_Cue], context: ReadContext) -> None:
    tolerance = context.config.limits.vtt_overlap_tolerance_seconds
    previous_end = None
    for number, cue in enumerate(cues, start=1):
        if cue.end < cue.start:
            raise InputFormatError(
                f"{context.source}: cue {number} ends ({cue.end:.3f} s) before it "
                f"starts ({cue.start:.3f} s); the file's timings are broken"
            )
        if previous_end is not None and cue.start < previous_end - tolerance:
            raise InputFormatError(
                f"{context.source}: cue {number} starts at {cue.start:.3f} s, before "
                f"the previous cue ends ({previous_end:.3f} s); cues overlap or are "
                "out of order (ingest.limits.vtt_overlap_tolerance_seconds sets the "
                "tolerance)"
            )
        previous_end = max(previous_end or 0.0, cue.end)


def _group_by_speaker(cues: list[_Cue]) -> list[tuple[str | None, list[_Cue]]]:
    groups: list[tuple[str | None, list[_Cue]]] = []
    for cue in cues:
        if groups and groups[-1][0] == cue.speaker:
            groups[-1][1].append(cue)
        else:
            groups.append((cue.speaker, [cue]))
    return groups
