"""Read a corpus into transcripts: a folder of transcripts, or a table of answers.

A corpus is either

- a folder of ``.txt``, ``.docx``, ``.vtt`` and ``.srt`` transcripts (and
  ``.csv``/``.xlsx`` tables), with an optional ``metadata.csv`` beside them
  (``document_id`` plus any columns: site, managerial_group, role, wave), or
- one ``.csv``/``.xlsx`` table of free-text answers (configured id, text and
  metadata columns), one document per row.

One bad file never sinks the run: it is quarantined with a one-line reason and
the rest is read. ``document_id`` is the file stem or the id column; an id
given by two sources quarantines both, naming the other.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.config.inputs import IngestConfig
from pipeline.errors import InputFormatError
from pipeline.io.corpus_files import corpus_root, list_corpus_files
from pipeline.io.decode import decode_bytes
from pipeline.io.readers.base import ReadContext
from pipeline.io.readers.labels import explain_missing_participants
from pipeline.io.readers.parsed_cache import ParsedCache
from pipeline.io.readers.registry import (
    DOCUMENT_READERS,
    SUPPORTED_EXTENSIONS,
    TABLE_EXTENSIONS,
)
from pipeline.io.readers.tables import read_table
from pipeline.progress import report_progress
from pipeline.records import Quarantined, Transcript, Turn
from pipeline.store.cache_keys import parse_key, parse_settings_key
from pipeline.text.speakers import (
    SpeakerRules,
    describe_unlabelled_speech,
    infer_interviewer,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InputFile:
    """A file read by ingest, with its content hash (for provenance and caching)."""

    source: str
    sha256: str
    n_bytes: int


@dataclass(frozen=True, slots=True)
class MetadataReport:
    """How the metadata table matched the documents.

    Attributes:
        file: The metadata file read, or None.
        columns: Metadata columns found.
        unmatched_ids: Metadata rows whose ``document_id`` matches no document.
        documents_without_metadata: Documents that have no metadata row.

    """

    file: str | None = None
    columns: tuple[str, ...] = ()
    unmatched_ids: tuple[str, ...] = ()
    documents_without_metadata: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ingest gives the next stages, and what it could not use.

    Attributes:
        transcripts: Usable documents, sorted by ``document_id``.
        quarantined: Sources that could not be used, each with its reason.
        inputs: Every file read, with its hash.
        notes: Things the user should know (converted encodings, preambles,
            metadata problems); never transcript text.
        metadata: How the metadata table matched.

    """

    transcripts: tuple[Transcript, ...]
    quarantined: tuple[Quarantined, ...]
    inputs: tuple[InputFile, ...]
    notes: tuple[str, ...]
    metadata: MetadataReport


@dataclass(slots=True)
class _Candidate:
    transcript: Transcript
    input_source: str


def ingest_corpus(
    config: IngestConfig,
    corpus: str | Path | None = None,
    *,
    cache: ParsedCache | None = None,
) -> IngestResult:
    """Read every document of a corpus.

    Args:
        config: The ``ingest`` section.
        corpus: The corpus folder or table; defaults to ``config.corpus``.
        cache: Parsed documents from earlier runs, by file content and
            settings: an unchanged file is not parsed again.

    Returns:
        The usable transcripts and a full account of what was not used.

    Raises:
        ConfigError: No corpus was given, or it does not exist.
    """
    root = corpus_root(config, corpus)
    rules = SpeakerRules(config.speakers)
    files, base = list_corpus_files(root, config)
    settings_key = parse_settings_key(
        config.model_dump(mode="json", exclude={"corpus"})
    )
    candidates: list[_Candidate] = []
    quarantined: list[Quarantined] = []
    inputs: list[InputFile] = []
    notes: list[str] = []
    for number, path in enumerate(files, start=1):
        source = path.relative_to(base).as_posix()
        found, lost, input_file, file_notes = _read_source(
            path, source, config, rules, cache=cache, settings_key=settings_key
        )
        candidates.extend(found)
        quarantined.extend(lost)
        notes.extend(file_notes)
        if input_file is not None:
            inputs.append(input_file)
        report_progress("ingest", number, len(files))
    candidates, duplicates = _split_duplicates(candidates)
    quarantined.extend(duplicates)
    transcripts = sorted(
        (c.transcript for c in candidates), key=lambda t: t.document_id
    )
    metadata_report = MetadataReport()
    if root.is_dir():
        transcripts, metadata_report, metadata_notes = _attach_metadata(
            transcripts, root, config
        )
        notes.extend(metadata_notes)
    for transcript in transcripts:
        notes.extend(transcript.notes)
    logger.info(
        "ingest: %d documents read, %d sources quarantined",
        len(transcripts),
        len(quarantined),
    )
    return IngestResult(
        transcripts=tuple(transcripts),
        quarantined=tuple(quarantined),
        inputs=tuple(inputs),
        notes=tuple(notes),
        metadata=metadata_report,
    )


