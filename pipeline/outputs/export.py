"""What researchers open: the report, the workbook, and a REFI-QDA project.

:func:`export_run` writes into a run folder (or ``out_dir``):

- ``report.html`` (see :mod:`pipeline.outputs.report`);
- ``prevalence_by_group.csv``: themes by metadata group, with intervals;
- ``results.xlsx``: a sheet per table (auto codes, codes compared, agreement,
  disagreements, codebook, topics, prevalence by group), numbers stored as
  numbers;
- ``auto_codes.qdpx``: a REFI-QDA project for NVivo, ATLAS.ti, MAXQDA and
  QualCoder with the documents' text, the codebook, case variables from the
  metadata, the human codings under their coders (first, so a QDA tool's
  active coder is a person) and the auto-codes under a user named for the
  model and the run (``auto: <model> (run <id>)``, read back as an
  auto-coder, never as a human coder).

Codes show as their names wherever people read them; tables keep the code's
id in ``code`` and its name in ``code_name`` beside it (the auto-code CSVs of
the classify step get that column here, and the segment's words in ``quote``).
Every CSV of the run is then given the encoding ``store.csv_encoding`` asks
for (UTF-8 with a byte-order mark by default, so Excel reads it right).

:func:`rebuild_outputs` writes all of them again for a finished run, from the
codebook and human codes the run last compared with (``themes report``,
``themes compare``), so a rebuilt project keeps the human codings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.store.database import RunFolder

logger = logging.getLogger(__name__)


def prevalence_tables(
    folder: RunFolder, *, code_names: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Themes by every metadata group of the run, one table (``group_column`` first).

    Args:
        folder: The run folder.
        code_names: Code id to the name to show in ``code_name`` (default:
            the run's own, see :func:`run_code_names`).

    Returns:
        One row per group column, group and code.
    """
    from pipeline.agreement.compare import with_code_names
    from pipeline.coding.autocodes import read_assigned
    from pipeline.outputs.report import grouping_columns, prevalence_by_group
    from pipeline.records import segment_metadata

    if not folder.file("auto_codes.parquet").is_file():
        return pd.DataFrame()
    segments_table = folder.read_parquet("segments.parquet")
    documents = folder.read_parquet("documents.parquet")
    metadata = segment_metadata(segments_table, documents)
    assigned, codes = read_assigned(folder)
    segments = segments_table.to_pandas()
    frames = []
    for column in grouping_columns(documents.to_pandas(), metadata):
        table = prevalence_by_group(assigned, codes, segments, metadata, column)
        table.insert(0, "group_column", column)
        frames.append(table)
    if not frames:
        return pd.DataFrame()
    names = run_code_names(folder) if code_names is None else code_names
    return with_code_names(pd.concat(frames, ignore_index=True), names)


def run_code_names(folder: RunFolder, codebook=None) -> dict[str, str]:
    """Code id to the name people read: from the codebook, else the run's coder.

    Args:
        folder: The run folder (its ``classifier.json`` names the codes it
            coded with).
        codebook: The run's codebook, if at hand.

    Returns:
        Code id to name (a code without one is its own name).
    """
    names: dict[str, str] = {}
    if folder.file("classifier.json").is_file():
        names.update(folder.read_json("classifier.json").get("code_names") or {})
    if codebook is not None:
        names.update(codebook.display_names())
    return names


TEXT_COLUMNS = (
    "document_id", "segment_id", "best_segment_id", "code", "code_name", "unit",
    "coder_a", "coder_b", "coders", "group", "group_column", "label", "kind",
    "quote", "auto", "humans", "nearest_human_coded", "flag", "method", "model",
    "top_words", "representative_ids", "definition",
)  # fmt: skip
"""Columns of the run's CSVs read as text: ids such as ``007`` stay as written."""

RUN_CSVS = (
    "anonymisation.csv", "topics.csv", "topics_by_group.csv", "auto_codes.csv",
    "auto_codes_by_document.csv", "prevalence_by_group.csv", "codes_compared.csv",
    "agreement.csv", "human_agreement.csv", "disagreements.csv", "suggestions.csv",
)  # fmt: skip
"""The CSV files a run folder may hold (given ``store.csv_encoding`` on export)."""


