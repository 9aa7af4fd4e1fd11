"""What researchers open: the report, the workbook, and a REFI-QDA project.

:func:`export_run` writes into a run folder (or ``out_dir``):

- ``report.html`` (see :mod:`pipeline.outputs.report`);
- ``prevalence_by_group.csv``: themes by metadata group, with intervals;
- ``results.xlsx``: a sheet per table (auto codes, codes compared, agreement,
  disagreements, codebook, topics, prevalence by group), numbers stored as
  numbers;
- ``auto_codes.qdpx`` (see :mod:`pipeline.outputs.qdpx`): a REFI-QDA project
  for NVivo, ATLAS.ti, MAXQDA and QualCoder with the documents' text, the
  codebook, case variables from the metadata, the human codings under their
  coders (first, so a QDA tool's active coder is a person) and the auto-codes
  under a user named for the model and the run (``auto: <model> (run <id>)``,
  read back as an auto-coder, never as a human coder).

The tables of a row per segment (or document) and code, 3.2 million rows at
100,000 segments, are read and rewritten a chunk at a time
(:mod:`pipeline.outputs.csv_chunks`, :mod:`pipeline.outputs.best_segments`),
so the step's memory does not grow with them.

Codes show as their names wherever people read them; tables keep the code's
id in ``code`` and its name in ``code_name`` beside it (the auto-code CSVs of
the classify step get that column here, and the segment's words in ``quote``).
Every CSV of the run is then given the encoding ``store.csv_encoding`` asks
for (UTF-8 with a byte-order mark by default, so Excel reads it right).

:func:`~pipeline.outputs.rebuild.rebuild_outputs` writes all of them again for
a finished run, from the codebook and human codes the run last compared with
(``themes report``, ``themes compare``), so a rebuilt project keeps the human
codings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from pipeline.agreement.compare import with_code_names
from pipeline.coding.auto_code_tables import with_quotes
from pipeline.io.codes.records import CodeAssignment
from pipeline.outputs.best_segments import BestSegments, write_codes_by_document
from pipeline.outputs.csv_chunks import read_rows_where
from pipeline.outputs.prevalence import prevalence_tables
from pipeline.outputs.qdpx import QDPX, export_qdpx
from pipeline.outputs.report import write_report
from pipeline.outputs.run_tables import (
    RUN_CSVS,
    output_csv_columns,
    read_output_csv,
    read_run_table,
    run_code_names,
    run_csv_encoding,
    segment_texts,
)
from pipeline.outputs.second_process import SecondProcess
from pipeline.outputs.spreadsheet import write_workbook
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder


def codebook_table(codebook) -> pd.DataFrame:
    """The codebook as one table: a row per code, its notes one per line.

    Args:
        codebook: A :class:`~pipeline.coding.codebook_records.Codebook`.

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


_AUTO_CODE_CSVS = (
    run_files.AUTO_CODES_CSV,
    run_files.AUTO_PASSAGES_CSV,
    run_files.AUTO_CODES_BY_DOCUMENT_CSV,
)


def _coded_csvs(folder: RunFolder) -> list[str]:
    """The classify step's auto-code CSVs in the run that carry a ``code`` column."""
    return [
        name
        for name in _AUTO_CODE_CSVS
        if folder.file(name).is_file()
        and "code" in output_csv_columns(folder.file(name))
    ]


def _write_auto_code_table(
    folder: RunFolder,
    out: RunFolder,
    name: str,
    *,
    texts: pd.Series,
    names: Mapping[str, str],
    encoding: str,
) -> tuple[Path, pd.DataFrame | None]:
    """Write one auto-code CSV again with ``code_name`` beside ``code``.

    ``auto_codes.csv`` gets the segment's words in ``quote``, and
    ``auto_codes_by_document.csv`` the segment that best shows the code in the
    document (``best_segment_id``) and its words; passages carry their words
    already. The table by document (a row per document and code) is rewritten
    a chunk at a time and not kept.

    Returns:
        The path written, and the table (None for the table by document).
    """
    by_document = (
        name == run_files.AUTO_CODES_BY_DOCUMENT_CSV
        and folder.file(run_files.AUTO_CODES).is_file()
    )
    if by_document:
        # a chunk at a time, unless its chunks were read with different types
        rewritten = write_codes_by_document(
            folder, out, texts=texts, names=names, encoding=encoding
        )
        if rewritten is not None:
            return rewritten, None
    table = read_output_csv(folder.file(name))
    if name == run_files.AUTO_CODES_CSV:
        table = with_quotes(table, texts)
    elif by_document:
        table = BestSegments.from_run(folder).with_best_quotes(table, texts)
    table = with_code_names(table, names)
    path = out.write_csv(name, table, encoding=encoding)
    return path, (None if name == run_files.AUTO_CODES_BY_DOCUMENT_CSV else table)


PROCESS_FROM_SEGMENTS = 10_000
"""From this many segments, the REFI-QDA project and the workbook are written in
a second process (on two or more CPUs). At 100,000 segments they took about
37 s of one core (17 s and 18 s, measured); at 10,000, grown down linearly,
about 4 s, a few times what a process takes to start and receive the tables
(not measured at that size)."""

WORKBOOK_ABOUT = [
    "auto codes: each segment's assigned codes and its three best-scoring "
    "codes, with the segment's words (all pairs: auto_codes.parquet)",
    "auto passages: the coded segments of a turn merged into passages, as a "
    "coder marks them: document, turn, code, exact offsets, words, best score",
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
    "knowledge sources: each mention of a source of knowledge or support in "
    "a participant's speech (offsets, source, kind, scope, purpose); "
    "network by group: the network's measures per metadata group with 95% "
    "intervals (docs/networks.md)",
    "prevalence by group: share of segments with each theme in each "
    "metadata group (Wilson 95% intervals)",
    "code: the code's id in the codebook; code_name: its name",
]
"""The workbook's first sheet: what each sheet holds."""


