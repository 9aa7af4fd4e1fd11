"""The topics step: fit a topic model on the run's segments, or apply the saved one."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from pipeline.embed.registry import cached_embedder
from pipeline.outputs.charts import figures_to_html
from pipeline.records import segment_metadata
from pipeline.steps.inputs import RunInputs
from pipeline.steps.summary import StepSummary
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder
from pipeline.topics.guided import seed_topics
from pipeline.topics.run import run_topics


@dataclass(frozen=True)
class TopicsSummary(StepSummary):
    """What the topics step did (for the manifest and the console).

    Attributes:
        n_topics: Topics found (or applied), the outlier topic aside.
        method: ``bertopic``, ``kmeans``, ``none`` or ``transform``.
        message: How the topics were made (or which saved model was applied).
        n_outliers: Outliers before reduction (fits only).
        model_dir: The saved model written or applied, if any.
    """

    n_topics: int
    method: str
    message: str
    n_outliers: int
    model_dir: str | None


def run_topics_step(inputs: RunInputs, run: RunFolder, out: RunFolder) -> TopicsSummary:
    """Fit (or apply the saved) topic model; write the topic tables and charts.

    Args:
        inputs: The run's settings and codebook (its keywords guide the topics).
        run: The run folder (segments, embeddings, documents).
        out: Where the step's files go (its cache folder).

    Returns:
        The step's summary.
    """
    segments = run.segments()
    embeddings = run.read_embeddings(n_rows=segments.num_rows)
    metadata = segment_metadata(segments, run.documents())
    config = inputs.config
    guided = config.topics.guided and inputs.codebook is not None
    embedder = (
        cached_embedder(config.embed) if config.topics.rerank_words or guided else None
    )
    step = run_topics(
        segments.column("segment_id").to_pylist(),
        segments.column("text").to_pylist(),
        embeddings,
        metadata,
        config,
        embedder=embedder,
        seed_topic_list=seed_topics(inputs.codebook) if guided else None,
    )
    out.write_parquet(
        run_files.SEGMENT_TOPICS,
        pa.Table.from_pandas(step.assignments, preserve_index=False),
    )
    out.write_csv(run_files.TOPICS, step.topics)
    out.write_csv(run_files.TOPICS_BY_GROUP, step.by_group)
    out.write_text(
        run_files.TOPICS_HTML,
        figures_to_html("Topics", step.figures, intro=step.message),
    )
    return TopicsSummary(
        n_topics=int((step.topics["topic"] >= 0).sum()),
        method=step.method,
        message=step.message,
        n_outliers=step.n_outliers,
        model_dir=step.model_dir,
    )