def read_output_csv(path: str | Path) -> pd.DataFrame:
    """A CSV this tool wrote, read back as written.

    With or without a byte-order mark; numbers as numbers and an empty cell as
    missing (so a coefficient column with a blank stays numeric), ids and
    other text columns as text, and words such as ``NA`` as words.

    Args:
        path: The CSV file.

    Returns:
        The table.
    """
    return pd.read_csv(
        path,
        encoding="utf-8-sig",
        keep_default_na=False,
        na_values=[""],
        dtype=dict.fromkeys(TEXT_COLUMNS, str),
    )


def codebook_table(codebook) -> pd.DataFrame:
    """The codebook as one table: a row per code, its notes one per line.

    Args:
        codebook: A :class:`~pipeline.coding.codebook.Codebook`.

    Returns:
        ``code, code_name, parent, definition, include, exclude, examples,
        counter_examples, keywords``.
    """
    return pd.DataFrame(
        [
            {
                "code": code.id,
                "code_name": code.name,
                "parent": code.parent or "",
                "definition": code.definition,
                "include": "\n".join(code.include),
                "exclude": "\n".join(code.exclude),
                "examples": "\n".join(code.examples),
                "counter_examples": "\n".join(code.counter_examples),
                "keywords": ", ".join(code.keywords),
            }
            for code in codebook.codes
        ],
        columns=[
            "code", "code_name", "parent", "definition", "include", "exclude",
            "examples", "counter_examples", "keywords",
        ],
    )  # fmt: skip


def _auto_code_tables(
    folder: RunFolder, names: Mapping[str, str]
) -> dict[str, pd.DataFrame]:
    """``auto_codes.csv`` and ``auto_codes_by_document.csv`` with names and quotes.

    ``code_name`` goes beside ``code``; ``auto_codes.csv`` gets the segment's
    words in ``quote``, and ``auto_codes_by_document.csv`` the segment that
    best shows the code in the document (``best_segment_id``) and its words.
    """
    from pipeline.agreement.compare import with_code_names
    from pipeline.coding.autocodes import best_quotes_by_document, with_quotes

    tables = {}
    texts = None
    for name in ("auto_codes.csv", "auto_codes_by_document.csv"):
        path = folder.file(name)
        if not path.is_file():
            continue
        table = read_output_csv(path)
        if "code" not in table:
            continue
        if texts is None:
            segments = folder.read_parquet(
                "segments.parquet", columns=["segment_id", "text"]
            )
            texts = dict(
                zip(
                    segments.column("segment_id").to_pylist(),
                    segments.column("text").to_pylist(),
                    strict=True,
                )
            )
        if name == "auto_codes.csv":
            table = with_quotes(table, texts)
        elif folder.file("auto_codes.parquet").is_file():
            best = best_quotes_by_document(
                folder.read_parquet(
                    "auto_codes.parquet",
                    columns=["document_id", "segment_id", "code", "score", "assigned"],
                ).to_pandas(),
                texts,
            )
            table = table.drop(
                columns=["best_segment_id", "quote"], errors="ignore"
            ).merge(best, on=["document_id", "code"], how="left", sort=False)
        tables[name] = with_code_names(table, names)
    return tables


def _run_csv_encoding(folder: RunFolder) -> str:
    """The run's ``store.csv_encoding`` (its manifest's config), else the default."""
    from pipeline.store.database import DEFAULT_CSV_ENCODING

    if not folder.file("manifest.json").is_file():
        return DEFAULT_CSV_ENCODING
    config = folder.read_json("manifest.json").get("config") or {}
    return (config.get("store") or {}).get("csv_encoding") or DEFAULT_CSV_ENCODING