def export_run(
    run_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    codebook=None,
    human_codes: Sequence[CodeAssignment] = (),
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
        human_codes: The human codes read for the run (offsets into its
            document texts), if any.
        csv_encoding: ``utf-8-sig`` or ``utf-8`` (default: the run's
            ``store.csv_encoding``, from its manifest).

    Returns:
        The paths written, by name.
    """
    folder = RunFolder(run_dir)
    out = RunFolder(out_dir or run_dir)
    encoding = csv_encoding or run_csv_encoding(folder)
    written: dict[str, Path] = {}
    names = run_code_names(folder, codebook)
    coded = _coded_csvs(folder)
    texts = segment_texts(folder) if coded else None
    # the REFI-QDA project and the workbook are written in a second process
    # for a large run, one after the other, while this one writes the rest
    beside = SecondProcess(enabled=len(texts or ()) >= PROCESS_FROM_SEGMENTS)
    with beside:
        project = beside.submit(
            export_qdpx, folder, out, codebook=codebook, human_codes=human_codes
        )
        auto_tables = {}
        for name in coded:
            if name == run_files.AUTO_CODES_BY_DOCUMENT_CSV:
                written[name] = out.file(name)  # its place in the list: written below
                continue
            written[name], auto_tables[name] = _write_auto_code_table(
                folder, out, name, texts=texts, names=names, encoding=encoding
            )
        prevalence = prevalence_tables(folder, code_names=names)
        if len(prevalence):
            written["prevalence_by_group.csv"] = out.write_csv(
                "prevalence_by_group.csv", prevalence, encoding=encoding
            )
        sheets = _workbook_sheets(folder, auto_tables, names, codebook, prevalence)
        workbook = None
        if sheets:
            workbook = beside.submit(
                write_workbook, out.file("results.xlsx"), sheets, about=WORKBOOK_ABOUT
            )
            written["results.xlsx"] = out.file("results.xlsx")  # its place in the list
            del sheets, auto_tables
        if run_files.AUTO_CODES_BY_DOCUMENT_CSV in coded:
            # no sheet of its own (3.2 million rows at 100,000 segments)
            written[run_files.AUTO_CODES_BY_DOCUMENT_CSV], _ = _write_auto_code_table(
                folder,
                out,
                run_files.AUTO_CODES_BY_DOCUMENT_CSV,
                texts=texts,
                names=names,
                encoding=encoding,
            )
        written["report.html"] = write_report(
            run_dir, out_dir=out.path, code_names=names, codebook=codebook
        )
        qdpx = project()
        if qdpx is not None:
            written[QDPX] = qdpx
        if workbook is not None:
            written["results.xlsx"] = workbook()
    for name in RUN_CSVS:
        if out.file(name).is_file():
            out.set_csv_encoding(name, encoding)
    return {name: str(path) for name, path in written.items()}


def _workbook_sheets(
    folder: RunFolder,
    auto_tables: Mapping[str, pd.DataFrame],
    names: Mapping[str, str],
    codebook,
    prevalence: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """The workbook's sheets, by name, in order (a table the run lacks has none)."""
    sheets = {}
    for sheet, name in (
        ("auto codes", run_files.AUTO_CODES_CSV),
        ("auto passages", run_files.AUTO_PASSAGES_CSV),
        ("codes compared", "codes_compared.csv"),
        ("agreement", "agreement.csv"),
        ("disagreements", "disagreements.csv"),
        ("topics", run_files.TOPICS),
        ("topics by group", run_files.TOPICS_BY_GROUP),
        ("knowledge sources", run_files.KNOWLEDGE_SOURCES_CSV),
        ("network by group", run_files.NETWORK_BY_GROUP),
    ):
        table = auto_tables.get(name)
        if table is None and sheet == "codes compared":
            table = _applied_codes(folder)
        elif table is None:
            table = read_run_table(folder, name)
        if table is None:
            continue
        if "code" in table and not sheet.startswith("topics"):
            table = with_code_names(table, names)
        if sheet == "codes compared":
            table = _with_segment_quotes(folder, table)
        if sheet == "disagreements":
            # runs before the codebook sheet carried the definition on every row
            table = table.drop(columns="definition", errors="ignore")
        sheets[sheet] = table
    if codebook is not None:
        sheets["codebook"] = codebook_table(codebook)
    if len(prevalence):
        sheets["prevalence by group"] = prevalence
    return sheets


def _applied_codes(folder: RunFolder) -> pd.DataFrame | None:
    """The rows of ``codes_compared.csv`` where a coder or the auto-coder gave the code.

    Every segment x code is in the CSV (3.2 million rows at 100,000
    segments); the sheet keeps the rows where someone applied the code (most
    rows say nobody did), read a chunk at a time.
    """
    path = folder.file("codes_compared.csv")
    if not path.is_file():
        return None

    def applied(chunk: pd.DataFrame) -> pd.Series:
        rows = chunk["auto_assigned"].eq(True)
        if "human_any" in chunk:
            rows |= chunk["human_any"].eq(True)
        return rows

    return read_rows_where(path, applied)


def _with_segment_quotes(folder: RunFolder, table: pd.DataFrame) -> pd.DataFrame:
    """The table with each row's segment words in ``quote`` (after ``end``)."""
    wanted = set(table["segment_id"].astype(str))
    return with_quotes(table, segment_texts(folder, only=wanted))
