"""The knowledge network as a graph, written as plain GraphML.

One node per participant (the document's metadata columns as attributes),
one per source (``kind``, ``scope``, ``person_role``), and one directed edge
from a participant to each source they draw on, weighted by their mentions
of it, with the purposes the speech gives. Written with the standard library
(no networkx needed at run time); every attribute key is declared with its
type (``string``, ``int``, ``double``), so Gephi and ``networkx.read_graphml``
read it as is.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from pipeline.network.gazetteer import PURPOSES

GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
PARTICIPANT_PREFIX = "participant:"
SOURCE_PREFIX = "source:"
RESERVED = frozenset(
    {"label", "type", "kind", "scope", "person_role", "n_participants", "n_mentions"}
)
"""Node attributes of the graph's own; a metadata column so named is left out."""


@dataclass(frozen=True)
class NetworkGraph:
    """Nodes and edges with their attributes (values: str, int or float).

    Attributes:
        nodes: Node id to its attributes.
        edges: ``(participant node, source node, attributes)``.
        node_keys: Node attribute name to GraphML type, in key order.
        edge_keys: Edge attribute name to GraphML type, in key order.
    """

    nodes: dict[str, dict[str, object]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)
    node_keys: dict[str, str] = field(default_factory=dict)
    edge_keys: dict[str, str] = field(default_factory=dict)


def build_network(
    sources: pd.DataFrame, participants: pd.DataFrame, *, metadata: Sequence[str]
) -> NetworkGraph:
    """Build the participant-source graph.

    Args:
        sources: Kept mentions (``knowledge_sources`` columns).
        participants: One row per document: ``document_id`` and ``metadata``.
        metadata: The metadata columns to put on participant nodes.

    Returns:
        The graph; participants with no source are nodes without edges.
    """
    metadata = [name for name in metadata if name not in RESERVED]
    node_keys = {"label": "string", "type": "string"}
    node_keys |= {name: "string" for name in metadata}
    node_keys |= {
        "kind": "string",
        "scope": "string",
        "person_role": "string",
        "n_participants": "int",
        "n_mentions": "int",
    }
    edge_keys = {"weight": "double", "n_mentions": "int", "purposes": "string"}
    edge_keys |= {purpose: "int" for purpose in PURPOSES}
    graph = NetworkGraph(node_keys=node_keys, edge_keys=edge_keys)
    for row in participants.itertuples(index=False):
        values = row._asdict()
        attributes: dict[str, object] = {
            "label": str(values["document_id"]),
            "type": "participant",
        }
        for name in metadata:
            value = values.get(name)
            attributes[name] = "" if value is None or pd.isna(value) else str(value)
        graph.nodes[PARTICIPANT_PREFIX + str(values["document_id"])] = attributes
    if sources.empty:
        return graph
    for source, rows in sources.groupby("source", sort=True):
        first = rows.iloc[0]
        graph.nodes[SOURCE_PREFIX + str(source)] = {
            "label": str(source),
            "type": "source",
            "kind": str(first["kind"]),
            "scope": str(first["scope"]),
            "person_role": str(first.get("role", "") or ""),
            "n_participants": int(rows["document_id"].nunique()),
            "n_mentions": int(len(rows)),
        }
    for (document_id, source), rows in sources.groupby(
        ["document_id", "source"], sort=True
    ):
        purposes = [p for text in rows["purpose"] for p in str(text).split(";") if p]
        attributes = {
            "weight": float(len(rows)),
            "n_mentions": int(len(rows)),
            "purposes": ";".join(p for p in PURPOSES if p in purposes),
        }
        attributes |= {p: purposes.count(p) for p in PURPOSES}
        participant = PARTICIPANT_PREFIX + str(document_id)
        if participant not in graph.nodes:
            graph.nodes[participant] = {
                "label": str(document_id),
                "type": "participant",
            }
        graph.edges.append((participant, SOURCE_PREFIX + str(source), attributes))
    return graph


def graphml_text(graph: NetworkGraph) -> str:
    """The graph as a GraphML document (UTF-8 text, declared keys, directed)."""
    ET.register_namespace("", GRAPHML_NS)
    root = ET.Element(f"{{{GRAPHML_NS}}}graphml")
    ids: dict[tuple[str, str], str] = {}
    for domain, keys in (("node", graph.node_keys), ("edge", graph.edge_keys)):
        for n, (name, kind) in enumerate(keys.items()):
            key_id = f"{domain[0]}{n}"
            ids[(domain, name)] = key_id
            ET.SubElement(
                root,
                f"{{{GRAPHML_NS}}}key",
                {"id": key_id, "for": domain, "attr.name": name, "attr.type": kind},
            )
    element = ET.SubElement(
        root,
        f"{{{GRAPHML_NS}}}graph",
        {"id": "knowledge_network", "edgedefault": "directed"},
    )
    for node_id, attributes in graph.nodes.items():
        node = ET.SubElement(element, f"{{{GRAPHML_NS}}}node", {"id": node_id})
        _add_data(node, attributes, ids, "node")
    for n, (source, target, attributes) in enumerate(graph.edges):
        edge = ET.SubElement(
            element,
            f"{{{GRAPHML_NS}}}edge",
            {"id": f"e{n}", "source": source, "target": target},
        )
        _add_data(edge, attributes, ids, "edge")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _add_data(element, attributes, ids, domain: str) -> None:
    for name, value in attributes.items():
        data = ET.SubElement(
            element, f"{{{GRAPHML_NS}}}data", {"key": ids[(domain, name)]}
        )
        data.text = repr(value) if isinstance(value, float) else str(value)
