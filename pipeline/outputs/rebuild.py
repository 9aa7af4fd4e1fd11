"""A finished run's outputs made again: ``themes report`` and ``themes compare``.

:func:`rebuild_outputs` writes the report, the workbook and the REFI-QDA
project again from the codebook and human codes the run last compared with
(:func:`recorded_inputs`), so a rebuilt project keeps the human codings;
:func:`record_comparison` puts a later comparison into the run's manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.agreement.run_inputs import load_codebook_and_codes, run_codebook_path
from pipeline.config.run import PipelineConfig
from pipeline.errors import CodebookError, CodesError
from pipeline.outputs.export import export_run
from pipeline.outputs.run_tables import read_optional_json
from pipeline.store import run_files
from pipeline.store.manifest import utc_now
from pipeline.store.run_folder import RunFolder


@dataclass(frozen=True)
class RunInputs:
    """The codebook and human codes a run's outputs were made from.

    Attributes:
        codebook: The codebook file, or None.
        codes: The human codes file, or None (the run had none).
        recorded_in: Where they were found (``codes_import.json`` or
            ``manifest.json``), for messages.
    """

    codebook: Path | None
    codes: Path | None
    recorded_in: str = ""


def recorded_inputs(run_dir: str | Path) -> RunInputs:
    """The codebook and human codes the run last compared with.

    ``codes_import.json``, written by every comparison (the run's, or a later
    ``themes compare``), names them first; else the run's config in
    ``manifest.json``.

    Args:
        run_dir: The run folder.

    Returns:
        The files as recorded (they may have moved since).

    Raises:
        RunNotFoundError: There is no run there (no folder is made).
    """
    folder = RunFolder.existing(run_dir)
    record = read_optional_json(folder, run_files.CODES_IMPORT, {})
    if record.get("codes_path"):
        codebook = record.get("codebook_path")
        return RunInputs(
            Path(codebook) if codebook else None,
            Path(record["codes_path"]),
            str(folder.file(run_files.CODES_IMPORT)),
        )
    if not folder.file(run_files.MANIFEST).is_file():
        return RunInputs(None, None)
    config = PipelineConfig.model_validate(folder.manifest()["config"])
    codebook = run_codebook_path(config)
    return RunInputs(
        Path(codebook) if codebook else None,
        config.compare.codes,
        str(folder.file(run_files.MANIFEST)),
    )


def rebuild_outputs(
    run_dir: str | Path,
    config,
    *,
    codes: str | Path | None = None,
    codebook: str | Path | None = None,
) -> dict[str, str]:
    """Write a finished run's report, workbook and REFI-QDA project again.

    The same inputs as the run's comparison, human codings included: the
    files given, else those :func:`recorded_inputs` finds.

    Args:
        run_dir: The run folder.
        config: The run's config (:class:`~pipeline.config.run.PipelineConfig`).
        codes: Human codes to use instead of the recorded ones.
        codebook: A codebook to use instead of the recorded one.

    Returns:
        The paths written, by name.

    Raises:
        CodesError: The human codes file the run compared with is gone, or
            cannot be read.
        CodebookError: The codebook cannot be read.
    """
    recorded = recorded_inputs(run_dir)
    codes_from = "given" if codes else f"recorded in {recorded.recorded_in}"
    codes = codes or recorded.codes
    if codebook is None:
        # the recorded codebook, unless it has gone; then the config's
        found = [
            Path(path)
            for path in (recorded.codebook, config.classify.codebook)
            if path is not None
        ]
        codebook = next((p for p in found if p.is_file()), found[0] if found else None)
    if codebook is not None and not Path(codebook).is_file():
        raise CodebookError(
            f"{codebook}: the codebook this run was coded with (recorded in "
            f"{recorded.recorded_in or 'its config'}) is not found; the REFI-QDA "
            "project needs it. Put it back, or pass --config with classify.codebook"
        )
    if codes is not None and not Path(codes).is_file():
        raise CodesError(
            f"{codes}: the human codes file this run compared with ({codes_from}) "
            "is not found; its outputs would lose the human codings. Put it back, "
            "or pass --codes FILE"
        )
    inputs = config.model_copy(
        update={
            "classify": config.classify.model_copy(update={"codebook": codebook}),
            "compare": config.compare.model_copy(update={"codes": codes}),
        }
    )
    loaded_codebook, imported = load_codebook_and_codes(run_dir, inputs)
    return export_run(
        run_dir,
        codebook=loaded_codebook,
        human_codes=imported.assignments if imported is not None else (),
        csv_encoding=config.store.csv_encoding,
    )


def record_comparison(run_dir: str | Path, summary: Mapping) -> None:
    """Put a later comparison's summary into the run's manifest (``compare``).

    ``themes runs`` and the report read agreement from the manifest; after
    ``themes compare`` they show the new comparison. The manifest says when
    and with which files it was made (``compare.recompared``).

    Args:
        run_dir: The run folder.
        summary: What :func:`~pipeline.agreement.run_comparison.compare_run` returned.
    """
    folder = RunFolder(run_dir)
    if not folder.file(run_files.MANIFEST).is_file():
        return
    manifest = folder.manifest()
    record = read_optional_json(folder, run_files.CODES_IMPORT, {})
    manifest["compare"] = dict(summary) | {
        "recompared": {
            "at": utc_now(),
            "codes": record.get("codes_path"),
            "codebook": record.get("codebook_path"),
        }
    }
    folder.write_json(run_files.MANIFEST, manifest)
