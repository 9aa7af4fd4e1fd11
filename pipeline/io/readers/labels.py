"""Which line-start labels of a document are speakers: the document decides.

The default label pattern finds label *candidates* of many conventions
(``nR1-04:``, ``P07:``, ``p7 -``, ``Q:``, ``INT<tab>``, ``[Interviewer]``,
``Speaker 2  00:03:12`` on a line of its own); the labels a document repeats at
line starts, and those that look like ids, are its speakers
(:func:`choose_speakers`); one-off phrases such as ``Basically:`` or
``Note:`` stay speech. A label pattern of your own is trusted as it is.
:func:`explain_missing_participants` says why a document has no participant
speech, naming the setting that would fix it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence

from pipeline.records import Turn
from pipeline.text.speakers import Line, SpeakerRules

_MIN_REPEATS = 2
"""A label candidate at the start of this many lines is a speaker."""

_MIN_LABELLED_SHARE = 0.5
"""A once-seen word label counts only where this share of lines is labelled."""

_NOT_SPEAKERS = frozenset(
    """
    note notes nb n.b. ps p.s. example e.g. eg i.e. ie case task step section
    part chapter page figure fig fig. table appendix date time location venue
    place duration length title subject topic re tip hint warning update edit
    source transcript transcriber transcription recording file comment comments
    aside context background summary agenda end start break link url email
    phone tel total version inaudible laughs laughter laughing crosstalk
    cross-talk pause silence unclear overlapping overtalk interruption
    indistinct redacted coughs sighs music noise
    """.split()
)
"""First words of line-start phrases that are not speakers ("Note:", "[laughs]")."""


def choose_speakers(
    labels: Sequence[str],
    *,
    n_lines: int,
    rules: SpeakerRules,
    dashed: Collection[str] = frozenset(),
) -> frozenset[str]:
    """Decide which label candidates of one document are speakers.

    A candidate is never a speaker when it has no letter (``10:``), when its
    first word says it is not (``Note:``, ``Task 3:``, ``[Inaudible]``), or when
    it is a lower-case bracketed remark (``[laughs]``). Otherwise it is a
    speaker when it

    - is a known interviewer label (``interviewer_names``/``_patterns``), or
    - starts at least two lines (the labels a document repeats), or
    - looks like an id: has a digit (``P07``, ``nR1-04``) or brackets
      (``[Participant]``), or
    - is in capitals (``RESP``) and at least half of the document's lines are
      labelled, or
    - is any other word, in a document whose labels never recur and whose
      lines are at least half labelled (a short exchange).

    A label seen once and followed by a dash or a tab, not a colon, is a
    speaker only when it is an interviewer's or an id of the same shape
    recurs (``p9 -`` once beside ``p1 -``, ``p2 -``; not the title
    ``Interview 3 - Trust A``, nor ``NHS - they said`` in running speech).
    So a one-off ``Basically:`` or ``SERDIF -`` in running speech stays text.

    Args:
        labels: The candidate label of each labelled line, in order.
        n_lines: Number of non-blank lines of the document.
        rules: Compiled speaker settings.
        dashed: The labels of ``labels`` followed by a dash or a tab, not a
            colon, wherever they occur.

    Returns:
        The labels that are speakers.

    """
    counts = Counter(label for label in labels if _may_be_speaker(label))
    if not counts:
        return frozenset()
    labelled_share = sum(counts.values()) / max(n_lines, 1)
    dialogue = labelled_share >= _MIN_LABELLED_SHARE
    any_recurs = max(counts.values()) >= _MIN_REPEATS
    recurring_shapes = {
        _shape(label) for label, count in counts.items() if count >= _MIN_REPEATS
    }
    speakers = set()
    for label, count in counts.items():
        if rules.is_known_interviewer(label) or count >= _MIN_REPEATS:
            speakers.add(label)
        elif label in dashed:
            if _looks_like_id(label) and _shape(label) in recurring_shapes:
                speakers.add(label)
        elif _looks_like_id(label) or (
            dialogue and (_is_capitals(label) or not any_recurs)
        ):
            speakers.add(label)
    return frozenset(speakers)


def confirm_speaker_labels(
    text: str, lines: list[Line], rules: SpeakerRules
) -> list[Line]:
    """Keep the labels the document confirms; read the others as text.

    With a label pattern of your own, every label is kept. With the default
    pattern, :func:`choose_speakers` decides; lines whose candidate is not a
    speaker become unlabelled lines (their text is speech).

    Args:
        text: The normalised text the lines point into.
        lines: Lines in document order, as found by a reader.
        rules: Compiled speaker settings.

    Returns:
        The lines, with unconfirmed labels removed.

    """
    if not rules.confirms_labels:
        return list(lines)
    n_lines = sum(
        1
        for line in lines
        if line.speaker is not None or text[line.start : line.end].strip()
    )
    labelled = [
        (
            line.speaker,
            text[line.start : line.content_start]
            if line.content_start is not None
            else "",
        )
        for line in lines
        if line.speaker is not None
    ]
    speakers = confirmed_speakers(labelled, n_lines=n_lines, rules=rules)
    return [
        line
        if line.speaker is None or line.confirmed or line.speaker in speakers
        else Line(start=line.start, end=line.end, time_end=line.time_end)
        for line in lines
    ]


def confirmed_speakers(
    labelled: Sequence[tuple[str, str]], *, n_lines: int, rules: SpeakerRules
) -> frozenset[str]:
    """Decide which labels found at line starts are a document's speakers.

    With a label pattern of your own every label is a speaker; with the
    default pattern, :func:`choose_speakers` decides.

    Args:
        labelled: Per labelled line, its label and the line's text up to where
            the speech starts (to tell a dash or a tab from a colon).
        n_lines: Number of non-blank lines of the document.
        rules: Compiled speaker settings.

    Returns:
        The labels that are speakers.

    """
    labels = [label for label, _ in labelled]
    if not rules.confirms_labels:
        return frozenset(labels)
    dashed = {label for label, prefix in labelled if is_dashed_label(prefix, label)}
    return choose_speakers(labels, n_lines=n_lines, rules=rules, dashed=dashed)


def _may_be_speaker(label: str) -> bool:
    name = label.strip("[]").strip()
    if not any(char.isalpha() for char in name):
        return False
    if label.startswith("[") and not any(char.isupper() for char in name):
        return False  # [laughs], [inaudible]: a remark, not a speaker
    first_word = name.split()[0].casefold()
    return first_word not in _NOT_SPEAKERS and first_word.rstrip(".") not in (
        _NOT_SPEAKERS
    )


def is_dashed_label(prefix: str, speaker: str) -> bool:
    """Tell whether a label is followed by a dash or a tab, not a colon.

    Args:
        prefix: The line's text up to where the speech starts.
        speaker: The label found in it.

    """
    separator = prefix[prefix.rfind(speaker) + len(speaker) :]
    return ":" not in separator and any(char in separator for char in "-\u2013\t")


def _shape(label: str) -> str:
    """A label with its numbers masked: ``P07`` and ``p9`` are both ``p#``."""
    return re.sub(r"\d+", "#", label.casefold())