def _read_source(
    path: Path,
    source: str,
    config: IngestConfig,
    rules: SpeakerRules,
    *,
    cache: ParsedCache | None = None,
    settings_key: str = "",
) -> tuple[list[_Candidate], list[Quarantined], InputFile | None, list[str]]:

    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        reason = (
            f"unknown file type {suffix or '(no extension)'!r}; supported: "
            f"{', '.join(SUPPORTED_EXTENSIONS)} (or add it to ingest.exclude)"
        )
        return [], [Quarantined(source=source, reason=reason)], None, []
    n_bytes = path.stat().st_size
    limit = int(config.limits.max_file_mb * 1_000_000)
    if n_bytes > limit:
        reason = (
            f"file is {n_bytes / 1e6:,.1f} MB, over the limit of "
            f"{config.limits.max_file_mb:g} MB "
            "(ingest.limits.max_file_mb)"
        )
        return [], [Quarantined(source=source, reason=reason)], None, []
    data = path.read_bytes()
    input_file = InputFile(
        source=source, sha256=hashlib.sha256(data).hexdigest(), n_bytes=len(data)
    )
    try:
        if suffix in TABLE_EXTENSIONS:
            found, lost, notes = _read_table_source(data, path, source, config)
            return found, lost, input_file, notes
        cache_key = parse_key(input_file.sha256, settings_key, suffix)
        parsed = cache.get(cache_key, source) if cache is not None else None
        if parsed is None:
            parsed = DOCUMENT_READERS[suffix](
                data, ReadContext(source=source, config=config, rules=rules)
            )
            if cache is not None:
                cache.put(cache_key, parsed)
    except InputFormatError as error:
        return (
            [],
            [Quarantined(source=source, reason=_reason(error, source))],
            input_file,
            [],
        )
    except Exception as error:  # one broken file must not sink the run
        logger.debug(
            "unexpected %s while reading %s",
            type(error).__name__,
            source,
            exc_info=True,
        )
        reason = (
            f"could not be read ({type(error).__name__}); the file may be corrupt. "
            "If it opens normally elsewhere, please report this"
        )
        return [], [Quarantined(source=source, reason=reason)], input_file, []
    turns, role_note = infer_interviewer(parsed.text, parsed.turns, rules)
    if not any(turn.role == "participant" for turn in turns):
        reason = explain_missing_participants(parsed.text, turns, rules)
        return [], [Quarantined(source=source, reason=reason)], input_file, []
    role_notes = (role_note, describe_unlabelled_speech(turns, rules))
    notes = parsed.notes + tuple(f"{source}: {note}" for note in role_notes if note)
    transcript = Transcript(
        document_id=path.stem,
        source=source,
        format=suffix[1:],
        text=parsed.text,
        turns=turns,
        encoding=parsed.encoding,
        notes=notes,
    )
    return [_Candidate(transcript, source)], [], input_file, []