def export_run(
    run_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    codebook=None,
    imported=None,
    csv_encoding: str | None = None,
) -> dict:
    """Write the report, the workbook, the prevalence table and the REFI-QDA project.

    Also writes ``auto_codes.csv`` and ``auto_codes_by_document.csv`` again
    with ``code_name`` and the quotes, and gives every CSV of the run the
    encoding asked for.

    Args:
        run_dir: The run folder to read.
        out_dir: Where to write (default: the run folder).
        codebook: The run's codebook (for the workbook's codebook sheet, the
            report's codebook and the REFI-QDA project), if any.
        imported: The human codes (a :class:`~pipeline.io.codes.CodesImport`), if any.
        csv_encoding: ``utf-8-sig`` or ``utf-8`` (default: the run's
            ``store.csv_encoding``, from its manifest).

    Returns:
        The paths written, by name.
    """
    from pipeline.agreement.compare import with_code_names
    from pipeline.outputs.report import write_report
    from pipeline.outputs.spreadsheet import write_workbook

    folder = RunFolder(run_dir)
    out = RunFolder(out_dir or run_dir)
    encoding = csv_encoding or _run_csv_encoding(folder)
    written = {}
    names = run_code_names(folder, codebook)
    auto_tables = _auto_code_tables(folder, names)
    for name, table in auto_tables.items():
        written[name] = out.write_csv(name, table, encoding=encoding)
    prevalence = prevalence_tables(folder, code_names=names)
    if len(prevalence):
        written["prevalence_by_group.csv"] = out.write_csv(
            "prevalence_by_group.csv", prevalence, encoding=encoding
        )
    sheets = {}
    for sheet, name in (
        ("auto codes", "auto_codes.csv"),
        ("codes compared", "codes_compared.csv"),
        ("agreement", "agreement.csv"),
        ("disagreements", "disagreements.csv"),
        ("topics", "topics.csv"),
        ("topics by group", "topics_by_group.csv"),
    ):
        table = auto_tables.get(name)
        if table is None and folder.file(name).is_file():
            table = read_output_csv(folder.file(name))
        if table is None:
            continue
        if "code" in table and not sheet.startswith("topics"):
            table = with_code_names(table, names)
        if sheet == "codes compared":
            # every segment x code is in the CSV; the sheet keeps the rows
            # where someone applied the code (most rows say nobody did)
            applied = table["auto_assigned"].eq(True)
            if "human_any" in table:
                applied |= table["human_any"].eq(True)
            table = _with_segment_quotes(folder, table[applied])
        if sheet == "disagreements":
            # runs before the codebook sheet carried the definition on every row
            table = table.drop(columns="definition", errors="ignore")
        sheets[sheet] = table
    if codebook is not None:
        sheets["codebook"] = codebook_table(codebook)
    if len(prevalence):
        sheets["prevalence by group"] = prevalence
    if sheets:
        about = [
            "auto codes: each segment's assigned codes and its three best-scoring "
            "codes, with the segment's words (all pairs: auto_codes.parquet)",
            "codes compared: per segment and code that a coder or the auto-coder "
            "applied, the segment's words, each human coder, the auto score and "
            "decision, agreement (every segment and code: codes_compared.csv)",
            "agreement: per code and unit, each coder's share of units with the "
            "code (prevalence_a: the human, prevalence_b: the auto-coder or a "
            "second human), kappa, alpha, AC1, Brennan-Prediger kappa, F1 with "
            "95% intervals, and flags",
            "disagreements: segments where auto and human codes differ, in review "
            "order (rank): false positives and misses alternate, the most "
            "confident first, fillers (4 words or fewer) last",
            "codebook: each code's id, name, definition, include and exclude "
            "notes, examples and keywords",
            "topics, topics by group: BERTopic topics, their words, sizes and quotes",
            "prevalence by group: share of segments with each theme in each "
            "metadata group (Wilson 95% intervals)",
            "code: the code's id in the codebook; code_name: its name",
        ]
        written["results.xlsx"] = write_workbook(
            out.file("results.xlsx"), sheets, about=about
        )
    written["report.html"] = write_report(
        run_dir, out_dir=out.path, code_names=names, codebook=codebook
    )
    qdpx = export_qdpx(folder, out, codebook=codebook, imported=imported)
    if qdpx is not None:
        written["auto_codes.qdpx"] = qdpx
    for name in RUN_CSVS:
        if out.file(name).is_file():
            out.set_csv_encoding(name, encoding)
    return {name: str(path) for name, path in written.items()}


