"""Researchers' corrections to the network, applied on every run.

A CSV file (``network.corrections``), one correction a row::

    action,document_id,start,end,source,kind,scope,value
    reject,M01,1520,1535,,,,
    accept,M03,4410,4431,,programme,external,
    rename,,,,M03: regional hr network,,,North West HR network
    merge,,,,M07: national community network,,,NHS community network
    kind,,,,M12: own community,community,,
    scope,M02,2210,2220,,,external,

- ``accept``: keep a mention the step dismissed or never found (by mention:
  ``document_id``, ``start``, ``end``; give ``kind`` and ``scope`` for a
  new one), or every mention of a ``source``.
- ``reject``: drop a mention, or every mention of a ``source``.
- ``rename``: call a ``source`` ``value`` instead.
- ``merge``: make the mentions of ``source`` mentions of ``value`` (an
  existing source, whose kind and scope they take).
- ``kind`` / ``scope``: set the kind or scope of a mention or a source.

A mention is matched by overlap (a correction's offsets need not be exact).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ConfigError
from pipeline.network.gazetteer import KINDS, SCOPES
from pipeline.network.mentions import Mention
from pipeline.network.resolve import ResolvedMention

logger = logging.getLogger(__name__)

ACTIONS = ("accept", "reject", "rename", "merge", "kind", "scope")
COLUMNS = ("action", "document_id", "start", "end", "source", "kind", "scope", "value")


@dataclass(frozen=True, slots=True, kw_only=True)
class Correction:
    """One row of the corrections file (``line`` is its line in the file)."""

    line: int
    action: str
    document_id: str = ""
    start: int | None = None
    end: int | None = None
    source: str = ""
    kind: str = ""
    scope: str = ""
    value: str = ""

    @property
    def by_mention(self) -> bool:
        """True when it names a mention (document and offsets), not a source."""
        return self.start is not None


@dataclass(frozen=True)
class CorrectionResult:
    """The corrected mentions and how many corrections matched nothing."""

    mentions: list[ResolvedMention]
    n_applied: int
    unmatched_lines: tuple[int, ...]


def read_corrections(path: str | Path) -> list[Correction]:
    """Read and check a corrections CSV.

    Raises:
        ConfigError: The file is missing, lacks the ``action`` column, or a
            row has an unknown action, kind or scope, offsets that are not
            whole numbers, or neither a mention nor a source (the message
            names the file, the line and the field).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"network.corrections: {path} not found")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        unknown = set(reader.fieldnames or ()) - set(COLUMNS)
        if "action" not in (reader.fieldnames or ()) or unknown:
            raise ConfigError(
                f"{path}: columns must be among {', '.join(COLUMNS)} with 'action' "
                f"(found {', '.join(reader.fieldnames or ()) or 'none'})"
            )
        return [_parse_row(path, n, row) for n, row in enumerate(reader, start=2)]


def _parse_row(path: Path, line: int, row: Mapping[str, str | None]) -> Correction:
    values = {k: (row.get(k) or "").strip() for k in COLUMNS}

    def fail(field: str, expected: str) -> ConfigError:
        return ConfigError(
            f"{path}, line {line}, {field}: expected {expected}, got {values[field]!r}"
        )

    action = values["action"].lower()
    if action not in ACTIONS:
        raise fail("action", "one of " + ", ".join(ACTIONS))
    offsets: dict[str, int | None] = {}
    for field in ("start", "end"):
        text = values[field]
        if text and not text.isdigit():
            raise fail(field, "a whole number (a character offset)")
        offsets[field] = int(text) if text else None
    if values["kind"] and values["kind"] not in KINDS:
        raise fail("kind", "one of " + ", ".join(KINDS))
    if values["scope"] and values["scope"] not in SCOPES:
        raise fail("scope", "one of " + ", ".join(SCOPES))
    by_mention = values["document_id"] and None not in offsets.values()
    if not by_mention and not values["source"]:
        raise fail("source", "a source, or document_id, start and end of a mention")
    if action in ("rename", "merge") and not (values["source"] and values["value"]):
        raise fail("value", f"the new source name ({action} needs source and value)")
    if action in ("kind", "scope") and not values[action]:
        raise fail(action, f"the new {action}")
    return Correction(
        line=line,
        action=action,
        document_id=values["document_id"],
        start=offsets["start"] if by_mention else None,
        end=offsets["end"] if by_mention else None,
        source=values["source"],
        kind=values["kind"],
        scope=values["scope"],
        value=values["value"],
    )