def _read_table_source(
    data: bytes, path: Path, source: str, config: IngestConfig
) -> tuple[list[_Candidate], list[Quarantined], list[str]]:
    table = read_table(
        data, source=source, stem=path.stem, suffix=path.suffix.lower(), config=config
    )
    found: list[_Candidate] = []
    lost: list[Quarantined] = []
    for row in table.rows:
        row_source = f"{source}:row {row.row_number}"
        if row.error is not None:
            lost.append(
                Quarantined(source=row_source, reason=_reason(row.error, source))
            )
            continue
        start, end = _strip_span(row.text)
        transcript = Transcript(
            document_id=row.document_id,
            source=row_source,
            format=path.suffix.lower()[1:],
            text=row.text,
            turns=(Turn(speaker=None, role="participant", start=start, end=end),),
            metadata=row.metadata,
            encoding=table.encoding,
        )
        found.append(_Candidate(transcript, row_source))
    if lost:
        logger.info("%s: %d of %d rows quarantined", source, len(lost), len(table.rows))
    return found, lost, list(table.notes)


def _strip_span(text: str) -> tuple[int, int]:
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())
    return start, max(start, end)


def _reason(error: Exception | str, source: str) -> str:
    message = str(error)
    return message.removeprefix(f"{source}: ").removeprefix(f"{source}:")


def _split_duplicates(
    candidates: list[_Candidate],
) -> tuple[list[_Candidate], list[Quarantined]]:
    by_id: dict[str, list[_Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_id[candidate.transcript.document_id].append(candidate)
    kept, lost = [], []
    for document_id, group in by_id.items():
        if len(group) == 1:
            kept.append(group[0])
            continue
        sources = [c.input_source for c in group]
        for candidate in group:
            others = ", ".join(s for s in sources if s != candidate.input_source)
            lost.append(
                Quarantined(
                    source=candidate.input_source,
                    reason=f"duplicate document_id {document_id!r}: also given by "
                    f"{others}; rename one of them",
                )
            )
    return kept, lost


def _attach_metadata(
    transcripts: list[Transcript], root: Path, config: IngestConfig
) -> tuple[list[Transcript], MetadataReport, list[str]]:
    path = root / config.metadata_file
    if not path.is_file():
        return transcripts, MetadataReport(), []
    import pandas as pd  # heavy: kept out of start-up

    source = config.metadata_file
    try:
        decoded = decode_bytes(path.read_bytes(), source=source)
        frame = pd.read_csv(io.StringIO(decoded.text), dtype=str, keep_default_na=False)
    except (InputFormatError, ValueError) as error:
        return (
            transcripts,
            MetadataReport(file=source),
            [f"{source}: not read: {_reason(error, source)}"],
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    if "document_id" not in frame.columns:
        note = (
            f"{source}: no document_id column, so no metadata was attached; "
            f"columns are: {', '.join(frame.columns)}"
        )
        return transcripts, MetadataReport(file=source), [note]
    notes = list(decoded.notes)
    columns = tuple(c for c in frame.columns if c != "document_id")
    rows: dict[str, dict[str, str]] = {}
    for number, record in enumerate(frame.to_dict(orient="records"), start=1):
        document_id = record["document_id"].strip()
        if document_id in rows:
            notes.append(
                f"{source}: row {number}: second row for {document_id!r} ignored"
            )
            continue
        rows[document_id] = {c: record[c].strip() for c in columns if record[c].strip()}
    ids = {t.document_id for t in transcripts}
    unmatched = tuple(sorted(set(rows) - ids))
    without = tuple(sorted(ids - set(rows)))
    if unmatched:
        notes.append(
            f"{source}: {len(unmatched)} row(s) match no document: "
            f"{', '.join(unmatched)}"
        )
    if without:
        notes.append(
            f"{source}: {len(without)} document(s) have no row: {', '.join(without)}"
        )
    attached = [
        replace(t, metadata={**t.metadata, **rows.get(t.document_id, {})})
        for t in transcripts
    ]
    report = MetadataReport(
        file=source,
        columns=columns,
        unmatched_ids=unmatched,
        documents_without_metadata=without,
    )
    return attached, report, notes
