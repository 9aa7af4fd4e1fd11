"""The embed step: embed each distinct text once, reusing the store's cache.

:func:`plan_embedding` finds the distinct texts not in the embedding cache
and batches them; :func:`embed_batch_step` embeds one batch (mapped by the
flow, each cached in its own folder); :func:`finish_embedding` assembles the
vectors in segment order and writes ``embeddings.npy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config.run import PipelineConfig
from pipeline.embed.cache import (
    EmbeddingPlan,
    assemble_embeddings,
    embed_batch,
    plan_embeddings,
)
from pipeline.embed.registry import cached_embedder, embedder_id
from pipeline.steps.summary import StepSummary
from pipeline.store import cache_keys, run_files
from pipeline.store.database import ResultsStore
from pipeline.store.run_folder import RunFolder


@dataclass(frozen=True)
class EmbedStepPlan:
    """The texts to embed, in batches.

    Attributes:
        plan: Which texts are cached and which are missing.
        batches: The missing text keys in batches of ``execution.text_batch``.
        keys: Each batch's cache key.
        folders: Each batch's cache folder.
    """

    plan: EmbeddingPlan
    batches: list[list[str]]
    keys: list[str]
    folders: list[Path]

    def texts(self, number: int) -> list[str]:
        """The texts of batch ``number``."""
        return [self.plan.texts_by_key[key] for key in self.batches[number]]


@dataclass(frozen=True)
class EmbedSummary(StepSummary):
    """What the embed step did (for the manifest)."""

    model_id: str
    n_texts: int
    n_unique: int
    n_cached: int
    n_embedded: int
    texts_key: str


def plan_embedding(
    config: PipelineConfig, run: RunFolder, store: ResultsStore
) -> EmbedStepPlan:
    """Find the distinct segment texts not in the embedding cache; batch them."""
    texts = run.segments(columns=["text"]).column("text")
    model_id = embedder_id(config.embed)
    plan = plan_embeddings(texts.to_pylist(), model_id, store)
    batches = plan.batches(config.execution.text_batch)
    keys = [cache_keys.embed_batch_key(model_id, batch) for batch in batches]
    folders = [cache_keys.step_dir(config, "embed", key) for key in keys]
    return EmbedStepPlan(plan, batches, keys, folders)


def embed_batch_step(config: PipelineConfig, texts: list[str], out: RunFolder) -> Path:
    """Embed a batch of distinct texts; write the vectors in ``out``."""
    vectors = embed_batch(cached_embedder(config.embed), texts)
    return out.write_npy(run_files.VECTORS, vectors)


def read_batch(folder: str | Path) -> np.ndarray:
    """The vectors an embedding batch wrote."""
    return np.load(Path(folder) / run_files.VECTORS, allow_pickle=False)


def finish_embedding(
    step: EmbedStepPlan, new: dict[str, np.ndarray], run: RunFolder
) -> EmbedSummary:
    """Write ``embeddings.npy`` (aligned with the segments) and its summary."""
    plan = step.plan
    dimension = next(iter(new.values()), next(iter(plan.found.values()), None))
    matrix = assemble_embeddings(plan, new, 0 if dimension is None else len(dimension))
    run.write_npy(run_files.EMBEDDINGS, matrix)
    summary = EmbedSummary(
        model_id=plan.model_id,
        n_texts=len(plan.keys),
        n_unique=len(plan.texts_by_key),
        n_cached=len(plan.found),
        n_embedded=len(plan.missing),
        texts_key=cache_keys.texts_key(plan.keys),
    )
    run.write_json(run_files.EMBEDDINGS_SUMMARY, summary.__dict__)
    return summary
