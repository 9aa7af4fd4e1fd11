"""GraphML by hand and the per-group measures, on small invented tables."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from pipeline.network.by_group import network_by_group, network_group_columns
from pipeline.network.graph import GRAPHML_NS, build_network, graphml_text


def sources_table(rows):
    columns = ["document_id", "source", "kind", "scope", "purpose", "role"]
    return pd.DataFrame(rows, columns=columns)


PARTICIPANTS = pd.DataFrame(
    {
        "document_id": ["A", "B", "C", "D"],
        "group": ["general", "general", "clinical", "clinical"],
        "trust": ["T1", "T2", "T1", None],
    }
)
SOURCES = sources_table(
    [
        ("A", "NHS Leadership Academy", "programme", "external", "career", ""),
        (
            "A",
            "A: line manager",
            "person",
            "internal",
            "knowledge;support",
            "line manager",
        ),
        ("A", "A: line manager", "person", "internal", "support", "line manager"),
        ("B", "B: regional network", "network", "external", "knowledge", ""),
        ("B", "NHS Leadership Academy", "programme", "external", "", ""),
        ("C", "NHS Leadership Academy", "programme", "external", "knowledge", ""),
        ("C", "C: ward forum", "community", "internal", "", ""),
    ]
)


def test_graphml_declares_every_key_with_its_type_and_weights_edges():
    graph = build_network(SOURCES, PARTICIPANTS, metadata=["group", "trust"])
    root = ET.fromstring(graphml_text(graph))
    keys = {
        k.get("attr.name") + "/" + k.get("for"): k.get("attr.type")
        for k in root.iter(f"{{{GRAPHML_NS}}}key")
    }
    assert keys["group/node"] == "string" and keys["n_participants/node"] == "int"
    assert keys["weight/edge"] == "double" and keys["support/edge"] == "int"
    assert len(graph.nodes) == 4 + 4  # D has no source and is still a node
    edge = next(a for s, t, a in graph.edges if t == "source:A: line manager")
    assert edge["weight"] == 2.0 and edge["support"] == 2 and edge["knowledge"] == 1
    assert edge["purposes"] == "knowledge;support"


def test_graphml_reads_back_in_networkx():
    networkx = pytest.importorskip("networkx")
    graph = build_network(SOURCES, PARTICIPANTS, metadata=["group", "trust"])
    read = networkx.parse_graphml(graphml_text(graph))
    assert read.is_directed()
    assert read.nodes["participant:D"]["trust"] == ""
    assert read.nodes["source:NHS Leadership Academy"]["n_participants"] == 3


def test_measures_per_group_with_bridging_sources_and_intervals():
    table = network_by_group(SOURCES, PARTICIPANTS, ["group"], n_boot=200)
    general = table[(table["column"] == "group") & (table["group"] == "general")].iloc[
        0
    ]
    assert general["n_participants"] == 2
    assert general["mean_sources"] == 2.0  # A: 2 sources, B: 2 sources
    assert general["share_external"] == 0.75
    assert general["mean_sources_low"] <= 2.0 <= general["mean_sources_high"]
    assert general["bridging_sources"] == "NHS Leadership Academy"
    clinical = table[table["group"] == "clinical"].iloc[0]
    assert clinical["n_participants"] == 2  # D names nothing and still counts
    assert clinical["n_max_one_external"] == 2
    assert 0 <= clinical["share_max_one_external_low"] <= 1.0
    everyone = table.iloc[0]
    assert (everyone["column"], everyone["group"]) == ("(all)", "(all)")
    assert everyone["share_codified"] == 0.0


def test_grouping_columns_default_to_those_with_a_few_values():
    assert network_group_columns(PARTICIPANTS, ["group", "trust"], None) == [
        "group",
        "trust",
    ]
    assert network_group_columns(PARTICIPANTS, ["group", "trust"], ["trust"]) == [
        "trust"
    ]
