"""Speaker labels and roles: from labelled lines to speaker turns.

Every transcript format ends here. A reader turns its source into normalised
text plus a list of :class:`Line` (where each line is, and the speaker label it
starts with, if any; :mod:`pipeline.io.readers.labels` keeps only the labels the
document confirms); :func:`assemble_turns` then applies one set of rules to
all formats:

- a labelled line starts a new turn; a line without a label continues the
  previous turn, or, when only the interviewer is labelled (or with
  ``unlabelled_lines: participant``), starts a participant turn after an
  interviewer turn;
- a label alone on its line takes the following lines as its speech;
- lines before the first label of a labelled document are a preamble (a title,
  a header) and are not speech, unless only the interviewer is labelled;
- a document without any label is one participant turn.

Roles: a label matching ``interviewer_names`` or ``interviewer_patterns`` is the
interviewer's; when there is none, :func:`infer_interviewer` takes the speaker
who asks the questions, and says so in a note with the evidence.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from pipeline.config.inputs import DEFAULT_LABEL_PATTERN, SpeakerConfig
from pipeline.records import Role, Turn

_QUESTION_STARTS = re.compile(
    r"(?:what|why|how|when|where|who|whom|whose|which|could|can|would|will|do|"
    r"does|did|is|are|was|were|have|has|should|tell me|describe|explain|"
    r"talk me|walk me)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLOSERS = "\"'\u2019\u201d)] \t\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """A line of the normalised text and the speaker label it starts with.

    Attributes:
        start: Offset of the line's first character.
        end: Offset of the line's end (its ``\\n`` or the end of the text).
        speaker: The label, or ``None`` for an unlabelled line.
        content_start: Offset where the speech starts (after the label).
        time: Seconds given by a timestamp in the label, if any.
        time_end: End time of the line (cue timings), if known.
        confirmed: The speaker comes from the document's structure (a table's
            speaker column), not from a pattern, and is kept as it is.

    """

    start: int
    end: int
    speaker: str | None = None
    content_start: int | None = None
    time: float | None = None
    time_end: float | None = None
    confirmed: bool = False


class SpeakerRules:
    """Compiled speaker settings: finds labels and tells roles apart.

    Args:
        config: The ``ingest.speakers`` section.

    """

    def __init__(self, config: SpeakerConfig) -> None:
        self.config = config
        self.label_re = re.compile(config.label_pattern, re.MULTILINE)
        self.confirms_labels = config.label_pattern == DEFAULT_LABEL_PATTERN
        self._names = {name.casefold() for name in config.interviewer_names}
        self._patterns = [
            re.compile(p, re.IGNORECASE) for p in config.interviewer_patterns
        ]

    def role_of(self, speaker: str | None) -> Role:
        """Return ``interviewer`` for interviewer labels, else ``participant``."""
        if speaker is None:
            return "participant"
        name = speaker.strip().strip("[]").strip()
        if name.casefold() in self._names or any(
            p.search(name) for p in self._patterns
        ):
            return "interviewer"
        return "participant"

    def is_known_interviewer(self, speaker: str) -> bool:
        """Return whether a label is an interviewer name or pattern."""
        return self.role_of(speaker) == "interviewer"

    def match_label(self, text: str, start: int, end: int) -> Line:
        """Look for a speaker label at the start of ``text[start:end]``.

        Returns:
            A labelled :class:`Line` when the line starts with a label,
            otherwise an unlabelled one.

        """
        match = self.label_re.match(text, start, end)
        if match is None or not match.group("speaker"):
            return Line(start=start, end=end)
        groups = match.groupdict()
        time_text = groups.get("time") or groups.get("time_after")
        return Line(
            start=start,
            end=end,
            speaker=match.group("speaker").strip(),
            content_start=match.end(),
            time=parse_timestamp(time_text) if time_text else None,
        )

    def label_text_lines(self, text: str) -> list[Line]:
        """Split text into lines and find the label candidate of each."""
        lines = []
        position = 0
        for raw_line in text.split("\n"):
            end = position + len(raw_line)
            lines.append(self.match_label(text, position, end))
            position = end + 1
        return lines


def parse_timestamp(value: str) -> float:
    """Turn ``HH:MM:SS(.mmm)`` or ``MM:SS`` into seconds."""
    parts = value.replace(",", ".").split(":")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


@dataclass(slots=True)
class _OpenTurn:
    speaker: str | None
    role: Role
    time_start: float | None
    time_end: float | None = None
    start: int | None = None
    end: int | None = None


def assemble_turns(
    text: str, lines: list[Line], rules: SpeakerRules
) -> tuple[Turn, ...]:
    """Group labelled lines into speaker turns with exact, trimmed offsets.

    Args:
        text: The normalised document text the lines point into.
        lines: Lines in document order, as found by a reader (labels already
            confirmed, see :func:`pipeline.io.readers.labels.confirm_speaker_labels`).
        rules: Compiled speaker settings.

    Returns:
        Turns whose ``text[start:end]`` is the speech without its label,
        without surrounding white space; turns with no speech are dropped.

    """
    speakers = {line.speaker for line in lines if line.speaker is not None}
    has_labels = bool(speakers)
    new_turn_when_unlabelled = rules.config.unlabelled_lines == "participant" or (
        rules.config.unlabelled_lines == "auto"
        and has_labels
        and all(rules.is_known_interviewer(speaker) for speaker in speakers)
    )
    turns: list[Turn] = []
    current: _OpenTurn | None = None

    def close() -> None:
        if (
            current is not None
            and current.start is not None
            and current.end is not None
        ):
            turns.append(
                Turn(
                    speaker=current.speaker,
                    role=current.role,
                    start=current.start,
                    end=current.end,
                    time_start=current.time_start,
                    time_end=current.time_end,
                )
            )

    for line in lines:
        if line.speaker is not None:
            close()
            current = _OpenTurn(
                line.speaker, rules.role_of(line.speaker), line.time, line.time_end
            )
            content_start = (
                line.content_start if line.content_start is not None else line.start
            )
        else:
            if not text[line.start : line.end].strip():
                continue
            if current is None:
                if has_labels and not new_turn_when_unlabelled:
                    continue  # preamble before the first label: a title, not speech
                current = _OpenTurn(None, "participant", line.time, line.time_end)
            elif (
                new_turn_when_unlabelled
                and current.role == "interviewer"
                # a label on a line of its own: the next line is its speech
                and current.start is not None
            ):
                close()
                current = _OpenTurn(None, "participant", line.time, line.time_end)
            content_start = line.start
        span = _trimmed(text, content_start, line.end)
        if span is not None:
            if current.start is None:
                current.start = span[0]
            current.end = span[1]
            if line.time_end is not None:
                current.time_end = line.time_end
    close()
    return tuple(turns)


def asks_question(speech: str) -> bool:
    """Tell whether a turn asks something.

    That is: its last sentence ends with a question mark, or its first or
    last sentence opens with a question word (``What``, ``Could you``,
    ``Tell me``).
    """
    sentences = _SENTENCE_END.split(speech.strip())
    if not sentences or not sentences[0]:
        return False
    return (
        sentences[-1].rstrip(_CLOSERS).endswith("?")
        or _QUESTION_STARTS.match(sentences[0].lstrip(_CLOSERS)) is not None
        or _QUESTION_STARTS.match(sentences[-1].lstrip(_CLOSERS)) is not None
    )


def infer_interviewer(
    text: str, turns: tuple[Turn, ...], rules: SpeakerRules
) -> tuple[tuple[Turn, ...], str | None]:
    """Find the interviewer among generic labels (``Speaker 1``, ``Speaker 2``).

    Used only when no label of a document is a known interviewer name and
    ``infer_interviewer`` is on: the speaker with the clearly highest share of
    turns that ask something (:func:`asks_question`; at least half of their
    turns, and a quarter more than the next speaker) is taken as the
    interviewer.

    Returns:
        The turns (with roles updated when an interviewer was found) and a note
        for the user saying which label was taken and why, or that no speaker
        was, or None.

    """
    if not rules.config.infer_interviewer or any(
        t.role == "interviewer" for t in turns
    ):
        return turns, None
    asked: Counter[str] = Counter()
    spoken: Counter[str] = Counter()
    for turn in turns:
        if turn.speaker is None:
            continue
        spoken[turn.speaker] += 1
        asked[turn.speaker] += asks_question(text[turn.start : turn.end])
    if len(spoken) < 2:
        return turns, None
    shares = sorted(((asked[s] / spoken[s], s) for s in spoken), reverse=True)
    (best_share, best), (second_share, second) = shares[0], shares[1]
    evidence = (
        f"{best!r} asks questions in {asked[best]} of {spoken[best]} turns, "
        f"{second!r} in {asked[second]} of {spoken[second]}"
    )
    if best_share < 0.5 or best_share - second_share < 0.25:
        note = (
            f"no interviewer label, and no speaker clearly asks the questions "
            f"({evidence}); every turn was read as a participant's (name the "
            "interviewer in ingest.speakers.interviewer_names)"
        )
        return turns, note
    updated = tuple(
        replace(turn, role="interviewer") if turn.speaker == best else turn
        for turn in turns
    )
    note = (
        f"no interviewer label; {evidence}: {best!r} was taken as the "
        "interviewer (set ingest.speakers.interviewer_names to say otherwise)"
    )
    return updated, note


def describe_unlabelled_speech(
    turns: tuple[Turn, ...], rules: SpeakerRules
) -> str | None:
    """Say when unlabelled lines were read as participant speech, else None.

    That happens in a document where only the interviewer is labelled (with
    ``unlabelled_lines: auto``); the note names the setting that changes it.
    """
    if rules.config.unlabelled_lines != "auto":
        return None
    n_unlabelled = sum(1 for turn in turns if turn.speaker is None)
    labelled = {turn.speaker for turn in turns if turn.speaker is not None}
    if not n_unlabelled or not labelled:
        return None
    if any(rules.role_of(speaker) == "participant" for speaker in labelled):
        return None
    return (
        f"only the interviewer is labelled, so {n_unlabelled} passage(s) without "
        "a label were read as participant turns (ingest.speakers.unlabelled_lines: "
        "continue reads them as the interviewer's)"
    )


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Return ``(start, end)`` without leading or trailing white space, or None."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None
