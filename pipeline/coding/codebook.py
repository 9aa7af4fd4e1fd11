"""Codebooks: the themes researchers code with, read from YAML, CSV or REFI-QDA.

A codebook (:class:`~pipeline.coding.codebook_records.Codebook`) is a list of
codes. Each code has an ``id``, a ``name``, an optional ``parent`` (codes form
a hierarchy), a ``definition``, ``include`` and ``exclude`` notes,
``examples`` (quotes that are this code), ``counter_examples`` (quotes that
look like it but are not), ``keywords`` and, for wide tables of human codes,
the ``columns`` that mean the code.

Formats:

- YAML (``.yaml``/``.yml``): the full format above, validated strictly; an
  error names the file, the code and the field.
- CSV (``.csv``): columns ``code,name,definition,examples`` (``examples``
  separated by ``|``; ``description`` is read as ``definition``); ``parent``
  and ``keywords`` columns are read too. Only ``code`` is required.
- REFI-QDA: a codebook file (``.qdc``) or the codebook inside a project
  (``.qdpx``), with nested codes and their descriptions.

A code's identity (its ``id``) is the string the researcher wrote: the CSV
``code`` column exactly as written (``"1.8 - Past Experience"`` stays
``"1.8 - Past Experience"``), the YAML ``id``, or the REFI-QDA code's
``guid``. Its ``name`` is what people read; for a CSV without a ``name``
column it is the ``code`` itself. A code written in a codes file is matched to
the codebook by :meth:`~pipeline.coding.codebook_records.Codebook.match`: as
written (its id), then by name, then ignoring case, spacing and punctuation,
and the match says which rule found it.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.coding.codebook_records import Code, Codebook, validate_codes
from pipeline.errors import CodebookError, InputFormatError
from pipeline.io.decode import decode_bytes
from pipeline.io.refi.read import read_codebook

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
"""What a YAML codebook's ``id`` may hold (CSV and REFI-QDA ids are free text)."""


class _CodeModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    parent: str | None = None
    definition: str = ""
    include: list[str] = []
    exclude: list[str] = []
    examples: list[str] = []
    counter_examples: list[str] = []
    keywords: list[str] = []
    columns: list[str] = []


class _YamlCodeModel(_CodeModel):
    """A YAML code: its ``id`` is a short identifier (see :data:`ID_PATTERN`)."""

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError(
                "must start with a letter or digit and hold only letters, digits, '_', "
                f"'.' or '-' (got {value!r})"
            )
        return value


class _CodebookModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = "codebook"
    version: str = ""
    description: str = ""
    source: str = ""
    licence: str = ""
    codes: list[dict] = Field(min_length=1)


def load_codebook(path: str | Path) -> Codebook:
    """Read a codebook from YAML, CSV, a REFI-QDA ``.qdc`` or a ``.qdpx`` project.

    Args:
        path: The codebook file.

    Returns:
        The validated codebook.

    Raises:
        CodebookError: The file is missing or malformed; the message names the
            file, the code and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise CodebookError(f"{path}: codebook file not found")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _load_yaml(path)
    if suffix == ".csv":
        return _load_csv(path)
    if suffix in (".qdc", ".qdpx"):
        return validate_codes(read_codebook(path), source=str(path), name=path.stem)
    raise CodebookError(
        f"{path}: unknown codebook format {suffix!r}; use .yaml, .csv, .qdc or .qdpx"
    )


def _load_yaml(path: Path) -> Codebook:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise CodebookError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise CodebookError(
            f"{path}: expected a mapping with a 'codes' list at the top"
        )
    try:
        header = _CodebookModel.model_validate(raw)
    except ValidationError as error:
        raise CodebookError(_format(error, f"{path}")) from error
    codes = []
    for number, entry in enumerate(header.codes, start=1):
        label = (
            f"code {entry.get('id', f'#{number}')!r}"
            if isinstance(entry, dict)
            else f"code #{number}"
        )
        if not isinstance(entry, dict):
            raise CodebookError(f"{path}: {label}: expected a mapping of fields")
        try:
            model = _YamlCodeModel.model_validate(entry)
        except ValidationError as error:
            raise CodebookError(_format(error, f"{path}: {label}")) from error
        codes.append(_to_code(model))
    return validate_codes(
        codes,
        source=str(path),
        name=header.name,
        version=header.version,
        description=header.description,
        licence=header.licence,
    )


def _format(error: ValidationError, where: str) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            message = "unknown field; allowed fields: " + ", ".join(
                _CodeModel.model_fields
            )
        else:
            message = item["msg"]
        lines.append(f"{where}: field {key!r}: {message}")
    return "\n".join(lines)


def _to_code(model: _CodeModel) -> Code:
    return Code(
        id=model.id,
        name=model.name,
        parent=model.parent or None,
        definition=" ".join(model.definition.split()),
        include=tuple(model.include),
        exclude=tuple(model.exclude),
        examples=tuple(model.examples),
        counter_examples=tuple(model.counter_examples),
        keywords=tuple(k.lower() for k in model.keywords),
        columns=tuple(model.columns),
    )


def _load_csv(path: Path) -> Codebook:
    """Read a CSV codebook; each ``code`` is kept exactly as written (its id)."""
    # heavy: kept out of start-up
    import pandas as pd

    try:
        text = decode_bytes(path.read_bytes(), source=str(path)).text
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (InputFormatError, ValueError) as error:
        raise CodebookError(f"{path}: not a readable CSV codebook ({error})") from error
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "code" not in frame.columns:
        raise CodebookError(
            f"{path}: a CSV codebook needs a 'code' column (and optionally name, "
            f"definition, examples, parent, keywords); columns are: "
            f"{', '.join(frame.columns)}"
        )
    codes, parents, rows_of = [], [], {}
    for number, row in enumerate(frame.to_dict(orient="records"), start=1):
        code_id = row["code"].strip()
        if not code_id:
            raise CodebookError(
                f"{path}: row {number}: field 'code' is blank; write the code as the "
                "codes files write it, or delete the row"
            )
        if code_id in rows_of:
            raise CodebookError(
                f"{path}: row {number} (code {code_id!r}): field 'code': used twice "
                f"(rows {rows_of[code_id]} and {number}); give each code once"
            )
        rows_of[code_id] = number
        try:
            model = _CodeModel(
                id=code_id,
                name=row.get("name", "").strip() or code_id,
                definition=row.get("definition", "") or row.get("description", ""),
                examples=_split(row.get("examples", "")),
                keywords=_split(row.get("keywords", "")),
            )
        except ValidationError as error:
            where = f"{path}: row {number} (code {code_id!r})"
            raise CodebookError(_format(error, where)) from error
        codes.append(_to_code(model))
        parents.append(row.get("parent", "").strip() or None)
    # a parent may be written as its code, or as its name: find it as codes are
    lookup = Codebook(name=path.stem, codes=tuple(codes))
    codes = [
        replace(code, parent=lookup.resolve(parent) or parent) if parent else code
        for code, parent in zip(codes, parents, strict=True)
    ]
    return validate_codes(codes, source=str(path), name=path.stem)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]
