"""Codebooks: the themes researchers code with, read from YAML, CSV or REFI-QDA.

A codebook is a list of codes. Each code has an ``id``, a ``name``, an optional
``parent`` (codes form a hierarchy), a ``definition``, ``include`` and
``exclude`` notes, ``examples`` (quotes that are this code),
``counter_examples`` (quotes that look like it but are not), ``keywords`` and,
for wide tables of human codes, the ``columns`` that mean the code.

Formats:

- YAML (``.yaml``/``.yml``): the full format above, validated strictly; an
  error names the file, the code and the field.
- CSV (``.csv``): columns ``code,name,definition,examples`` (``examples``
  separated by ``|``); ``parent`` and ``keywords`` columns are read too.
- REFI-QDA: a codebook file (``.qdc``) or the codebook inside a project
  (``.qdpx``), with nested codes and their descriptions.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import CodebookError

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True, slots=True)
class Code:
    """One code of a codebook."""

    id: str
    name: str
    parent: str | None = None
    definition: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()

    def prototype_texts(self) -> list[str]:
        """Texts that describe the code: name and definition, include notes, examples."""
        head = (
            f"{self.name}. {self.definition}".strip() if self.definition else self.name
        )
        return [head, *self.include, *self.examples]


@dataclass(frozen=True)
class Codebook:
    """A validated codebook.

    Attributes:
        name: The codebook's name.
        codes: Codes in file order.
        source: Where it was read from.
        version: Its version, if given.
        description: What it is for.
        licence: Its licence notice, if any.
    """

    name: str
    codes: tuple[Code, ...]
    source: str = ""
    version: str = ""
    description: str = ""
    licence: str = ""
    _by_key: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys: dict[str, str] = {}
        for code in self.codes:
            keys[code.id.casefold()] = code.id
        for code in self.codes:
            keys.setdefault(code.name.casefold(), code.id)
        self._by_key.update(keys)

    @property
    def ids(self) -> list[str]:
        """Code ids in file order."""
        return [code.id for code in self.codes]

    def __getitem__(self, code_id: str) -> Code:
        for code in self.codes:
            if code.id == code_id:
                return code
        raise KeyError(code_id)

    def resolve(self, reference: str) -> str | None:
        """Return the id of the code named ``reference`` (by id or by name), or None."""
        return self._by_key.get(str(reference).strip().casefold())

    def children(self, code_id: str) -> list[str]:
        """Ids of the codes whose parent is ``code_id``."""
        return [code.id for code in self.codes if code.parent == code_id]

    def leaves(self) -> list[str]:
        """Ids of the codes without children: the ones segments are coded with."""
        parents = {code.parent for code in self.codes if code.parent}
        return [code.id for code in self.codes if code.id not in parents]

    def ancestors(self, code_id: str) -> list[str]:
        """Ids of a code's parent, grandparent, ... (nearest first)."""
        chain = []
        parent = self[code_id].parent
        while parent is not None:
            chain.append(parent)
            parent = self[parent].parent
        return chain

    def content_hash(self) -> str:
        """A hash of the codes' content (for model cards and caches)."""
        payload = json.dumps([asdict(code) for code in self.codes], sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


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
        from pipeline.refi import read_codebook

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
            model = _CodeModel.model_validate(entry)
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
    import pandas as pd

    from pipeline.decode import decode_bytes
    from pipeline.errors import InputFormatError

    try:
        text = decode_bytes(path.read_bytes(), source=str(path)).text
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (InputFormatError, ValueError) as error:
        raise CodebookError(f"{path}: not a readable CSV codebook ({error})") from error
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "code" not in frame.columns:
        raise CodebookError(
            f"{path}: a CSV codebook needs a 'code' column (and optionally name, definition, "
            f"examples, parent, keywords); columns are: {', '.join(frame.columns)}"
        )
    codes = []
    for number, row in enumerate(frame.to_dict(orient="records"), start=1):
        code_id = row["code"].strip()
        where = f"{path}: row {number} (code {code_id!r})"
        try:
            model = _CodeModel(
                id=_as_id(code_id),
                name=row.get("name", "").strip() or code_id,
                parent=_as_id(row["parent"]) if row.get("parent", "").strip() else None,
                definition=row.get("definition", "") or row.get("description", ""),
                examples=_split(row.get("examples", "")),
                keywords=_split(row.get("keywords", "")),
            )
        except ValidationError as error:
            raise CodebookError(_format(error, where)) from error
        codes.append(_to_code(model))
    return validate_codes(codes, source=str(path), name=path.stem)


def _as_id(value: str) -> str:
    """Keep a valid id as it is; make a slug of a name (``"Staff attitude"``)."""
    value = value.strip()
    return value if ID_PATTERN.match(value) and " " not in value else _slug(value)


def _split(value: str) -> list[str]:

    return [part.strip() for part in value.split("|") if part.strip()]


def _slug(value: str) -> str:
    """A code id from a name: ``"Staff manner & attitude"`` -> ``staff_manner_attitude``."""
    slug = re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_")
    return slug or "code"


def validate_codes(
    codes: Iterable[Code],
    *,
    source: str,
    name: str,
    version: str = "",
    description: str = "",
    licence: str = "",
) -> Codebook:
    """Check ids are unique and parents exist without cycles; build the codebook.

    Raises:
        CodebookError: A duplicate id, an unknown parent or a cycle, naming the code.
    """
    codes = list(codes)
    seen: set[str] = set()
    for code in codes:
        if code.id in seen:
            raise CodebookError(f"{source}: code {code.id!r}: field 'id': used twice")
        seen.add(code.id)
    for code in codes:
        if code.parent is not None and code.parent not in seen:
            raise CodebookError(
                f"{source}: code {code.id!r}: field 'parent': no code has the id "
                f"{code.parent!r}"
            )
    parents = {code.id: code.parent for code in codes}
    for code in codes:
        chain, parent = {code.id}, code.parent
        while parent is not None:
            if parent in chain:
                raise CodebookError(
                    f"{source}: code {code.id!r}: field 'parent': the hierarchy loops "
                    f"back to {parent!r}"
                )
            chain.add(parent)
            parent = parents[parent]
    return Codebook(
        name=name,
        codes=tuple(codes),
        source=source,
        version=version,
        description=description,
        licence=licence,
    )
