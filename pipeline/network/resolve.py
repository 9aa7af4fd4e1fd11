"""Resolve mentions into sources: the nodes of the knowledge network.

- A named source (gazetteer ``sources``) is one node across all interviews,
  however it is spelt ("the Leadership Academy", "NHS Leadership Academy").
- A person is a node of the interview that names them, one per role
  (``M02: line manager``); the role stays an attribute.
- Any other source is a node of its interview, named by its words with the
  head in the singular (``M08: special interest group``); a bare head word
  ("the programme", "the group") is the last source of the interview with that
  head ("the programme" after "the Mary Seacole programme").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from pipeline.network.mentions import Mention


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedMention:
    """A mention with its source and whether it is kept as a tie.

    Attributes:
        mention: The mention (its ``kind`` and ``scope`` may be corrected).
        source: The source's node name.
        kept: True when it is a source the participant draws on.
        reason: Why it is not kept (empty when kept).
    """

    mention: Mention
    source: str
    kept: bool
    reason: str = ""

    def with_changes(self, **changes) -> ResolvedMention:
        """A copy with fields of the mention (``kind``, ``scope``) or of self."""
        own = {k: changes.pop(k) for k in ("source", "kept", "reason") if k in changes}
        mention = replace(self.mention, **changes) if changes else self.mention
        return replace(self, mention=mention, **own)


def source_label(mention: Mention) -> str:
    """The node name of a mention that is not a named source or a person."""
    words = mention.mention.split()
    last = words[-1]
    if (
        mention.head
        and last.lower() != mention.head
        and last.lower().startswith(mention.head[:3])
    ):
        words[-1] = mention.head  # "special interest groups" → "...group"
    return " ".join(words)


def resolve_sources(
    mentions: Sequence[Mention], *, kept: Sequence[bool]
) -> list[ResolvedMention]:
    """Give every mention its source node.

    Args:
        mentions: Mentions in document and text order.
        kept: Whether each mention is kept (only kept mentions are targets
            for a later bare "the programme").

    Returns:
        One resolved mention per mention, in the same order.
    """
    last_with_head: dict[tuple[str, str], str] = {}
    resolved = []
    for mention, is_kept in zip(mentions, kept, strict=True):
        source = _source_of(mention, last_with_head)
        if is_kept and mention.kind != "person":
            last_with_head[(mention.document_id, mention.head)] = source
        resolved.append(
            ResolvedMention(
                mention=mention,
                source=source,
                kept=is_kept,
                reason="" if is_kept else mention.reason or "low score",
            )
        )
    return resolved


def _source_of(mention: Mention, last_with_head: dict[tuple[str, str], str]) -> str:
    if mention.named:
        return mention.named
    if mention.kind == "person":
        return f"{mention.document_id}: {mention.role}"
    label = source_label(mention)
    if label.lower() == mention.head:
        earlier = last_with_head.get((mention.document_id, mention.head))
        if earlier is not None:
            return earlier
    return f"{mention.document_id}: {label.lower()}"
