"""Checks the ``themes`` commands make before any work; each fails with exit 2.

A bad option, config, input path, codes file or ``--out`` is one ``error:``
line and exit status 2 (bad usage) before anything is read or written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flows.cli.console import fail
from flows.cli.exit_codes import EXIT_USAGE
from pipeline.coding.codebook import load_codebook
from pipeline.config.run import (
    PipelineConfig,
    RunOverrides,
    format_validation_error,
    load_config,
)
from pipeline.errors import ConfigError, PipelineError
from pipeline.io.codes.read import unknown_codes
from pipeline.store.folders import check_output_file, check_output_folder
from pipeline.store.permissions import use_file_modes


def load_settings(
    config: Path | None, overrides: dict[str, Any]
) -> tuple[RunOverrides, PipelineConfig]:
    """Load the config with overrides, or exit 2 with the config error.

    Args:
        config: The ``--config`` file, or None for the built-in settings.
        overrides: The command's options, by ``RunOverrides`` field.

    Returns:
        The validated overrides, and the settings with them applied.

    Raises:
        typer.Exit: Exit 2 for an option or config the settings reject.
    """
    try:
        run_overrides = RunOverrides(**overrides)
    except ValidationError as error:
        message = format_validation_error(error, "command line").replace(
            "command line: ", "command line: --"
        )
        raise fail(message, EXIT_USAGE) from None

    try:
        settings = load_config(config, overrides=run_overrides.as_dotted())
    except ConfigError as error:
        raise fail(str(error), EXIT_USAGE) from None
    # everything written from here on can hold transcript text: owner only
    use_file_modes(share_with_group=settings.store.share_with_group)
    return run_overrides, settings


def check_paths_exist(*labelled: tuple[str, str | Path | None]) -> None:
    """Exit 2 naming the first given path that does not exist.

    Args:
        labelled: ``(label, path)`` pairs, e.g. ``("codebook", path)``; a path
            of None was not given and is skipped.

    Raises:
        typer.Exit: Exit 2, ``<label> not found: <path>``.
    """
    for label, path in labelled:
        if path is not None and not Path(path).exists():
            raise fail(f"{label} not found: {path}", EXIT_USAGE)


def check_out_folder(path: str | Path | None, kind: str) -> None:
    """Exit 2 before any work when ``--out`` cannot be written.

    See pipeline.store.folders.
    """
    if path is None:
        return
    try:
        check_output_folder(path, kind=kind, option="--out")
    except PipelineError as error:
        raise fail(str(error), EXIT_USAGE) from None


def check_out_file(path: Path | None) -> None:
    """Exit 2 before any work when an ``--out`` file cannot be written."""
    if path is None:
        return
    try:
        check_output_file(path, option="--out")
    except PipelineError as error:
        raise fail(str(error), EXIT_USAGE) from None


def check_codes(
    codes_path: str | Path | None, codebook_path: str | Path | None
) -> None:
    """Exit 2 when the codes file uses codes the codebook does not have.

    A code matches as the codebook writes it, by name, or ignoring case,
    spacing and punctuation; the comparison's summary says which matched how.
    """
    if codes_path is None or codebook_path is None:
        return
    try:
        missing = unknown_codes(codes_path, load_codebook(codebook_path))
    except PipelineError as error:
        raise fail(str(error), EXIT_USAGE) from None
    if missing:
        listed = "; ".join(
            f"{code!r} ({', '.join(places[:3])}{', ...' if len(places) > 3 else ''})"
            for code, places in list(missing.items())[:8]
        )
        raise fail(
            f"{codes_path}: {len(missing)} code(s) not in the codebook "
            f"{codebook_path}, neither as written, by name, nor ignoring case, "
            f"spacing and punctuation (or matching two codes): {listed}. Add them "
            "to the codebook, or write them as the codebook does",
            EXIT_USAGE,
        )
