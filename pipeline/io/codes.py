"""Human codes in: long CSV, wide CSV/XLSX, REFI-QDA projects; aligned to segments.

Formats (chosen from the file's extension and columns):

- **long CSV**: ``document_id,code`` plus optional ``start,end`` (offsets into
  the normalised text), ``coder`` and ``text`` (the coded quote). With a quote
  but no offsets, the quote is located in the document (exactly, else with
  white space made flexible); a quote found twice or not at all is reported.
  With neither, the code applies to the whole document.
- **wide CSV/XLSX**: a document id column and one column per code holding 1 (or
  ``x``, ``yes``, ``true``) or blank, as in the NHS feedback file; columns are
  matched to codes through the codebook's ``columns`` lists, ids or names.
- **REFI-QDA** ``.qdpx`` (NVivo, ATLAS.ti, MAXQDA, QualCoder): users, nested
  codes, text sources and their coded selections; sources are matched to
  documents by name, then by text.

A code is matched to the codebook as written (its id: the CSV codebook's
``code``, the YAML ``id``, the REFI-QDA ``guid``), then by name, then ignoring
case, spacing and punctuation (:meth:`~pipeline.coding.codebook.Codebook.match`);
the import says which codes matched by a rule other than as written. Every
row is accounted for: it becomes a :class:`CodeAssignment`, or an
:class:`UnusedCode` with the reason (unknown document, unknown or ambiguous
code, offsets out of range, quote not found or ambiguous). The codings of an
auto-coder in a ``.qdpx`` this tool exported (see
:func:`pipeline.io.refi.is_auto_coder`) are not human codes: they are skipped,
with a note, unless asked for.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.coding.codebook import MATCH_RULES, Codebook, CodeMatch
from pipeline.errors import CodesError, InputFormatError

logger = logging.getLogger(__name__)

DEFAULT_CODER = "coder"
_TRUE = {"1", "1.0", "x", "yes", "y", "true", "t"}


@dataclass(frozen=True, slots=True)
class CodeAssignment:
    """A human code on a span of a document (or on the whole document).

    Attributes:
        document_id: The document.
        code: The code's id in the codebook.
        coder: Who coded it.
        start: First character of the span, or None for the whole document.
        end: One past the last character, or None for the whole document.
        origin: Where it came from (``codes.csv:row 12``), for messages.
    """

    document_id: str
    code: str
    coder: str
    start: int | None
    end: int | None
    origin: str = ""


@dataclass(frozen=True, slots=True)
class UnusedCode:
    """A row of a codes file that could not be used, and why."""

    origin: str
    reason: str


@dataclass(frozen=True, slots=True)
class MatchedCode:
    """A code as a codes file writes it, and the codebook code it matched.

    Attributes:
        written: The code as written (a ``.qdpx`` code's name).
        code: The codebook code's id.
        rule: ``exact``, ``name`` or ``normalised`` (see
            :meth:`~pipeline.coding.codebook.Codebook.match`).
        n_rows: Rows (or codings) that wrote it so.
    """

    written: str
    code: str
    rule: str
    n_rows: int


@dataclass(frozen=True)
class CodesImport:
    """The human codes read from a file.

    Attributes:
        assignments: Usable codes.
        unused: Rows not used, each with its reason.
        coders: Coders, in order of first appearance.
        source: The file read.
        format: ``long``, ``wide`` or ``qdpx``.
        notes: Things the user should know (codes matched other than as
            written, auto-coders skipped, sources matched by text).
        matched: Each code as written that matched a code, and how.
        skipped_auto_coders: Auto-coder users of a ``.qdpx`` whose codings
            were skipped, with their number of codings.
    """

    assignments: tuple[CodeAssignment, ...]
    unused: tuple[UnusedCode, ...]
    coders: tuple[str, ...]
    source: str
    format: str
    notes: tuple[str, ...] = ()
    matched: tuple[MatchedCode, ...] = ()
    skipped_auto_coders: Mapping[str, int] = field(default_factory=dict)

    def summary(self) -> dict:
        """Counts for manifests and reports."""
        reasons = Counter(u.reason.split(":")[0] for u in self.unused)
        rules = {rule: 0 for rule in MATCH_RULES}
        rows = dict(rules)
        for match in self.matched:
            rules[match.rule] += 1
            rows[match.rule] += match.n_rows
        return {
            "source": self.source,
            "format": self.format,
            "n_assignments": len(self.assignments),
            "n_unused": len(self.unused),
            "coders": list(self.coders),
            "unused_reasons": dict(reasons),
            "code_matches": rules,
            "code_match_rows": rows,
            "skipped_auto_coders": dict(self.skipped_auto_coders),
        }


class _CodeMatcher:
    """Matches codes as written to the codebook, once each, and remembers how.

    Args:
        codebook: The codebook.
    """

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        self._found: dict[str, CodeMatch | None] = {}
        self._rows: Counter = Counter()

    def match(self, written: str, *, guid: str | None = None) -> CodeMatch | None:
        """The code ``written`` means (a ``.qdpx`` coding: its code's GUID first)."""
        written = str(written).strip()
        key = written if guid is None else f"{guid}\x1f{written}"
        if key not in self._found:
            found = None
            if guid is not None:
                found = _guid_match(self.codebook, guid)
            self._found[key] = found or self.codebook.match(written)
        found = self._found[key]
        if found is not None:
            self._rows[(written, found.code, found.rule)] += 1
        return found

    def unknown(self, written: str) -> str:
        """Why ``written`` matched no code: unknown, or ambiguous between codes."""
        written = str(written).strip()
        candidates = self.codebook.candidates(written)
        named = [c.id for c in self.codebook.codes if c.name == written]
        if len(named) > 1 or len(candidates) > 1:
            labels = ", ".join(self.codebook.label(c) for c in named or candidates)
            return (
                f"ambiguous code: {written!r} could be any of {labels}; write it "
                "as the codebook's code column (or id) writes it"
            )
        return f"unknown code: {written!r} is not in the codebook"

    def matched(self) -> tuple[MatchedCode, ...]:
        """Every code as written that matched, with its rule and row count."""
        return tuple(
            MatchedCode(written, code, rule, n)
            for (written, code, rule), n in self._rows.items()
        )

    def notes(self) -> list[str]:
        """One note per rule other than ``exact`` that matched any code."""
        notes = []
        for rule in ("name", "normalised"):
            found = [m for m in self.matched() if m.rule == rule]
            if not found:
                continue
            listed = "; ".join(
                f"{m.written!r} -> {self.codebook.label(m.code)} "
                f"({m.n_rows} row{'' if m.n_rows == 1 else 's'})"
                for m in found[:10]
            )
            more = f"; and {len(found) - 10} more" if len(found) > 10 else ""
            notes.append(
                f"{len(found)} code(s) matched {MATCH_RULES[rule]}, not as the "
                f"codebook writes them: {listed}{more}"
            )
        return notes


def _guid_match(codebook: Codebook, guid: str) -> CodeMatch | None:
    """The code a ``.qdpx`` coding's code GUID is: its id, or the GUID it exports as."""
    from pipeline.io.refi import code_guid

    if guid in codebook.ids:
        return CodeMatch(guid, "exact")
    for code in codebook.codes:
        if code_guid(code.id).lower() == guid.lower():
            return CodeMatch(code.id, "exact")
    return None


def read_codes(
    path: str | Path,
    *,
    codebook: Codebook,
    documents: Mapping[str, str],
    id_column: str | None = None,
    offset_maps: Mapping | None = None,
    include_auto_coders: bool = False,
) -> CodesImport:
    """Read human codes and check them against the codebook and the documents.

    Args:
        path: A ``.csv``, ``.xlsx`` or ``.qdpx`` file.
        codebook: The codebook (codes match as written, by name, or ignoring
            case, spacing and punctuation).
        documents: Document id to normalised text.
        id_column: For a wide table: its document id column (default
            ``document_id``, else the first column).
        offset_maps: Document id to an ``OffsetMap`` of its redaction (see
            :mod:`pipeline.text.anonymise`): offsets in the codes file refer to the
            original text and are carried over to the redacted one.
        include_auto_coders: Read the codings of auto-coder users of a
            ``.qdpx`` this tool exported as well (by default they are skipped,
            with a note: they are not human codes).

    Returns:
        The usable codes and the unused rows with reasons.

    Raises:
        CodesError: The file is missing or has none of the expected layouts.
    """
    path = Path(path)
    if not path.is_file():
        raise CodesError(f"{path}: codes file not found")
    suffix = path.suffix.lower()
    if suffix == ".qdpx":
        return _read_qdpx(
            path, codebook, documents, offset_maps or {}, include_auto_coders
        )
    frame = _read_frame(path)
    columns = {c.lower(): c for c in frame.columns}
    if "code" in columns:
        return _read_long(path, frame, columns, codebook, documents, offset_maps or {})
    return _read_wide(path, frame, codebook, documents, id_column)


def _read_frame(path: Path):
    import pandas as pd

    from pipeline.io.decode import decode_bytes

    try:
        if path.suffix.lower() == ".xlsx":
            frame = pd.read_excel(path, dtype=str, engine="openpyxl").fillna("")
        else:
            text = decode_bytes(path.read_bytes(), source=str(path)).text
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except InputFormatError as error:
        raise CodesError(str(error)) from error
    except Exception as error:  # pandas/openpyxl raise many types for bad files
        raise CodesError(
            f"{path}: not a readable table ({type(error).__name__}: {error})"
        ) from error
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_long(path, frame, columns, codebook, documents, offset_maps) -> CodesImport:
    document_column = columns.get("document_id") or columns.get("document")
    if document_column is None:
        raise CodesError(
            f"{path}: a long codes file needs a document_id column beside 'code'; "
            f"columns are: {', '.join(frame.columns)}"
        )
    code_column = columns["code"]
    start_column, end_column = columns.get("start"), columns.get("end")
    text_column = columns.get("text") or columns.get("quote")
    coder_column = columns.get("coder")
    matcher = _CodeMatcher(codebook)
    assignments, unused = [], []
    for number, row in enumerate(frame.to_dict(orient="records"), start=1):
        origin = f"{path.name}:row {number}"
        document_id = str(row[document_column]).strip()
        code_ref = str(row[code_column]).strip()
        coder = str(row[coder_column]).strip() if coder_column else ""
        coder = coder or DEFAULT_CODER
        found = matcher.match(code_ref)
        if found is None:
            unused.append(UnusedCode(origin, matcher.unknown(code_ref)))
            continue
        code = found.code
        if document_id not in documents:
            unused.append(UnusedCode(origin, f"unknown document: {document_id!r}"))
            continue
        text = documents[document_id]
        start_value = str(row[start_column]).strip() if start_column else ""
        end_value = str(row[end_column]).strip() if end_column else ""
        if start_value or end_value:
            try:
                start, end = int(float(start_value)), int(float(end_value))
                if document_id in offset_maps and 0 <= start < end:
                    start, end = offset_maps[document_id].map_span(start, end)
            except ValueError:
                unused.append(
                    UnusedCode(
                        origin, f"bad offsets: start={start_value!r}, end={end_value!r}"
                    )
                )
                continue
            if not 0 <= start < end <= len(text):
                unused.append(
                    UnusedCode(
                        origin,
                        f"offsets out of range: {start}-{end} in a document of "
                        f"{len(text)} characters",
                    )
                )
                continue
            assignments.append(
                CodeAssignment(document_id, code, coder, start, end, origin)
            )
            continue
        quote = str(row[text_column]).strip() if text_column else ""
        if quote:
            span, problem = locate_quote(text, quote)
            if span is None:
                unused.append(UnusedCode(origin, problem))
                continue
            assignments.append(
                CodeAssignment(document_id, code, coder, span[0], span[1], origin)
            )
            continue
        assignments.append(CodeAssignment(document_id, code, coder, None, None, origin))
    return _result(assignments, unused, str(path), "long", matcher=matcher)


def locate_quote(text: str, quote: str) -> tuple[tuple[int, int] | None, str]:
    """Find a coded quote in a document.

    Exact matches first; then a match where any run of white space in the quote
    matches any run of white space in the text (quotes copied from a report
    often differ in line breaks).

    Returns:
        ``((start, end), "")`` when the quote occurs once, else ``(None, reason)``.
    """
    count = text.count(quote)
    if count == 1:
        start = text.index(quote)
        return (start, start + len(quote)), ""
    if count > 1:
        return None, f"ambiguous quote: it occurs {count} times in the document"
    words = quote.split()
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    matches = list(pattern.finditer(text))
    if len(matches) == 1:
        return (matches[0].start(), matches[0].end()), ""
    if len(matches) > 1:
        return None, f"ambiguous quote: it occurs {len(matches)} times in the document"
    return None, "quote not found in the document"


def _read_wide(path, frame, codebook, documents, id_column) -> CodesImport:
    columns = list(frame.columns)
    if id_column is None:
        id_column = next(
            (c for c in columns if c.lower() in ("document_id", "id")), columns[0]
        )
    if id_column not in columns:
        raise CodesError(
            f"{path}: id column {id_column!r} not found; columns are: "
            + ", ".join(columns)
        )
    matches = _column_matches(columns, codebook)
    mapping = {column: found.code for column, found in matches.items()}
    if not mapping:
        raise CodesError(
            f"{path}: no column matches a code of the codebook (by its 'columns' "
            "list, id or name), and there is no 'code' column for the long layout"
        )
    assignments, unused = [], []
    for number, row in enumerate(frame.to_dict(orient="records"), start=1):
        origin = f"{path.name}:row {number}"
        document_id = str(row[id_column]).strip()
        positives = sorted(
            {
                code
                for column, code in mapping.items()
                if str(row[column]).strip().lower() in _TRUE
            }
        )
        if not positives:
            continue
        if document_id not in documents:
            unused.append(UnusedCode(origin, f"unknown document: {document_id!r}"))
            continue
        for code in positives:
            assignments.append(
                CodeAssignment(document_id, code, DEFAULT_CODER, None, None, origin)
            )
    notes = [
        f"{len(mapping)} code columns read: {', '.join(sorted(set(mapping.values())))}"
    ]
    loose = [
        f"{column!r} -> {codebook.label(found.code)} ({MATCH_RULES[found.rule]})"
        for column, found in matches.items()
        if found.rule != "exact"
    ]
    if loose:
        notes.append(
            f"{len(loose)} code column(s) matched not as the codebook writes the "
            f"code: {'; '.join(loose)}"
        )
    matched = tuple(
        MatchedCode(
            column,
            found.code,
            found.rule,
            sum(str(value).strip().lower() in _TRUE for value in frame[column]),
        )
        for column, found in matches.items()
    )
    return _result(assignments, unused, str(path), "wide", notes, matched=matched)


def wide_column_mapping(columns: Sequence[str], codebook: Codebook) -> dict[str, str]:
    """Match table columns to code ids: the codebook's ``columns`` lists, then codes.

    A column named in a code's ``columns`` list is that code; any other
    column is matched as a code is (as written, by name, normalised).
    """
    return {
        column: found.code
        for column, found in _column_matches(columns, codebook).items()
    }


def _column_matches(columns: Sequence[str], codebook: Codebook) -> dict[str, CodeMatch]:
    """Each column that is a code, and how it matched (a ``columns`` list: exact)."""
    matches: dict[str, CodeMatch] = {}
    listed = {column for code in codebook.codes for column in code.columns}
    for code in codebook.codes:
        for column in code.columns:
            if column in columns:
                matches[column] = CodeMatch(code.id, "exact")
    for column in columns:
        if column in matches or column in listed:
            continue
        found = codebook.match(column)
        if found is not None and not codebook[found.code].columns:
            matches[column] = found
    return matches


def _read_qdpx(
    path: Path,
    codebook: Codebook,
    documents: Mapping[str, str],
    offset_maps: Mapping,
    include_auto_coders: bool,
) -> CodesImport:
    from pipeline.io.refi import read_project

    try:
        project = read_project(path)
    except InputFormatError as error:
        raise CodesError(str(error)) from error
    code_names = {code.guid: code.name for code in project.codes}
    source_to_document, notes = match_sources(project.sources, documents)
    auto_coders = _auto_coder_users(project)
    matcher = _CodeMatcher(codebook)
    assignments, unused = [], []
    skipped: Counter = Counter()
    sources = {source.guid: source for source in project.sources}
    for number, coding in enumerate(project.codings, start=1):
        coder = project.users.get(
            coding.user_guid or "", coding.user_guid or DEFAULT_CODER
        )
        if coding.user_guid in auto_coders and not include_auto_coders:
            skipped[coder] += 1
            continue
        source = sources.get(coding.source_guid)
        origin = f"{path.name}:coding {number}"
        name = code_names.get(coding.code_guid, coding.code_guid)
        found = matcher.match(name, guid=coding.code_guid)
        if found is None:
            unused.append(UnusedCode(origin, matcher.unknown(name)))
            continue
        document_id = source_to_document.get(coding.source_guid)
        if document_id is None:
            label = source.name if source else coding.source_guid
            unused.append(
                UnusedCode(origin, f"unknown document: source {label!r} matches none")
            )
            continue
        assignments.append(
            CodeAssignment(
                document_id,
                found.code,
                coder,
                *_mapped(offset_maps, document_id, coding),
                origin,
            )
        )
    unused.extend(
        UnusedCode(f"{path.name}:selection", reason) for reason in project.skipped
    )
    skipped_notes = [
        f"{n} codings by {coder!r} skipped: an auto-coder of this tool (from an "
        "exported auto_codes.qdpx), not a human coder"
        for coder, n in skipped.items()
    ]
    return _result(
        assignments,
        unused,
        str(path),
        "qdpx",
        [*project.notes, *notes, *skipped_notes],
        matcher=matcher,
        skipped_auto_coders=dict(skipped),
    )


def _auto_coder_users(project) -> set[str]:
    """GUIDs of the project's users that are auto-coders this tool exported."""
    from pipeline.io.refi import is_auto_coder

    return {guid for guid, name in project.users.items() if is_auto_coder(guid, name)}


def _mapped(offset_maps: Mapping, document_id: str, coding) -> tuple[int, int]:
    if document_id in offset_maps:
        return tuple(offset_maps[document_id].map_span(coding.start, coding.end))
    return coding.start, coding.end


def match_sources(
    sources, documents: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Match REFI-QDA text sources to documents: by name (stem), then by same text."""
    by_text = {text: document_id for document_id, text in documents.items()}
    matched, notes = {}, []
    for source in sources:
        stem = Path(source.name).stem
        if source.name in documents:
            matched[source.guid] = source.name
        elif stem in documents:
            matched[source.guid] = stem
        elif source.text in by_text:
            matched[source.guid] = by_text[source.text]
        else:
            notes.append(f"source {source.name!r} matches no document by name or text")
            continue
        if documents[matched[source.guid]] != source.text:
            notes.append(
                f"source {source.name!r} matched {matched[source.guid]!r} by name but "
                "its text differs; its offsets may not point at the same words"
            )
    return matched, notes


def _result(
    assignments: list[CodeAssignment],
    unused: list[UnusedCode],
    source: str,
    layout: str,
    notes: Sequence[str] = (),
    *,
    matcher: _CodeMatcher | None = None,
    matched: tuple[MatchedCode, ...] = (),
    skipped_auto_coders: Mapping[str, int] | None = None,
) -> CodesImport:
    coders = tuple(dict.fromkeys(a.coder for a in assignments))
    if matcher is not None:
        matched = matcher.matched()
        notes = [*notes, *matcher.notes()]
    if unused:
        logger.info("codes: %d rows of %s not used", len(unused), source)
    return CodesImport(
        tuple(assignments),
        tuple(unused),
        coders,
        source,
        layout,
        tuple(notes),
        matched,
        dict(skipped_auto_coders or {}),
    )


@dataclass(frozen=True)
class AlignedCodes:
    """Human codes on segments: one boolean matrix per coder.

    Attributes:
        codes: Code ids (matrix columns), in codebook order.
        coders: Coders.
        labels: Coder to a ``(n_segments, n_codes)`` boolean matrix.
        coverage: Share of span codes that landed on at least one segment.
        n_spans: Span codes considered (whole-document codes not counted).
        missed: Span codes that landed on no segment (origin and reason).
        documents: Documents each coder coded (a coder's silence elsewhere is
            not a "no").
    """

    codes: list[str]
    coders: list[str]
    labels: dict[str, np.ndarray]
    coverage: float
    n_spans: int
    missed: list[UnusedCode] = field(default_factory=list)
    documents: dict[str, set[str]] = field(default_factory=dict)

    def combined(self, how: str = "union") -> np.ndarray:
        """One matrix of all coders: ``union`` (anyone), ``majority`` or a coder's."""
        if how in self.labels:
            return self.labels[how]
        stack = np.stack([self.labels[c] for c in self.coders])
        if how == "union":
            return stack.any(axis=0)
        if how == "majority":
            return stack.sum(axis=0) * 2 > len(self.coders)
        raise CodesError(
            f"unknown way to combine coders {how!r}: use union, majority or one of "
            f"{', '.join(self.coders)}"
        )


def align_codes(
    segments: pa.Table,
    imported: CodesImport,
    codes: Sequence[str],
    *,
    min_segment_share: float = 0.5,
    min_span_share: float = 0.5,
) -> AlignedCodes:
    """Put human code spans on segments.

    A segment carries a coder's code when the coded span covers at least
    ``min_segment_share`` of the segment or at least ``min_span_share`` of
    the span. A whole-document code goes on every segment of the document.

    Args:
        segments: The segment table (``document_id``, ``start``, ``end``).
        imported: The human codes.
        codes: Code ids in matrix column order.
        min_segment_share: Share of the segment the span must cover.
        min_span_share: Share of the span the segment must cover.

    Returns:
        One boolean matrix per coder and the coverage of span codes.
    """
    column = {code: i for i, code in enumerate(codes)}
    document_ids = segments.column("document_id").to_pylist()
    starts = np.asarray(segments.column("start").to_pylist(), dtype=np.int64)
    ends = np.asarray(segments.column("end").to_pylist(), dtype=np.int64)
    rows_of: dict[str, np.ndarray] = {}
    for index, document_id in enumerate(document_ids):
        rows_of.setdefault(document_id, []).append(index)
    rows_of = {d: np.asarray(r) for d, r in rows_of.items()}
    coders = list(imported.coders) or [DEFAULT_CODER]
    labels = {
        coder: np.zeros((len(document_ids), len(codes)), dtype=bool) for coder in coders
    }
    documents: dict[str, set[str]] = {coder: set() for coder in coders}
    n_spans = landed = 0
    missed = []
    for assignment in imported.assignments:
        if assignment.code not in column:
            continue
        documents[assignment.coder].add(assignment.document_id)
        rows = rows_of.get(assignment.document_id)
        if rows is None:
            continue
        matrix = labels[assignment.coder]
        if assignment.start is None:
            matrix[rows, column[assignment.code]] = True
            continue
        n_spans += 1
        overlap = np.minimum(ends[rows], assignment.end) - np.maximum(
            starts[rows], assignment.start
        )
        overlap = np.clip(overlap, 0, None)
        segment_length = np.maximum(ends[rows] - starts[rows], 1)
        span_length = max(assignment.end - assignment.start, 1)
        hit = (overlap >= min_segment_share * segment_length) | (
            overlap >= min_span_share * span_length
        )
        hit &= overlap > 0
        if hit.any():
            landed += 1
            matrix[rows[hit], column[assignment.code]] = True
        else:
            missed.append(
                UnusedCode(
                    assignment.origin,
                    "landed on no segment (outside participant speech?)",
                )
            )
    coverage = landed / n_spans if n_spans else 1.0
    return AlignedCodes(
        list(codes), coders, labels, coverage, n_spans, missed, documents
    )


def unknown_codes(path: str | Path, codebook: Codebook) -> dict[str, list[str]]:
    """Codes a codes file uses that the codebook does not have, with where they are.

    A check to run before a run or a training: a code missing from the
    codebook is usually a typo or the wrong codebook. A code matches as
    written, by name or ignoring case, spacing and punctuation (see
    :meth:`~pipeline.coding.codebook.Codebook.match`); one that could be two codes
    counts as missing. Wide tables are not checked (their unmatched columns
    are simply not codes), nor the codings of an auto-coder in a ``.qdpx``
    this tool exported.

    Returns:
        Code as written to the places (``row 3``, ``coding 12``) using it.

    Raises:
        CodesError: The file cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise CodesError(f"{path}: codes file not found")
    matcher = _CodeMatcher(codebook)
    missing: dict[str, list[str]] = {}
    if path.suffix.lower() == ".qdpx":
        from pipeline.io.refi import read_project

        try:
            project = read_project(path)
        except InputFormatError as error:
            raise CodesError(str(error)) from error
        names = {code.guid: code.name for code in project.codes}
        auto_coders = _auto_coder_users(project)
        for number, coding in enumerate(project.codings, start=1):
            if coding.user_guid in auto_coders:
                continue
            name = names.get(coding.code_guid, coding.code_guid)
            if matcher.match(name, guid=coding.code_guid) is None:
                missing.setdefault(name, []).append(f"coding {number}")
        return missing
    frame = _read_frame(path)
    columns = {c.lower(): c for c in frame.columns}
    if "code" not in columns:
        return missing
    for number, value in enumerate(frame[columns["code"]].tolist(), start=1):
        value = str(value).strip()
        if matcher.match(value) is None:
            missing.setdefault(value, []).append(f"row {number}")
    return missing