def _with_segment_quotes(folder: RunFolder, table: pd.DataFrame) -> pd.DataFrame:
    """The table with each row's segment words in ``quote`` (after ``end``)."""
    from pipeline.coding.autocodes import with_quotes

    wanted = set(table["segment_id"].astype(str))
    segments = folder.read_parquet("segments.parquet", columns=["segment_id", "text"])
    texts = {
        segment: text
        for segment, text in zip(
            segments.column("segment_id").to_pylist(),
            segments.column("text").to_pylist(),
            strict=True,
        )
        if segment in wanted
    }
    return with_quotes(table, texts)


def export_qdpx(
    folder: RunFolder, out: RunFolder, *, codebook=None, imported=None
) -> Path | None:
    """Write ``auto_codes.qdpx``: documents, codebook, cases, human and auto codings.

    The human coders are the project's first users; the auto-coder, named
    ``auto: <model> (run <id>)``, is marked as one (see
    :func:`pipeline.io.refi.is_auto_coder`), so reading the project back as human
    codes skips it.

    Args:
        folder: The run folder.
        out: Where to write.
        codebook: The run's codebook.
        imported: The human codes, if any.

    Returns:
        The path written, or None when the run has no auto-codes or no codebook.

    Raises:
        ConfigError: The auto-codes use code ids the codebook does not have.
    """
    from pipeline.agreement.compare import check_auto_codes
    from pipeline.io.refi import (
        AUTO_CODER_NAME,
        ExportCoding,
        ExportDocument,
        auto_coder_name,
        write_project,
    )

    if codebook is None or not folder.file("auto_codes.parquet").is_file():
        return None
    manifest = (
        folder.read_json("manifest.json")
        if folder.file("manifest.json").is_file()
        else {}
    )
    classifier = folder.read_json("classifier.json")
    documents = folder.read_parquet("documents.parquet").to_pandas()
    metadata_columns = [
        c
        for c in documents.columns
        if c
        not in (
            "document_id",
            "source",
            "format",
            "text",
            "content_hash",
            "encoding",
            "turns",
        )
    ]
    export_documents = [
        ExportDocument(
            document_id=row["document_id"],
            text=row["text"],
            metadata={
                c: str(row[c])
                for c in metadata_columns
                if pd.notna(row[c]) and str(row[c])
            },
        )
        for row in documents.to_dict(orient="records")
    ]
    from pipeline.coding.autocodes import read_assigned

    auto, auto_codes = read_assigned(folder)
    check_auto_codes(auto_codes, codebook, source=folder.file("auto_codes.parquet"))
    run_id = manifest.get("run_id", folder.path.name)
    user = auto_coder_name(classifier.get("model", "auto-coder"), run_id)
    codes = set(codebook.ids)
    codings = [
        ExportCoding(document_id=d, start=int(s), end=int(e), code=c, user=user)
        for d, s, e, c in zip(
            auto["document_id"], auto["start"], auto["end"], auto["code"], strict=True
        )
        if c in codes
    ]
    texts = dict(zip(documents["document_id"], documents["text"], strict=True))
    for assignment in getattr(imported, "assignments", ()):
        if assignment.document_id in texts and assignment.code in codes:
            start = 0 if assignment.start is None else assignment.start
            end = (
                len(texts[assignment.document_id])
                if assignment.end is None
                else assignment.end
            )
            codings.append(
                ExportCoding(
                    document_id=assignment.document_id,
                    start=start,
                    end=end,
                    code=assignment.code,
                    user=assignment.coder,
                )
            )
    # an earlier auto-coder read back on purpose (include_auto_coders) stays one
    auto_coders = {user} | {
        c.user for c in codings if AUTO_CODER_NAME.fullmatch(c.user) is not None
    }
    return write_project(
        out.file("auto_codes.qdpx"),
        name=f"transcript-themes run {run_id}",
        documents=export_documents,
        codebook=codebook,
        codings=codings,
        auto_coders=auto_coders,
    )


