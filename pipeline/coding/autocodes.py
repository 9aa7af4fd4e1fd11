"""Auto-codes as tables: one row per segment and code, and rolled up per document.

``auto_codes`` has one row per (segment, code) with the score and the
decision, so researchers can see how close a segment came to a code, not only
whether it got it. ``auto_codes_by_document`` says, per document and code,
whether any segment has the code (presence in a document, MAXQDA's first
level of comparison), in how many segments, and the best score.

The CSV copies carry the words as well (:func:`with_quotes`,
:func:`best_quotes_by_document`), so a researcher reading them in a
spreadsheet sees what was coded, not only where.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

logger = logging.getLogger(__name__)

AUTO_CODE_COLUMNS = [
    "document_id",
    "segment_id",
    "start",
    "end",
    "code",
    "score",
    "assigned",
    "method",
    "model",
]


def auto_codes_table(
    segments: pa.Table,
    codes: Sequence[str],
    scores: np.ndarray,
    decisions: np.ndarray,
    *,
    method: Sequence[str] | str,
    model: str,
) -> pd.DataFrame:
    """One row per segment and code: score, decision, how and by what.

    Args:
        segments: The segment table.
        codes: Code ids, in column order of ``scores``.
        scores: ``(n_segments, n_codes)`` scores.
        decisions: ``(n_segments, n_codes)`` booleans.
        method: ``zero-shot``, ``supervised`` or ``supervised (out-of-fold)``,
            for all segments or per segment.
        model: The model's name (codebook or trained model, with the embedding model).

    Returns:
        A DataFrame with :data:`AUTO_CODE_COLUMNS`, segment order then code order.
    """
    n, k = scores.shape
    # one method for all: a scalar column, not n x k copies of the string
    methods = (
        method
        if isinstance(method, str)
        else np.repeat(np.asarray(method, dtype=object), k)
    )
    return pd.DataFrame(
        {
            "document_id": np.repeat(
                segments.column("document_id").to_numpy(zero_copy_only=False), k
            ),
            "segment_id": np.repeat(
                segments.column("segment_id").to_numpy(zero_copy_only=False), k
            ),
            "start": np.repeat(segments.column("start").to_numpy(), k),
            "end": np.repeat(segments.column("end").to_numpy(), k),
            "code": np.tile(np.asarray(codes, dtype=object), n),
            "score": np.round(scores.reshape(-1), 4),
            "assigned": decisions.reshape(-1).astype(bool),
            "method": methods,
            "model": model,
        },
        columns=AUTO_CODE_COLUMNS,
    )


def auto_codes_for_csv(table: pd.DataFrame, *, top: int = 3) -> pd.DataFrame:
    """The rows worth reading in a spreadsheet.

    Args:
        table: The auto-codes table (:func:`auto_codes_table`).
        top: Each segment's best-scoring codes to keep besides the assigned ones.

    Returns:
        Every assigned code, and each segment's ``top`` best.
    """
    rank = table.groupby("segment_id", sort=False)["score"].rank(
        method="first", ascending=False
    )
    return table[table["assigned"] | (rank <= top)].reset_index(drop=True)


def roll_up_by_document(table: pd.DataFrame) -> pd.DataFrame:
    """Per document and code: present (any segment assigned), segments, best score."""
    grouped = table.groupby(["document_id", "code"], sort=False)
    rolled = grouped.agg(
        present=("assigned", "any"),
        n_segments=("assigned", "sum"),
        max_score=("score", "max"),
    ).reset_index()
    rolled["n_segments"] = rolled["n_segments"].astype(int)
    return rolled


def with_quotes(table: pd.DataFrame, texts: Mapping[str, str]) -> pd.DataFrame:
    """The table with each segment's words in a ``quote`` column, after ``end``.

    Args:
        table: A table with a ``segment_id`` column (auto-codes, their CSV).
        texts: Segment id to its text.

    Returns:
        A new table; a ``quote`` column already there is replaced. A segment
        id not in ``texts`` gets an empty quote.
    """
    table = table.drop(columns="quote", errors="ignore")
    quotes = table["segment_id"].astype(str).map(dict(texts)).fillna("")
    position = (
        table.columns.get_loc("end") + 1 if "end" in table else len(table.columns)
    )
    quoted = table.copy()
    quoted.insert(position, "quote", quotes)
    return quoted


def best_quotes_by_document(
    table: pd.DataFrame, texts: Mapping[str, str]
) -> pd.DataFrame:
    """Per document and code, the segment that best shows the code, and its words.

    The best segment is the highest-scoring one given the code, or, where no
    segment of the document got it, the highest-scoring one.

    Args:
        table: ``document_id, segment_id, code, score, assigned`` of every
            segment and code (``auto_codes.parquet``).
        texts: Segment id to its text.

    Returns:
        ``document_id, code, best_segment_id, quote``.
    """
    ordered = table.sort_values(
        ["assigned", "score"], ascending=False, kind="stable"
    ).drop_duplicates(["document_id", "code"])
    best = ordered[["document_id", "code", "segment_id"]].rename(
        columns={"segment_id": "best_segment_id"}
    )
    return best.assign(
        quote=best["best_segment_id"].astype(str).map(dict(texts)).fillna("")
    ).reset_index(drop=True)


def read_assigned(folder) -> tuple[pd.DataFrame, list[str]]:
    """The assigned rows of a run's ``auto_codes.parquet``, and every code in order.

    Reports need only the codes given, not every score: reading just those
    rows keeps a 100,000-segment run from holding the whole segments x codes
    table in memory.

    Args:
        folder: The run's :class:`~pipeline.store.database.RunFolder`.

    Returns:
        ``(assigned, codes)``: ``document_id, segment_id, start, end, code,
        score`` of the assigned rows, and the code ids as the table orders them.
    """
    import pyarrow.compute as pc

    name = "auto_codes.parquet"
    codes = pc.unique(folder.read_parquet(name, columns=["code"]).column("code"))
    assigned = folder.read_parquet(
        name,
        columns=["document_id", "segment_id", "start", "end", "code", "score"],
        filters=[("assigned", "=", True)],
    ).to_pandas()
    return assigned, codes.to_pylist()


class CodingResult:
    """Auto-codes of a run's segments.

    Attributes:
        codes: Code ids (score columns).
        scores: ``(n_segments, n_codes)`` scores.
        decisions: ``(n_segments, n_codes)`` booleans.
        thresholds: Per code, the decision threshold.
        methods: Per segment: ``zero-shot``, ``supervised`` or
            ``supervised (out-of-fold)``.
        model: Name of what coded (for the tables and the REFI-QDA user).
        notes: Things the user should know.
        update: Zero-shot: whether the keyword models were trained or reused,
            on how many segments they were trained, how many were scored.
        code_names: Code id to the name people read (``classifier.json``
            keeps it, so reports show names without the codebook at hand).
    """

    def __init__(
        self,
        codes,
        scores,
        decisions,
        thresholds,
        methods,
        model,
        notes=(),
        update=None,
        code_names=None,
    ):
        self.codes = list(codes)
        self.code_names = {
            code: (code_names or {}).get(code, code) for code in self.codes
        }
        self.update = update
        self.scores = scores
        self.decisions = decisions
        self.thresholds = thresholds
        self.methods = list(methods)
        self.model = model
        self.notes = list(notes)

    def summary(self) -> dict:
        """Counts per code and method, for manifests."""
        return {
            "model": self.model,
            "codes": self.codes,
            "assigned": {
                c: int(self.decisions[:, j].sum()) for j, c in enumerate(self.codes)
            },
            "methods": {
                method: int(count)
                for method, count in pd.Series(self.methods).value_counts().items()
            },
            "segments_without_code": int((~self.decisions.any(axis=1)).sum())
            if self.decisions.size
            else 0,
            "share_coded": share_coded(self.decisions),
            "notes": self.notes + _coverage_notes(self.decisions),
            "code_names": self.code_names,
        } | ({"keyword_models": self.update} if self.update else {})


def code_segments(
    segments: pa.Table,
    documents: pa.Table,
    embeddings: np.ndarray,
    *,
    embedding_model_id: str,
    config,
    embedder=None,
    settings_hash: str = "",
    saved_coding: str | Path | None = None,
) -> CodingResult | None:
    """Code a run's segments with a trained model, or zero-shot from the codebook.

    A trained model is applied only to embeddings of the model it was trained
    with. Segments the model was trained on get their out-of-fold scores from
    the model's cross-validation, never in-sample predictions.

    Args:
        segments: The segment table.
        documents: The documents table.
        embeddings: Segment embeddings, aligned.
        embedding_model_id: The embeddings' model id.
        config: The whole :class:`~pipeline.config.PipelineConfig`.
        embedder: The embedding model (zero-shot prototypes are embedded with it).
        settings_hash: Hash of the segment settings (for out-of-fold lookup).
        saved_coding: Zero-shot: the folder of the corpus's saved coding (see
            :func:`pipeline.coding.zeroshot.score_with_saved_coding`); without it the
            keyword models are trained on every call.

    Returns:
        The auto-codes, or None when there is neither a model nor a codebook.

    Raises:
        ModelError: The model was trained on other embeddings.
    """
    from pipeline.errors import ModelError

    texts = segments.column("text").to_pylist()
    if config.classify.model is not None:
        from pipeline.coding.train import load_model
        from pipeline.store.cache_keys import segment_keys

        model = load_model(config.classify.model)
        trained_with = model.card.get("embedding_model_id")
        if trained_with != embedding_model_id:
            raise ModelError(
                f"{config.classify.model}: trained on {trained_with} embeddings, but "
                f"this run uses {embedding_model_id}; set embed.backend/embed.model "
                "to match, or retrain"
            )
        features = model.features.transform(texts, embeddings)
        scores = model.classifier.score_codes(features)
        methods = np.array(["supervised"] * len(texts), dtype=object)
        if len(model.oof):
            keys = segment_keys(segments, documents, settings_hash)
            oof = model.oof.set_index("segment_key")
            seen = np.array([key in oof.index for key in keys])
            if seen.any():
                seen_keys = [k for k, s in zip(keys, seen, strict=True) if s]
                scores[seen] = oof.loc[seen_keys, model.codes].to_numpy()
                methods[seen] = "supervised (out-of-fold)"
        decisions = model.classifier.predict_indicator(None, scores)
        name = model.card.get("name", str(config.classify.model))
        notes = []
        untrained = [r.code for r in model.reports if not r.trained]
        if untrained:
            notes.append(
                "not coded (not enough human examples to train): "
                + ", ".join(untrained)
            )
        return CodingResult(
            model.codes,
            scores,
            decisions,
            model.classifier.thresholds_,
            methods,
            f"{name} ({embedding_model_id})",
            notes,
            code_names=_model_code_names(model.card),
        )
    if config.classify.codebook is None:
        return None
    from pipeline.coding.codebook import load_codebook
    from pipeline.coding.zeroshot import ZeroShotCoder, score_with_saved_coding
    from pipeline.store.cache_keys import segment_digest, segment_keys

    codebook = load_codebook(config.classify.codebook)
    coder = ZeroShotCoder.from_config(
        codebook, embedder, config.classify, random_state=config.random_state
    )
    groups = segments.column("document_id").to_pylist()
    update = None
    if saved_coding is None:
        scores = coder.fit(texts, embeddings, groups=groups).fit_scores_
    else:
        scores, update = score_with_saved_coding(
            coder,
            texts,
            embeddings,
            groups=groups,
            digests=segment_digest(
                groups, segment_keys(segments, documents, settings_hash)
            ),
            folder=saved_coding,
            update=config.classify.update,
            refit_growth=config.classify.refit_growth,
        )
    decisions = coder.decide(scores)
    model = (
        f"zero-shot {codebook.name} [{codebook.content_hash()}] ({embedding_model_id})"
    )
    return CodingResult(
        coder.codes_,
        scores,
        decisions,
        coder.thresholds_,
        ["zero-shot"] * len(texts),
        model,
        update=update,
        code_names=codebook.display_names(),
    )


def _model_code_names(card: dict) -> dict[str, str]:
    """A trained model's code names, from the codebook it was trained with, if there."""
    from pipeline.coding.codebook import load_codebook
    from pipeline.errors import CodebookError

    path = card.get("codebook")
    if not path or not Path(path).is_file():
        return {}
    try:
        return load_codebook(path).display_names()
    except CodebookError as error:
        # names are a courtesy: the codes work without them, so say so and go on
        logger.warning("codes shown by id, not name: %s", error)
        return {}


PLAUSIBLE_SHARE = (0.02, 0.9)
"""Shares of segments coded with any code outside which a coder is suspect."""


def share_coded(decisions: np.ndarray) -> float:
    """Share of segments given at least one code."""
    return round(float(decisions.any(axis=1).mean()), 4) if len(decisions) else 0.0


def _coverage_notes(decisions: np.ndarray) -> list[str]:
    """A warning when the auto-coder coded almost nothing, or almost everything."""
    if not len(decisions):
        return []
    share = share_coded(decisions)
    low, high = PLAUSIBLE_SHARE
    if share < low:
        return [
            f"the auto-coder gave a code to only {share:.1%} of the segments: check "
            "the codebook (definitions, examples, keywords) and the thresholds "
            "(classify.corpus_threshold_z) before reading agreement figures"
        ]
    if share > high:
        return [
            f"the auto-coder gave a code to {share:.1%} of the segments: it codes "
            "almost everything; raise the thresholds (classify.corpus_threshold_z, "
            "classify.margin) or add counter-examples"
        ]
    return []
