"""What researchers open: the report, the workbook, and a REFI-QDA project.

:func:`export_run` writes into a run folder (or ``out_dir``):

- ``report.html`` (see :mod:`pipeline.report`);
- ``prevalence_by_group.csv``: themes by metadata group, with intervals;
- ``results.xlsx``: a sheet per table (auto codes, codes compared, agreement,
  disagreements, topics, prevalence by group);
- ``auto_codes.qdpx``: a REFI-QDA project for NVivo, ATLAS.ti, MAXQDA and
  QualCoder with the documents' text, the codebook, case variables from the
  metadata, the human codings under their coders and the auto-codes under a
  user named for the model and the run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from pipeline.store import RunFolder

logger = logging.getLogger(__name__)


def prevalence_tables(folder: RunFolder) -> pd.DataFrame:
    """Themes by every metadata group of the run, one table (``group_column`` first)."""
    from pipeline.autocodes import read_assigned
    from pipeline.records import segment_metadata
    from pipeline.report import grouping_columns, prevalence_by_group

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
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _table(folder: RunFolder, name: str) -> pd.DataFrame | None:
    path = folder.file(name)
    if not path.is_file():
        return None
    if name.endswith(".parquet"):
        return folder.read_parquet(name).to_pandas()
    return pd.read_csv(path, keep_default_na=False)


def export_run(
    run_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    codebook=None,
    imported=None,
) -> dict:
    """Write the report, the workbook, the prevalence table and the REFI-QDA project.

    Args:
        run_dir: The run folder to read.
        out_dir: Where to write (default: the run folder).
        codebook: The run's codebook (for the REFI-QDA project), if any.
        imported: The human codes (a :class:`~pipeline.codes.CodesImport`), if any.

    Returns:
        The paths written, by name.
    """
    from pipeline.report import write_report
    from pipeline.spreadsheet import write_workbook

    folder = RunFolder(run_dir)
    out = RunFolder(out_dir or run_dir)
    written = {}
    prevalence = prevalence_tables(folder)
    if len(prevalence):
        written["prevalence_by_group.csv"] = out.write_csv(
            "prevalence_by_group.csv", prevalence
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
        table = _table(folder, name)
        if table is not None and sheet == "codes compared":
            # every segment x code is in the CSV; the sheet keeps the rows
            # where someone applied the code (most rows say nobody did)
            applied = table["auto_assigned"].eq(True)
            if "human_any" in table:
                applied |= table["human_any"].eq(True)
            table = table[applied]
        if table is not None:
            sheets[sheet] = table
    if len(prevalence):
        sheets["prevalence by group"] = prevalence
    if sheets:
        about = [
            "auto codes: each segment's assigned codes and its three best-scoring codes (all pairs: auto_codes.parquet)",
            "codes compared: per segment and code that a coder or the auto-coder applied, each human coder, "
            "the auto score and decision, agreement (every segment and code: codes_compared.csv)",
            "agreement: per code and unit, kappa, alpha, AC1, Brennan-Prediger kappa, F1 with 95% intervals",
            "disagreements: segments where auto and human codes differ, most confident first",
            "topics, topics by group: BERTopic topics, their words, sizes and quotes",
            "prevalence by group: share of segments with each theme in each metadata group (Wilson 95% intervals)",
        ]
        written["results.xlsx"] = write_workbook(
            out.file("results.xlsx"), sheets, about=about
        )
    written["report.html"] = write_report(run_dir, out_dir=out.path)
    qdpx = export_qdpx(folder, out, codebook=codebook, imported=imported)
    if qdpx is not None:
        written["auto_codes.qdpx"] = qdpx
    return {name: str(path) for name, path in written.items()}


def export_qdpx(
    folder: RunFolder, out: RunFolder, *, codebook=None, imported=None
) -> Path | None:
    """Write ``auto_codes.qdpx``: documents, codebook, cases, human and auto codings.

    Returns:
        The path written, or None when the run has no auto-codes or no codebook.
    """
    from pipeline.refi import ExportCoding, ExportDocument, write_project

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
    from pipeline.autocodes import read_assigned

    auto, _ = read_assigned(folder)
    user = f"auto: {classifier.get('model', 'auto-coder')} (run {manifest.get('run_id', folder.path.name)})"
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
    name = f"transcript-themes run {manifest.get('run_id', folder.path.name)}"
    return write_project(
        out.file("auto_codes.qdpx"),
        name=name,
        documents=export_documents,
        codebook=codebook,
        codings=codings,
    )


def load_codebook_and_codes(run_dir: str | Path, config):
    """The run's codebook (config or trained model's card) and its human codes, if any.

    Returns:
        ``(codebook or None, CodesImport or None)``.
    """
    from pipeline.codebook import load_codebook
    from pipeline.codes import read_codes
    from pipeline.compare import _model_codebook, redaction_maps

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
