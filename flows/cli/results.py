"""``themes report`` and ``themes runs``: a run's outputs, and the runs in the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli.checks import check_paths_exist, load_settings
from flows.cli.console import console, fail, print_runs
from flows.cli.exit_codes import EXIT_FAILED
from flows.cli.options import ConfigOption
from flows.cli.run_folders import run_config
from pipeline.errors import PipelineError


def report(
    run_dir: Annotated[Path, typer.Argument(help="The run folder.")],
    config: ConfigOption = None,
    codes: Annotated[
        Path | None,
        typer.Option(
            help="Human codes to put in the REFI-QDA project (default: the ones "
            "the run last compared with)."
        ),
    ] = None,
) -> None:
    """Rebuild a run's report, workbook and REFI-QDA project from its files.

    The human codes are the ones the run (or a later `themes compare`) compared
    with, so the rebuilt project keeps their codings.

    Example: themes report runs/demo
    """
    _, settings = load_settings(config, {})
    check_paths_exist(("codes file", codes))
    # heavy: pulls in pandas and pyarrow; kept out of start-up
    from pipeline.outputs.rebuild import rebuild_outputs

    try:
        config_of_run = run_config(run_dir, settings)
        written = rebuild_outputs(
            run_dir, config_of_run, codes=codes or settings.compare.codes
        )
    except PipelineError as error:
        raise fail(str(error), EXIT_FAILED) from None
    for name, path in written.items():
        console.print(f"{name}: {path}", highlight=False)


def runs(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List runs in the store: date, corpus, counts and key agreement figures.

    Example: themes runs
    """
    _, settings = load_settings(config, {})
    # heavy: pulls in pyarrow; kept out of start-up
    from pipeline.store.database import ResultsStore

    try:
        rows = ResultsStore(settings.store.database).list_runs()
    except PipelineError as error:
        raise fail(str(error), EXIT_FAILED) from None
    summaries = [_summarise(row) for row in rows]
    if as_json:
        console.print_json(json.dumps(summaries))
        return
    print_runs(summaries)


def _summarise(row: dict[str, Any]) -> dict[str, Any]:
    """A run's row in ``themes runs``, with its best kappa at segments.

    The agreement is the auto-coder's best kappa against a human, then the
    best between humans (the ceiling), from the run's manifest.
    """
    agreement = ""
    manifest = Path(row["out_dir"] or "") / "manifest.json"
    if manifest.is_file():
        pooled = (json.loads(manifest.read_text()).get("compare") or {}).get(
            "pooled", []
        )
        auto = [
            r["kappa"]
            for r in pooled
            if r["coder_b"] == "auto" and r["unit"] == "segments"
        ]
        human = [
            r["kappa"]
            for r in pooled
            if r["coder_b"] != "auto" and r["unit"] == "segments"
        ]
        if auto:
            agreement = f"{max(auto):.2f}" + (f" / {max(human):.2f}" if human else "")
    return {
        "run_id": row["run_id"],
        "started_at": str(row["started_at"] or ""),
        "status": row["status"],
        "corpus": row["corpus"],
        "documents": row["n_documents"],
        "segments": row["n_segments"],
        "quarantined": row["n_quarantined"],
        "agreement": agreement,
        "folder": row["out_dir"],
    }
