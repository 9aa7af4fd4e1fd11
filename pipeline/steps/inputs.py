"""A run's inputs besides its corpus, resolved once at its start.

:func:`resolve_run_inputs` reads the config's codebook (with the one fallback
rule: ``classify.codebook``, else the codebook the trained model's card
names), and hashes the codebook, the trained model and the human codes with
one function (:func:`~pipeline.store.cache_keys.file_hash`). Every step that
needs them takes the :class:`RunInputs`; none parses or hashes them again.
The human codes are read once, by the compare step, against the run's own
documents (they need the ingested, maybe redacted, text); the steps after it
read what it wrote (``human_codes.parquet``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.agreement.run_inputs import run_codebook_path
from pipeline.coding.codebook import load_codebook
from pipeline.coding.codebook_records import Codebook
from pipeline.config.run import PipelineConfig
from pipeline.store.cache_keys import file_hash


@dataclass(frozen=True)
class InputHashes:
    """Content hashes of a run's inputs ('' for an input the run does not have).

    Attributes:
        codebook: The codebook file.
        model: The trained model's folder (every file in it).
        codes: The human codes file.
    """

    codebook: str
    model: str
    codes: str


@dataclass(frozen=True)
class RunInputs:
    """What a run reads besides its corpus, resolved and hashed once.

    Attributes:
        config: The run's settings.
        codebook_path: The codebook file: ``classify.codebook``, else the one
            the trained model's card names; None when there is neither (or the
            card names a file that is no longer there).
        codebook: The codebook read from it, or None.
        codes_path: The human codes file (``compare.codes``), or None.
        hashes: Content hashes of the codebook, model and codes.
    """

    config: PipelineConfig
    codebook_path: Path | None
    codebook: Codebook | None
    codes_path: Path | None
    hashes: InputHashes


def resolve_run_inputs(config: PipelineConfig) -> RunInputs:
    """Read the run's codebook and hash its inputs.

    Args:
        config: The run's settings (``classify`` and ``compare``).

    Returns:
        The resolved inputs.

    Raises:
        CodebookError: The codebook cannot be read (or the config names one
            that is not there).
    """
    named = run_codebook_path(config)
    # a codebook the config names must be there; one a model's card names may
    # have moved since the training (the model still codes, by code id)
    path = (
        Path(named)
        if named is not None
        and (config.classify.codebook is not None or Path(named).is_file())
        else None
    )
    return RunInputs(
        config=config,
        codebook_path=path,
        codebook=None if path is None else load_codebook(path),
        codes_path=config.compare.codes,
        hashes=InputHashes(
            codebook=file_hash(path),
            model=file_hash(config.classify.model),
            codes=file_hash(config.compare.codes),
        ),
    )