def load_codebook_and_codes(run_dir: str | Path, config):
    """The run's codebook (config or trained model's card) and its human codes, if any.

    Args:
        run_dir: The run folder (its documents, and redaction maps).
        config: The run's config: ``classify.codebook`` (or ``classify.model``)
            and ``compare.codes``.

    Returns:
        ``(codebook or None, CodesImport or None)``.

    Raises:
        CodesError: The codes file cannot be read.
        CodebookError: The codebook cannot be read.
    """
    from pipeline.agreement.compare import _model_codebook, redaction_maps
    from pipeline.coding.codebook import load_codebook
    from pipeline.io.codes import read_codes

    path = config.classify.codebook or _model_codebook(config)
    if path is None or not Path(path).is_file():
        return None, None
    codebook = load_codebook(path)
    if config.compare.codes is None:
        return codebook, None
    documents = RunFolder(run_dir).read_parquet("documents.parquet")
    texts = dict(
        zip(
            documents["document_id"].to_pylist(),
            documents["text"].to_pylist(),
            strict=True,
        )
    )
    imported = read_codes(
        config.compare.codes,
        codebook=codebook,
        documents=texts,
        id_column=config.ingest.id_column,
        offset_maps=redaction_maps(RunFolder(run_dir)),
    )
    return codebook, imported


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
    """
    from pipeline.agreement.compare import _model_codebook
    from pipeline.config import PipelineConfig

    folder = RunFolder(run_dir)
    record = (
        folder.read_json("codes_import.json")
        if folder.file("codes_import.json").is_file()
        else {}
    )
    if record.get("codes_path"):
        codebook = record.get("codebook_path")
        return RunInputs(
            Path(codebook) if codebook else None,
            Path(record["codes_path"]),
            str(folder.file("codes_import.json")),
        )
    if not folder.file("manifest.json").is_file():
        return RunInputs(None, None)
    config = PipelineConfig.model_validate(folder.read_json("manifest.json")["config"])
    codebook = config.classify.codebook or _model_codebook(config)
    return RunInputs(
        Path(codebook) if codebook else None,
        config.compare.codes,
        str(folder.file("manifest.json")),
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
        config: The run's config (:class:`~pipeline.config.PipelineConfig`).
        codes: Human codes to use instead of the recorded ones.
        codebook: A codebook to use instead of the recorded one.

    Returns:
        The paths written, by name.

    Raises:
        CodesError: The human codes file the run compared with is gone, or
            cannot be read.
        CodebookError: The codebook cannot be read.
    """
    from pipeline.errors import CodebookError, CodesError

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
        imported=imported,
        csv_encoding=config.store.csv_encoding,
    )


def record_comparison(run_dir: str | Path, summary: Mapping) -> None:
    """Put a later comparison's summary into the run's manifest (``compare``).

    ``themes runs`` and the report read agreement from the manifest; after
    ``themes compare`` they show the new comparison. The manifest says when
    and with which files it was made (``compare.recompared``).

    Args:
        run_dir: The run folder.
        summary: What :func:`~pipeline.agreement.compare.compare_run` returned.
    """
    from pipeline.store.manifest import utc_now

    folder = RunFolder(run_dir)
    if not folder.file("manifest.json").is_file():
        return
    manifest = folder.read_json("manifest.json")
    record = (
        folder.read_json("codes_import.json")
        if folder.file("codes_import.json").is_file()
        else {}
    )
    manifest["compare"] = dict(summary) | {
        "recompared": {
            "at": utc_now(),
            "codes": record.get("codes_path"),
            "codebook": record.get("codebook_path"),
        }
    }
    folder.write_json("manifest.json", manifest)
