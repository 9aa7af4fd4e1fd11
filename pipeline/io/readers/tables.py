"""Tables of free-text answers (``.csv``, ``.xlsx``): one document per row."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from pipeline.config.inputs import IngestConfig
from pipeline.errors import InputFormatError
from pipeline.io.decode import decode_bytes, normalise_newlines
from pipeline.io.readers.office import check_office_archive

_DEFAULT_ID_COLUMNS = ("document_id", "id")
_DEFAULT_TEXT_COLUMNS = ("text", "answer", "comment", "response")


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row of a table corpus.

    Attributes:
        row_number: 1-based data row number (the header is not counted).
        document_id: The id column's value, or ``<stem>-row<n>`` without one.
        text: The free text, line endings normalised.
        metadata: The metadata columns as strings (blank cells left out).
        error: Why the row cannot be used, or None.

    """

    row_number: int
    document_id: str
    text: str
    metadata: dict[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ReadTable:
    """The rows of a table and how its columns were chosen."""

    rows: list[TableRow]
    id_column: str | None
    text_column: str
    encoding: str = "utf-8"
    notes: tuple[str, ...] = ()


def read_table(
    data: bytes, *, source: str, stem: str, suffix: str, config: IngestConfig
) -> ReadTable:
    """Read a CSV or XLSX table of free-text answers.

    Args:
        data: The file's bytes.
        source: The file's name, for messages.
        stem: The file name without extension (prefix of ids when there is no
            id column).
        suffix: ``.csv`` or ``.xlsx``.
        config: The ``ingest`` section (id, text and metadata columns, limits).

    Returns:
        One :class:`TableRow` per data row; rows with an empty text or a field
        over the size limit carry an ``error`` instead of being dropped.

    Raises:
        InputFormatError: The file is not a readable table, or the id or text
            column is missing; the message lists the columns that exist.

    """
    import pandas as pd  # heavy: kept out of start-up

    notes: tuple[str, ...] = ()
    encoding = "utf-8"
    try:
        if suffix == ".xlsx":
            check_office_archive(data, source=source, limits=config.limits)
            frame = pd.read_excel(
                io.BytesIO(data), dtype=str, engine="openpyxl"
            ).fillna("")
        else:
            decoded = decode_bytes(data, source=source)
            encoding = decoded.encoding
            notes = decoded.notes
            frame = pd.read_csv(
                io.StringIO(decoded.text), dtype=str, keep_default_na=False
            )
    except InputFormatError:
        raise
    except Exception as error:  # pandas and openpyxl raise many types for bad files
        raise InputFormatError(
            f"{source}: not a readable {suffix[1:].upper()} table "
            f"({type(error).__name__}: {_first_line(str(error))})"
        ) from error
    frame.columns = [str(c).strip() for c in frame.columns]
    columns = list(frame.columns)
    text_column = _choose_column(
        config.text_column, _DEFAULT_TEXT_COLUMNS, columns, source, "text"
    )
    id_column = (
        _choose_column(config.id_column, _DEFAULT_ID_COLUMNS, columns, source, "id")
        if config.id_column or any(c in columns for c in _DEFAULT_ID_COLUMNS)
        else None
    )
    if config.metadata_columns is not None:
        missing = [c for c in config.metadata_columns if c not in columns]
        if missing:
            raise InputFormatError(
                f"{source}: metadata column(s) {missing} not found; columns are: "
                f"{', '.join(columns)}"
            )
        metadata_columns = list(config.metadata_columns)
    else:
        metadata_columns = [c for c in columns if c not in (text_column, id_column)]
    limit = config.limits.max_field_chars
    rows = []
    records = frame.to_dict(orient="records")
    for number, record in enumerate(records, start=1):
        document_id = (
            str(record[id_column]).strip() if id_column else f"{stem}-row{number}"
        )
        text = normalise_newlines(str(record[text_column]))
        error = None
        oversized = [c for c, v in record.items() if len(str(v)) > limit]
        if oversized:
            error = (
                f"field {oversized[0]!r} has "
                f"{len(str(record[oversized[0]])):,} characters, over the limit of "
                f"{limit:,} "
                "(ingest.limits.max_field_chars)"
            )
            text = ""
        elif id_column and not document_id:
            error = f"empty id in column {id_column!r}"
        elif not text.strip():
            error = f"empty text in column {text_column!r}"
        metadata = {
            c: str(record[c]).strip()
            for c in metadata_columns
            if str(record[c]).strip() and not oversized
        }
        rows.append(
            TableRow(
                row_number=number,
                document_id=document_id or f"{stem}-row{number}",
                text=text,
                metadata=metadata,
                error=error,
            )
        )
    return ReadTable(
        rows=rows,
        id_column=id_column,
        text_column=text_column,
        encoding=encoding,
        notes=notes,
    )


def _choose_column(
    configured: str | None,
    defaults: tuple[str, ...],
    columns: list[str],
    source: str,
    what: str,
) -> str:
    if configured is not None:
        if configured not in columns:
            raise InputFormatError(
                f"{source}: {what} column {configured!r} not found; columns are: "
                f"{', '.join(columns)}"
            )
        return configured
    for name in defaults:
        if name in columns:
            return name
    raise InputFormatError(
        f"{source}: no {what} column; name it with --{what}-column "
        f"(or ingest.{what}_column); "
        f"columns are: {', '.join(columns)}"
    )


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0][:200]
