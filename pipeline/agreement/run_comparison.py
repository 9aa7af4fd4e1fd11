"""Compare a finished run's auto-codes with human codes and write the tables.

Reads the run's segments, documents, embeddings and auto-codes, reads the
human codes with the run's codebook, and writes what :func:`compare_run`
lists; :func:`~pipeline.agreement.compare.compare_codes` does the comparing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from pipeline.agreement.compare import POOLED_SUMMARY, compare_codes
from pipeline.agreement.disagreements import KINDS
from pipeline.agreement.metrics import POOLED
from pipeline.agreement.run_inputs import document_texts, read_run_codes
from pipeline.agreement.units import AUTO
from pipeline.coding.codebook_records import Codebook
from pipeline.coding.run_auto_codes import check_auto_codes, read_auto_code_matrices
from pipeline.errors import ConfigError
from pipeline.io.codes.align import align_codes
from pipeline.io.codes.records import assignments_to_table
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder


def compare_run(
    run_dir,
    config,
    *,
    codebook: Codebook | None,
    codebook_path: str | Path | None,
    codes_path=None,
    out_dir=None,
) -> dict:
    """Compare a finished run's auto-codes with human codes and write the tables.

    Writes ``codes_compared.parquet``/``.csv``, ``agreement.csv``,
    ``human_agreement.csv``, ``disagreements.csv`` and ``codes_import.json``
    (every row of the codes file: used, or why not; the alignment coverage).

    Args:
        run_dir: The run folder (with auto-codes).
        config: The :class:`~pipeline.config.run.PipelineConfig` (``compare`` and
            ``ingest`` sections).
        codebook: The run's codebook (see
            :func:`pipeline.steps.inputs.resolve_run_inputs`).
        codebook_path: The file it was read from (recorded for ``themes report``).
        codes_path: The human codes file (default ``compare.codes``).
        out_dir: Where to write (default: the run folder).

    Returns:
        A summary for the manifest and the command line.

    Raises:
        RunNotFoundError: The run has no auto-codes.
        CodesError: The codes file cannot be read.
        ConfigError: No codebook to read the codes with.
    """
    folder = RunFolder(run_dir)
    out = RunFolder(out_dir) if out_dir is not None else folder

    codes_path = codes_path or config.compare.codes
    if codes_path is None:
        raise ConfigError("no human codes: pass --codes FILE or set compare.codes")
    segments = folder.segments()
    texts = document_texts(folder)
    auto = read_auto_code_matrices(folder, segments.column("segment_id").to_pylist())
    if codebook is None or codebook_path is None:
        raise ConfigError(
            "no codebook to read the human codes with: pass --codebook FILE"
        )
    imported = read_run_codes(
        folder,
        codes_path,
        codebook=codebook,
        documents=texts,
        id_column=config.ingest.id_column,
    )
    check_auto_codes(auto.codes, codebook, source=folder.file(run_files.CLASSIFIER))
    aligned = align_codes(
        segments,
        imported,
        auto.codes,
        min_segment_share=config.compare.min_segment_share,
        min_span_share=config.compare.min_span_share,
    )
    comparison = compare_codes(
        segments=segments,
        texts=texts,
        imported=imported,
        aligned=aligned,
        auto_scores=auto.scores,
        auto_decisions=auto.decisions,
        thresholds=auto.thresholds,
        # read here and handed over, so compare_codes frees them once used
        embeddings=folder.read_embeddings(n_rows=segments.num_rows),
        codebook=codebook,
        auto_name=AUTO,
        units=config.compare.units,
        n_boot=config.compare.n_boot,
        review_per_code=config.compare.review_per_code,
        random_state=config.random_state,
    )
    out.write_parquet(
        run_files.CODES_COMPARED,
        pa.Table.from_pandas(comparison.codes_compared, preserve_index=False),
    )
    out.write_csv(run_files.CODES_COMPARED_CSV, comparison.codes_compared)
    out.write_csv(run_files.AGREEMENT, comparison.agreement)
    out.write_csv(run_files.HUMAN_AGREEMENT, comparison.human_alpha)
    out.write_csv(run_files.DISAGREEMENTS, comparison.disagreements)
    out.write_parquet(run_files.HUMAN_CODES, assignments_to_table(imported.assignments))
    report = {
        **imported.summary(),
        # resolved, so `themes report` rebuilds from the same files wherever it runs
        "codes_path": str(Path(codes_path).resolve()),
        "codebook_path": str(Path(codebook_path).resolve()),
        "coverage": round(aligned.coverage, 4),
        "n_spans": aligned.n_spans,
        "unused": [{"origin": u.origin, "reason": u.reason} for u in imported.unused],
        "missed": [{"origin": u.origin, "reason": u.reason} for u in aligned.missed],
        "notes": list(imported.notes),
    }
    out.write_text(run_files.CODES_IMPORT, json.dumps(report, indent=2) + "\n")
    pooled = comparison.agreement[comparison.agreement["code"] == POOLED]
    kinds = comparison.disagreements["kind"].value_counts()
    return {
        "coders": comparison.coders,
        "coverage": report["coverage"],
        "n_assignments": report["n_assignments"],
        "n_unused": report["n_unused"],
        "n_disagreements": len(comparison.disagreements),
        "disagreements_by_kind": {kind: int(kinds.get(kind, 0)) for kind in KINDS},
        "code_matches": report["code_matches"],
        "skipped_auto_coders": report["skipped_auto_coders"],
        "notes": report["notes"],
        "pooled": pooled[POOLED_SUMMARY].to_dict(orient="records"),
    }