def _looks_like_id(label: str) -> bool:
    return label.startswith("[") or any(char.isdigit() for char in label)


def _is_capitals(label: str) -> bool:
    letters = [char for char in label if char.isalpha()]
    return len(letters) >= 3 and all(char.isupper() for char in letters)


def explain_missing_participants(
    text: str, turns: tuple[Turn, ...], rules: SpeakerRules
) -> str:
    """The quarantine reason of a document with no participant speech.

    It names the setting most likely to fix it, and never quotes the text.

    Args:
        text: The document's normalised text.
        turns: Its turns (none of them a participant's).
        rules: Compiled speaker settings.

    Returns:
        A one-line reason.

    """
    if not turns:
        return (
            "no speech found (the file has no text after removing labels and "
            "blank lines)"
        )
    lines = rules.label_text_lines(text)
    kept = confirm_speaker_labels(text, lines, rules)
    n_unconfirmed = sum(
        1
        for found, confirmed in zip(lines, kept, strict=True)
        if found.speaker is not None and confirmed.speaker is None
    )
    n_unlabelled = sum(
        1
        for line in kept
        if line.speaker is None and text[line.start : line.end].strip()
    )
    fixes = []
    if n_unconfirmed:
        fixes.append(
            f"{n_unconfirmed} line(s) start with a label-like word that was not "
            "taken as a speaker: describe the participants' labels with "
            "ingest.speakers.label_pattern"
        )
    if n_unlabelled and rules.config.unlabelled_lines == "continue":
        fixes.append(
            f"{n_unlabelled} line(s) without a label were read as the "
            "interviewer's: set ingest.speakers.unlabelled_lines to auto or "
            "participant"
        )
    fixes.append(
        "if a label taken as the interviewer's is a participant's, take it out "
        "of ingest.speakers.interviewer_names (or interviewer_patterns)"
    )
    return (
        f"no participant speech: all {len(turns)} turns are by the interviewer; "
        + "; or ".join(fixes)
    )
