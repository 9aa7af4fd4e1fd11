"""What the report, ``results.xlsx`` and ``auto_codes.qdpx`` take from the network.

- :func:`read_network_outputs`: the step's tables from a run folder (None
  when the run has no network); :func:`participants_table`: the documents'
  metadata, one row per participant.
- :func:`network_figure_data`: nodes and edges for a drawn network (plotly,
  vis.js, d3): participants coloured by a metadata group, sources by kind.
- :func:`knowledge_source_codes` and :data:`KNOWLEDGE_SOURCE_CODEBOOK`: the
  mentions as codings of a "Knowledge sources" code with one child per kind,
  for a QDA project.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from pipeline.network.extract import SOURCE_COLUMNS
from pipeline.network.gazetteer import KINDS
from pipeline.network.graph import PARTICIPANT_PREFIX, SOURCE_PREFIX
from pipeline.records import DOCUMENT_SCHEMA
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder

PARENT_CODE = "Knowledge sources"

KNOWLEDGE_SOURCE_CODEBOOK: tuple[tuple[str, str | None, str], ...] = (
    (
        PARENT_CODE,
        None,
        "Where the participant names a source of knowledge, support, career help "
        "or influence (found by the network step; docs/networks.md).",
    ),
    (f"{PARENT_CODE}: person", PARENT_CODE, "A person, by role."),
    (f"{PARENT_CODE}: programme", PARENT_CODE, "A programme, course, qualification."),
    (
        f"{PARENT_CODE}: network",
        PARENT_CODE,
        "A network of practice across organisations, or a professional body.",
    ),
    (
        f"{PARENT_CODE}: community",
        PARENT_CODE,
        "A community of practice or forum inside the organisation.",
    ),
    (f"{PARENT_CODE}: codified", PARENT_CODE, "Guidance, reports, journals, data."),
)
"""``(code, parent, description)``: the parent code first, then one per kind."""


@dataclass(frozen=True)
class NetworkOutputs:
    """The network step's tables, read back from a run folder."""

    sources: pd.DataFrame
    by_group: pd.DataFrame


def read_network_outputs(run: RunFolder) -> NetworkOutputs | None:
    """The knowledge sources and the by-group table, or None when not made."""
    if not run.file(run_files.KNOWLEDGE_SOURCES).is_file():
        return None
    sources = run.read_parquet(run_files.KNOWLEDGE_SOURCES).to_pandas()
    by_group_path = run.file(run_files.NETWORK_BY_GROUP)
    by_group = (
        pd.read_csv(by_group_path, encoding="utf-8-sig", keep_default_na=False)
        if by_group_path.is_file()
        else pd.DataFrame()
    )
    return NetworkOutputs(sources=sources, by_group=by_group)


def participants_table(documents: pa.Table) -> pd.DataFrame:
    """One row per document: ``document_id`` and its metadata columns."""
    metadata = [c for c in documents.column_names if c not in DOCUMENT_SCHEMA.names]
    return documents.select(["document_id", *metadata]).to_pandas()


def network_figure_data(
    sources: pd.DataFrame, participants: pd.DataFrame, *, group_by: str | None = None
) -> dict[str, list[dict]]:
    """Nodes and edges of the network for a figure.

    Args:
        sources: Kept mentions (``knowledge_sources`` columns).
        participants: One row per document: ``document_id`` and metadata.
        group_by: The metadata column that colours participants (e.g.
            ``managerial_group``); None: one colour.

    Returns:
        ``{"nodes": [{"id", "label", "type", "group", "size"}],
        "edges": [{"source", "target", "weight", "purposes"}]}``; a source's
        ``group`` is its kind, its ``size`` the participants who name it; a
        participant's ``size`` is its number of sources.
    """
    ties = sources.groupby(["document_id", "source"], sort=True)
    n_sources = sources.groupby("document_id")["source"].nunique()
    nodes = []
    for row in participants.itertuples(index=False):
        values = row._asdict()
        document_id = str(values["document_id"])
        group = values.get(group_by) if group_by else "participant"
        nodes.append(
            {
                "id": PARTICIPANT_PREFIX + document_id,
                "label": document_id,
                "type": "participant",
                "group": "" if group is None or pd.isna(group) else str(group),
                "size": int(n_sources.get(document_id, 0)),
            }
        )
    for source, rows in sources.groupby("source", sort=True):
        nodes.append(
            {
                "id": SOURCE_PREFIX + str(source),
                "label": str(source),
                "type": "source",
                "group": str(rows.iloc[0]["kind"]),
                "size": int(rows["document_id"].nunique()),
            }
        )
    edges = [
        {
            "source": PARTICIPANT_PREFIX + str(document_id),
            "target": SOURCE_PREFIX + str(source),
            "weight": int(len(rows)),
            "purposes": ";".join(
                sorted({p for t in rows["purpose"] for p in str(t).split(";") if p})
            ),
        }
        for (document_id, source), rows in ties
    ]
    return {"nodes": nodes, "edges": edges}


def knowledge_source_codes(sources: pd.DataFrame) -> pd.DataFrame:
    """The mentions as codings: one row per mention under its kind's code.

    Args:
        sources: Kept mentions (``knowledge_sources`` columns).

    Returns:
        ``code, parent, document_id, segment_id, start, end, mention, source,
        kind, scope, purpose`` (the code is ``Knowledge sources: <kind>``;
        offsets into the document text, as every coding of the project).
    """
    columns = [
        "code",
        "parent",
        *[c for c in SOURCE_COLUMNS if c not in ("score", "role")],
    ]
    if sources.empty:
        return pd.DataFrame(columns=columns)
    kinds = sources["kind"].where(sources["kind"].isin(KINDS), "codified")
    coded = sources.assign(code=PARENT_CODE + ": " + kinds, parent=PARENT_CODE)
    return coded[columns].reset_index(drop=True)