def apply_corrections(
    mentions: Sequence[ResolvedMention],
    corrections: Sequence[Correction],
    *,
    texts: Mapping[str, str],
    segment_of: Mapping[str, Sequence[tuple[int, int, str]]],
) -> CorrectionResult:
    """Apply corrections in file order; never changes its inputs.

    Args:
        mentions: Resolved mentions, kept and dismissed.
        corrections: From :func:`read_corrections`.
        texts: Document id to its text (for a mention the step never found).
        segment_of: Document id to its participant segments' ``(start, end,
            segment_id)`` (an accepted new mention takes its segment).

    Returns:
        The corrected mentions (new accepted ones added in text order), the
        number applied, and the lines of corrections that matched nothing.
    """
    result = list(mentions)
    applied, unmatched = 0, []
    for correction in corrections:
        hits = [i for i, m in enumerate(result) if _matches(correction, m)]
        if not hits and correction.action == "accept" and correction.by_mention:
            new = _new_mention(correction, texts, segment_of)
            if new is not None:
                result.append(new)
                applied += 1
                continue
        if not hits:
            unmatched.append(correction.line)
            continue
        applied += 1
        target = _merge_target(correction, result)
        for i in hits:
            result[i] = _corrected(result[i], correction, target)
    if unmatched:
        logger.warning(
            "network: %d corrections matched no mention (lines %s)",
            len(unmatched),
            ", ".join(map(str, unmatched)),
        )
    result.sort(key=lambda m: (m.mention.document_id, m.mention.start))
    return CorrectionResult(result, applied, tuple(unmatched))


def _matches(correction: Correction, resolved: ResolvedMention) -> bool:
    mention = resolved.mention
    if correction.by_mention:
        return (
            mention.document_id == correction.document_id
            and mention.start < correction.end
            and correction.start < mention.end
        )
    if correction.document_id and mention.document_id != correction.document_id:
        return False
    return resolved.source == correction.source


def _merge_target(
    correction: Correction, mentions: Sequence[ResolvedMention]
) -> ResolvedMention | None:
    if correction.action != "merge":
        return None
    for resolved in mentions:
        if resolved.source == correction.value and resolved.kept:
            return resolved
    return None


def _corrected(
    resolved: ResolvedMention, correction: Correction, target: ResolvedMention | None
) -> ResolvedMention:
    action = correction.action
    if action == "accept":
        changes = {"kept": True, "reason": ""}
        if correction.kind:
            changes["kind"] = correction.kind
        if correction.scope:
            changes["scope"] = correction.scope
        return resolved.with_changes(**changes)
    if action == "reject":
        return resolved.with_changes(kept=False, reason="corrected: rejected")
    if action in ("rename", "merge"):
        changes = {"source": correction.value}
        if target is not None:
            changes |= {"kind": target.mention.kind, "scope": target.mention.scope}
        return resolved.with_changes(**changes)
    return resolved.with_changes(**{action: correction.kind or correction.scope})


def _new_mention(
    correction: Correction,
    texts: Mapping[str, str],
    segment_of: Mapping[str, Sequence[tuple[int, int, str]]],
) -> ResolvedMention | None:
    text = texts.get(correction.document_id)
    start, end = correction.start, correction.end
    if text is None or not 0 <= start < end <= len(text):
        return None
    segment_id = next(
        (s for a, b, s in segment_of.get(correction.document_id, ()) if a <= start < b),
        "",
    )
    kind = correction.kind or "codified"
    label = text[start:end]
    role = label.lower() if kind == "person" else ""
    mention = Mention(
        document_id=correction.document_id,
        segment_id=segment_id,
        start=start,
        end=end,
        mention=label,
        kind=kind,
        scope=correction.scope or "unknown",
        role=role,
        head=label.split()[-1].lower() if label.split() else "",
        score=1.0,
    )
    source = correction.source or f"{correction.document_id}: {label.lower()}"
    return ResolvedMention(mention=mention, source=source, kept=True)
