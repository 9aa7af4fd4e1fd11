"""The run as a REFI-QDA project (``auto_codes.qdpx``) for NVivo, ATLAS.ti, MAXQDA.

The project holds the documents' text, the codebook, case variables from the
metadata, the human codings under their coders (first, so a QDA tool's active
coder is a person) and the auto-codes under a user named for the model and
the run (``auto: <model> (run <id>)``, read back as an auto-coder, never as a
human coder), and the network step's knowledge-source mentions under a
"Knowledge sources" code with one child per kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from pipeline.coding.codebook_records import Code, Codebook
from pipeline.coding.run_auto_codes import check_auto_codes
from pipeline.io.codes.records import CodeAssignment
from pipeline.io.refi.export_input import ExportCoding, ExportDocument
from pipeline.io.refi.guids import AUTO_CODER_NAME, auto_coder_name
from pipeline.io.refi.write import write_project
from pipeline.network.report_data import (
    KNOWLEDGE_SOURCE_CODEBOOK,
    knowledge_source_codes,
    read_network_outputs,
)
from pipeline.outputs.run_tables import document_metadata_columns, read_optional_json
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder

QDPX = "auto_codes.qdpx"
"""The project's file name in the run folder."""


def export_qdpx(
    folder: RunFolder,
    out: RunFolder,
    *,
    codebook=None,
    human_codes: Sequence[CodeAssignment] = (),
) -> Path | None:
    """Write ``auto_codes.qdpx``: documents, codebook, cases, human and auto codings.

    The human coders are the project's first users; the auto-coder, named
    ``auto: <model> (run <id>)``, is marked as one (see
    :func:`pipeline.io.refi.guids.is_auto_coder`), so reading the project back as human
    codes skips it.

    Args:
        folder: The run folder.
        out: Where to write.
        codebook: The run's codebook.
        human_codes: The human codes, if any.

    Returns:
        The path written, or None when the run has no auto-codes or no codebook.

    Raises:
        ConfigError: The auto-codes use code ids the codebook does not have.
    """
    if codebook is None or not folder.file(run_files.AUTO_CODES).is_file():
        return None
    manifest = read_optional_json(folder, run_files.MANIFEST, {})
    classifier = folder.classifier()
    metadata_columns = document_metadata_columns(folder)
    # not the turns: each would become a list of Python dicts
    documents = folder.documents(
        columns=["document_id", "text", *metadata_columns]
    ).to_pandas()
    ids = documents["document_id"].tolist()
    metadata_values = {c: documents[c].tolist() for c in metadata_columns}
    export_documents = [
        ExportDocument(
            document_id=document_id,
            text=text,
            metadata={
                c: str(values[i])
                for c, values in metadata_values.items()
                if pd.notna(values[i]) and str(values[i])
            },
        )
        for i, (document_id, text) in enumerate(
            zip(ids, documents["text"].tolist(), strict=True)
        )
    ]
    # the auto-coder marks passages (a turn's adjacent coded segments), as a
    # human coder does
    auto = folder.read_parquet(
        run_files.AUTO_PASSAGES, columns=["document_id", "start", "end", "code"]
    ).to_pandas()
    check_auto_codes(
        list(classifier["thresholds"]),
        codebook,
        source=folder.file(run_files.CLASSIFIER),
    )
    run_id = manifest.get("run_id", folder.path.name)
    user = auto_coder_name(classifier.get("model", "auto-coder"), run_id)
    codes = set(codebook.ids)
    codings = [
        ExportCoding(document_id=d, start=int(s), end=int(e), code=c, user=user)
        for d, s, e, c in zip(
            auto["document_id"].tolist(),
            auto["start"].tolist(),
            auto["end"].tolist(),
            auto["code"].tolist(),
            strict=True,
        )
        if c in codes
    ]
    texts = {document.document_id: document.text for document in export_documents}
    for assignment in human_codes:
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
    codebook, network_codings = _with_knowledge_sources(folder, codebook, run_id)
    codings += network_codings
    # an earlier auto-coder read back on purpose (include_auto_coders) stays one
    auto_coders = {user} | {
        c.user for c in codings if AUTO_CODER_NAME.fullmatch(c.user) is not None
    }
    return write_project(
        out.file(QDPX),
        name=f"transcript-themes run {run_id}",
        documents=export_documents,
        codebook=codebook,
        codings=codings,
        auto_coders=auto_coders,
    )


def _with_knowledge_sources(
    folder: RunFolder, codebook: Codebook, run_id: str
) -> tuple[Codebook, list[ExportCoding]]:
    """The network step's mentions as codings of a "Knowledge sources" code.

    The code and one child per kind are added to the project's codebook
    (after the study's codes); the mentions are coded by an auto-coder of
    their own, ``auto: knowledge sources (run <id>)``.
    """
    outputs = read_network_outputs(folder)
    if outputs is None or not len(outputs.sources):
        return codebook, []
    taken = set(codebook.ids)
    extra = tuple(
        Code(id=code, name=code, parent=parent, definition=definition)
        for code, parent, definition in KNOWLEDGE_SOURCE_CODEBOOK
        if code not in taken
    )
    user = auto_coder_name("knowledge sources", run_id)
    rows = knowledge_source_codes(outputs.sources)
    codings = [
        ExportCoding(document_id=str(d), start=int(s), end=int(e), code=c, user=user)
        for d, s, e, c in zip(
            rows["document_id"], rows["start"], rows["end"], rows["code"], strict=True
        )
    ]
    return replace(codebook, codes=codebook.codes + extra), codings
