"""The network step end to end: files, GraphML, corrections, empty networks."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.config.network import NetworkConfig
from pipeline.network.by_group import BY_GROUP_COLUMNS
from pipeline.network.extract import SOURCE_COLUMNS
from pipeline.network.report_data import (
    knowledge_source_codes,
    network_figure_data,
    read_network_outputs,
)
from pipeline.steps.network import run_network_step
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder
from tests.network.conftest import interview, make_run

networkx = pytest.importorskip("networkx")


def read_sources(folder: RunFolder) -> pd.DataFrame:
    return pd.read_csv(
        folder.file(run_files.KNOWLEDGE_SOURCES_CSV), encoding="utf-8-sig"
    )


def test_step_writes_every_file_with_exact_offsets(dev_run, tmp_path):
    out = RunFolder(tmp_path / "out")
    summary = run_network_step(NetworkConfig(n_boot=50), dev_run, out)
    assert summary is not None and summary.n_mentions > 10
    sources = read_sources(out)
    assert list(sources.columns) == list(SOURCE_COLUMNS)
    texts = dict(
        zip(
            *dev_run.read_parquet("documents.parquet", columns=["document_id", "text"])
            .to_pydict()
            .values(),
            strict=True,
        )
    )
    for row in sources.itertuples():
        assert texts[row.document_id][row.start : row.end] == row.mention
    parquet = out.read_parquet(run_files.KNOWLEDGE_SOURCES).to_pandas()
    assert len(parquet) == len(sources)
    by_group = pd.read_csv(out.file(run_files.NETWORK_BY_GROUP), encoding="utf-8-sig")
    assert list(by_group.columns) == list(BY_GROUP_COLUMNS)
    assert set(by_group["column"]) == {"(all)", "managerial_group"}
    assert out.read_json(run_files.NETWORK_SUMMARY)["n_mentions"] == summary.n_mentions


def test_graphml_loads_in_networkx_with_the_documents_metadata(dev_run, tmp_path):
    out = RunFolder(tmp_path / "out")
    run_network_step(NetworkConfig(n_boot=0), dev_run, out)
    graph = networkx.read_graphml(out.file(run_files.NETWORK_GRAPHML))
    participant = graph.nodes["participant:D02"]
    assert participant["type"] == "participant"
    assert participant["managerial_group"] == "functional"
    assert participant["trust"] == "Trust F"
    sources = [n for n, a in graph.nodes(data=True) if a["type"] == "source"]
    assert sources and all(graph.nodes[n]["kind"] for n in sources)
    weights = [w for _, _, w in graph.edges(data="weight")]
    assert weights and all(isinstance(w, float) and w >= 1 for w in weights)
    assert all(graph.has_node(f"participant:D0{n}") for n in (1, 2, 3))


def test_an_interview_with_no_sources_gives_an_empty_valid_network(tmp_path):
    run = make_run(
        tmp_path / "run",
        [interview("E1", ["Yes. It was a long week.", "No, not really."], group="a")],
    )
    out = RunFolder(tmp_path / "out")
    summary = run_network_step(NetworkConfig(), run, out)
    assert summary.n_mentions == 0 and summary.n_sources == 0
    assert list(read_sources(out).columns) == list(SOURCE_COLUMNS)
    assert read_sources(out).empty
    graph = networkx.read_graphml(out.file(run_files.NETWORK_GRAPHML))
    assert list(graph.nodes) == ["participant:E1"] and graph.number_of_edges() == 0
    by_group = pd.read_csv(out.file(run_files.NETWORK_BY_GROUP), encoding="utf-8-sig")
    assert list(by_group.columns) == list(BY_GROUP_COLUMNS)
    assert by_group["n_participants"].tolist() == [1]
    outputs = read_network_outputs(out)
    assert outputs is not None and outputs.sources.empty
    assert knowledge_source_codes(outputs.sources).empty


def test_a_corrections_file_changes_the_network(dev_run, tmp_path):
    before = RunFolder(tmp_path / "before")
    run_network_step(NetworkConfig(n_boot=0), dev_run, before)
    sources = read_sources(before)
    intranet = (
        pd.read_csv(before.file(run_files.DISMISSED_MENTIONS_CSV), encoding="utf-8-sig")
        .query("mention == 'intranet'")
        .iloc[0]
    )
    text = (
        dev_run.read_parquet("documents.parquet")
        .to_pandas()
        .set_index("document_id")
        .loc["D02", "text"]
    )
    start = text.index("monthly estates meeting")
    corrections = tmp_path / "corrections.csv"
    corrections.write_text(
        "action,document_id,start,end,source,kind,scope,value\n"
        "reject,,,,NICE guidance,,,\n"
        f"accept,D01,{intranet.start},{intranet.end},,codified,internal,\n"
        f"accept,D02,{start},{start + 23},,community,internal,\n"
        "rename,,,,Edward Jenner Programme,,,Edward Jenner (Leadership Academy)\n"
        "kind,,,,D02: family,community,,\n"
        "scope,,,,D02: predecessor,,external,\n"
        "reject,,,,no such source,,,\n",
        encoding="utf-8",
    )
    after = RunFolder(tmp_path / "after")
    config = NetworkConfig(n_boot=0, corrections=corrections)
    summary = run_network_step(config, dev_run, after)
    corrected = read_sources(after)
    assert "NICE guidance" in set(sources["source"])
    assert "NICE guidance" not in set(corrected["source"])
    assert "Edward Jenner (Leadership Academy)" in set(corrected["source"])
    assert "Edward Jenner Programme" not in set(corrected["source"])
    added = corrected[corrected["mention"] == "monthly estates meeting"]
    assert added[["kind", "scope"]].values.tolist() == [["community", "internal"]]
    assert "intranet" in set(corrected["mention"])
    assert set(corrected.loc[corrected["source"] == "D02: predecessor", "scope"]) == {
        "external"
    }
    assert set(corrected.loc[corrected["source"] == "D02: family", "kind"]) == {
        "community"
    }
    assert summary.n_unmatched_corrections == 1
    graph = networkx.read_graphml(after.file(run_files.NETWORK_GRAPHML))
    assert "source:NICE guidance" not in graph
    assert "source:Edward Jenner (Leadership Academy)" in graph


def test_figure_data_and_qda_codes_follow_the_sources(dev_run, tmp_path):
    out = RunFolder(tmp_path / "out")
    run_network_step(NetworkConfig(n_boot=0), dev_run, out)
    outputs = read_network_outputs(out)
    participants = dev_run.read_parquet(
        "documents.parquet", columns=["document_id", "managerial_group"]
    ).to_pandas()
    figure = network_figure_data(
        outputs.sources, participants, group_by="managerial_group"
    )
    ids = {node["id"] for node in figure["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in figure["edges"])
    codes = knowledge_source_codes(outputs.sources)
    assert len(codes) == len(outputs.sources)
    assert set(codes["parent"]) == {"Knowledge sources"}
    assert set(codes["code"]) <= {
        f"Knowledge sources: {k}"
        for k in ("person", "programme", "network", "community", "codified")
    }


def test_a_disabled_step_writes_nothing(dev_run, tmp_path):
    out = RunFolder(tmp_path / "out")
    assert run_network_step(NetworkConfig(enabled=False), dev_run, out) is None
    assert not out.file(run_files.KNOWLEDGE_SOURCES_CSV).exists()


def test_cached_mentions_give_the_same_files_and_parse_only_new_documents(
    dev_run, tmp_path, monkeypatch
):
    from pipeline.steps import network_mentions

    cache = tmp_path / "mentions"
    plain, first, second = (RunFolder(tmp_path / name) for name in "abc")
    run_network_step(NetworkConfig(n_boot=0), dev_run, plain)
    run_network_step(NetworkConfig(n_boot=0), dev_run, first, mentions_cache=cache)
    n_documents = len(list(cache.glob("*.json")))
    assert n_documents == dev_run.documents().num_rows

    parsed = []  # the documents the parser saw
    original = network_mentions.CachedMentionFinder._inner

    def counting_inner(self):
        finder = original(self)
        find = finder.find
        finder.find = lambda rows, **kw: (
            parsed.append(rows.num_rows) or find(rows, **kw)
        )
        return finder

    monkeypatch.setattr(network_mentions.CachedMentionFinder, "_inner", counting_inner)
    # a damaged cache file is found again; the others are read
    next(iter(sorted(cache.glob("*.json")))).write_text("[{")
    run_network_step(NetworkConfig(n_boot=0), dev_run, second, mentions_cache=cache)
    damaged_rows = len(parsed) == 1 and parsed[0]
    assert 0 < damaged_rows < dev_run.segments().num_rows
    for name in (run_files.KNOWLEDGE_SOURCES_CSV, run_files.DISMISSED_MENTIONS_CSV):
        expected = plain.file(name).read_bytes()
        assert first.file(name).read_bytes() == expected
        assert second.file(name).read_bytes() == expected
