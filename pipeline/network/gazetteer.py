"""The gazetteer of knowledge sources: named sources, roles, kind words, cues.

Researchers keep it as YAML (``config/network_gazetteer.yaml``); it is read
once, validated (unknown keys, kinds and scopes are errors naming the file and
the key), and handed to the extraction as a frozen :class:`Gazetteer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from pipeline.config.base import StrictModel
from pipeline.errors import ConfigError

Kind = Literal["person", "programme", "network", "community", "codified"]
KINDS: tuple[str, ...] = ("person", "programme", "network", "community", "codified")
Scope = Literal["internal", "external", "unknown"]
SCOPES: tuple[str, ...] = ("internal", "external", "unknown")
Purpose = Literal["knowledge", "support", "career", "influence"]
PURPOSES: tuple[str, ...] = ("knowledge", "support", "career", "influence")


class NamedSource(StrictModel):
    """A source that is one node across interviews (a programme, a body).

    Attributes:
        name: The node's name in every output.
        kind: Its kind (never ``person``: people are roles).
        scope: ``external`` for national bodies; ``internal`` for a trust's own.
        aliases: Every spelling to find (the name itself is always found).
    """

    name: str = Field(min_length=1)
    kind: Literal["programme", "network", "community", "codified"]
    scope: Scope = "external"
    aliases: tuple[str, ...] = ()

    @property
    def spellings(self) -> tuple[str, ...]:
        """The name and its aliases, without repeats."""
        return tuple(dict.fromkeys((self.name, *self.aliases)))


class RoleEntry(StrictModel):
    """Words naming a person by role; the role is kept for group comparisons.

    Attributes:
        role: The role's canonical name (``line manager``).
        scope: Its scope when the speech does not say.
        terms: Every spelling to find.
    """

    role: str = Field(min_length=1)
    scope: Scope = "unknown"
    terms: tuple[str, ...] = Field(min_length=1)


class KindWords(StrictModel):
    """Generic words of the kinds other than ``person``."""

    programme: tuple[str, ...] = ()
    network: tuple[str, ...] = ()
    community: tuple[str, ...] = ()
    codified: tuple[str, ...] = ()


class ScopeCues(StrictModel):
    """Words near a mention that place it inside or outside the organisation."""

    external: tuple[str, ...] = ()
    internal: tuple[str, ...] = ()


class PurposeCues(StrictModel):
    """Words that say what a source is used for."""

    knowledge: tuple[str, ...] = ()
    support: tuple[str, ...] = ()
    career: tuple[str, ...] = ()
    influence: tuple[str, ...] = ()


class Gazetteer(StrictModel):
    """Everything the network step looks for (``docs/networks.md``).

    Attributes:
        sources: Named sources (one node across interviews).
        roles: People by role (one node per role per interview).
        kinds: Generic words of programmes, networks, communities, codified
            sources.
        groups: Words for groups (``group``, ``action learning set``): a
            community when placed inside the organisation, a network outside.
        group_default: The kind of a group whose scope is not said.
        scope_cues: Internal and external cue words.
        purpose_cues: Cue words of the four purposes, in the mention's sentence.
        question_cues: Cue words of the purposes in the interviewer's question.
        dismissal_cues: Phrases that, in a mention's sentence, mean the
            participant rejects or only names it.
        ignore: Phrases holding a gazetteer word that are never a source
            ("cost improvement programme").
        role_heads: Nouns that make any noun phrase a person by role ("lead":
            "obstetric lead"; "head" only as "head of ...").
        organisation_heads: Capitalised words that make a name an organisation
            ("College": "Royal College of Psychiatrists"), a network.
        weak: Kind words that count only with a cue in their sentence
            ("meeting", "report").
        use_cues: Words saying a source is used, with no purpose ("I ring
            her", "I read", "useful").
    """

    sources: tuple[NamedSource, ...] = ()
    roles: tuple[RoleEntry, ...] = ()
    kinds: KindWords = KindWords()
    groups: tuple[str, ...] = ()
    group_default: Literal["network", "community"] = "network"
    scope_cues: ScopeCues = ScopeCues()
    purpose_cues: PurposeCues = PurposeCues()
    question_cues: PurposeCues = PurposeCues()
    dismissal_cues: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    role_heads: tuple[str, ...] = ()
    organisation_heads: tuple[str, ...] = ()
    weak: KindWords = KindWords()
    use_cues: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check_unique_names(self) -> Gazetteer:
        names = [source.name.casefold() for source in self.sources]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"sources: names given twice: {repeated}")
        return self

    def source_named(self, name: str) -> NamedSource | None:
        """The named source called ``name`` (case-insensitive), if any."""
        wanted = name.casefold()
        for source in self.sources:
            if source.name.casefold() == wanted:
                return source
        return None


def load_gazetteer(path: str | Path) -> Gazetteer:
    """Read and validate a gazetteer YAML file.

    Args:
        path: The YAML file.

    Returns:
        The validated gazetteer.

    Raises:
        ConfigError: The file is missing, is not YAML, or has an unknown key,
            kind or scope (the message names the file and the key).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"network.gazetteer: {path} not found; give a YAML gazetteer or leave "
            "the key out for the shipped config/network_gazetteer.yaml"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from e
    try:
        return Gazetteer.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in e.errors()
        )
        raise ConfigError(
            f"{path}: {problems} (kinds: {', '.join(KINDS)}; scopes: "
            f"{', '.join(SCOPES)})"
        ) from e
