"""The hand annotations the benchmark scores against point at their words."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.config.inputs import IngestConfig
from pipeline.io.ingest import ingest_corpus
from pipeline.network.gazetteer import KINDS, SCOPES

ROOT = Path(__file__).parent.parent.parent
NETWORK_DATA = ROOT / "tests" / "data" / "network"
GOLD = {
    "examples": (
        ROOT / "examples" / "nhs_managers",
        ROOT / "examples" / "nhs_managers" / "knowledge_sources_gold.csv",
    ),
    **{
        name: (NETWORK_DATA / name, NETWORK_DATA / f"{name}_gold.csv")
        for name in ("dev", "holdout", "test", "unseen")
    },
}


@pytest.mark.parametrize("name", sorted(GOLD))
def test_gold_mentions_are_exact_participant_spans(name):
    corpus, path = GOLD[name]
    gold = pd.read_csv(path)
    assert list(gold.columns) == [
        "document_id",
        "start",
        "end",
        "mention",
        "kind",
        "scope",
        "rejected",
    ]
    assert set(gold["kind"]) <= set(KINDS) and set(gold["scope"]) <= set(SCOPES)
    transcripts = {
        t.document_id: t for t in ingest_corpus(IngestConfig(), corpus).transcripts
    }
    for row in gold.itertuples():
        transcript = transcripts[row.document_id]
        assert transcript.text[row.start : row.end] == row.mention
        assert any(
            turn.role == "participant"
            and turn.start <= row.start
            and row.end <= turn.end
            for turn in transcript.turns
        )
