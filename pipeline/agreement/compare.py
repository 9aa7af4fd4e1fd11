"""Auto-codes beside human codes: units, agreement tables, disagreements to review.

Builds the four units of :mod:`pipeline.agreement.metrics` from a run's segments and
the imported human codes, compares the auto-coder with each human coder and
each pair of human coders (the human-vs-human ceiling), and lists the
segments where the auto-coder and the humans disagree in an order a coder can
work through (false positives and misses alternating, the most confident
first, fillers last), with the nearest segments humans did give the code.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.agreement.metrics import (
    UnitData,
    agreement_table,
    compare_pair,
    human_alpha,
)
from pipeline.coding.codebook import Codebook
from pipeline.io.codes import AlignedCodes, CodesImport

AUTO = "auto"
POOLED_SUMMARY = [
    "unit", "coder_a", "coder_b", "n_units", "prevalence_a", "prevalence_b",
    "kappa", "alpha", "ac1", "f1", "flag",
]  # fmt: skip
"""The pooled rows' columns the run's summary (and the console) carry."""


@dataclass
class Comparison:
    """Everything ``compare`` writes.

    Attributes:
        agreement: The agreement table (``agreement.csv``).
        human_alpha: Krippendorff's alpha of all human coders, per code and unit.
        codes_compared: Per segment and code: each coder, the auto score and decision.
        disagreements: Segments where auto and humans differ, in review order.
        coverage: Share of human span codes that landed on a segment.
        coders: Human coders.
    """

    agreement: pd.DataFrame
    human_alpha: pd.DataFrame
    codes_compared: pd.DataFrame
    disagreements: pd.DataFrame
    coverage: float
    coders: list[str]


def segment_units(
    aligned: AlignedCodes, segments: pa.Table, auto: np.ndarray
) -> UnitData:
    """Segments as units: aligned human codes and auto decisions."""
    documents = np.asarray(segments.column("document_id").to_pylist(), dtype=object)
    labels = {coder: aligned.labels[coder] for coder in aligned.coders}
    labels[AUTO] = auto
    # set membership, not np.isin: on object arrays np.isin took 150 s for
    # 100,000 segments and as many documents
    coded = {}
    for coder in aligned.coders:
        theirs = set(aligned.documents[coder])
        coded[coder] = np.fromiter(
            (d in theirs for d in documents), dtype=bool, count=len(documents)
        )
    coded[AUTO] = np.ones(len(documents), dtype=bool)
    return UnitData("segments", aligned.codes, documents, labels, coded)


def turn_units(data: UnitData, segments: pa.Table) -> UnitData:
    """Turns as units: a turn has a code when any of its segments has it."""
    keys = pd.Series(
        [
            f"{d}\x00{t}"
            for d, t in zip(
                data.documents, segments.column("turn_index").to_pylist(), strict=True
            )
        ]
    )
    codes_index, turns = pd.factorize(keys)
    documents = np.array([key.split("\x00")[0] for key in turns], dtype=object)

    def collapse(matrix):
        out = np.zeros((len(turns), matrix.shape[1]), dtype=bool)
        np.logical_or.at(out, codes_index, matrix)
        return out

    def collapse_mask(mask):
        out = np.zeros(len(turns), dtype=bool)
        np.logical_or.at(out, codes_index, mask)
        return out

    return UnitData(
        "turns",
        data.codes,
        documents,
        {c: collapse(m) for c, m in data.labels.items()},
        {c: collapse_mask(m) for c, m in data.coded.items()},
    )


def document_units(
    imported: CodesImport,
    codes: Sequence[str],
    segments: pa.Table,
    auto: np.ndarray,
    coders: Sequence[str],
) -> UnitData:
    """Documents as units: a code is present when a coder used it in the document."""
    documents = sorted(set(segments.column("document_id").to_pylist()))
    row = {d: i for i, d in enumerate(documents)}
    column = {c: j for j, c in enumerate(codes)}
    labels = {c: np.zeros((len(documents), len(codes)), dtype=bool) for c in coders}
    coded = {c: np.zeros(len(documents), dtype=bool) for c in coders}
    for assignment in imported.assignments:
        if assignment.document_id in row and assignment.coder in labels:
            coded[assignment.coder][row[assignment.document_id]] = True
            if assignment.code in column:
                labels[assignment.coder][
                    row[assignment.document_id], column[assignment.code]
                ] = True
    auto_labels = np.zeros((len(documents), len(codes)), dtype=bool)
    np.logical_or.at(
        auto_labels, [row[d] for d in segments.column("document_id").to_pylist()], auto
    )
    labels[AUTO] = auto_labels
    coded[AUTO] = np.ones(len(documents), dtype=bool)
    return UnitData(
        "documents", list(codes), np.array(documents, dtype=object), labels, coded
    )


def character_units(
    imported: CodesImport,
    codes: Sequence[str],
    segments: pa.Table,
    auto: np.ndarray,
    texts: dict[str, str],
    coders: Sequence[str],
    coded_documents: dict[str, set[str]],
) -> UnitData:
    """Characters as units (as NVivo counts), stored as runs of identical characters.

    Every character of every document is a unit. Human spans (a whole-document
    code covers every character) and the spans of auto-coded segments cut each
    document into runs within which no coder changes its mind; each run is one
    weighted unit, which gives the same counts as one unit per character.
    """
    column = {c: j for j, c in enumerate(codes)}
    spans: dict[str, list[tuple[str, int, int, int]]] = {d: [] for d in texts}
    for a in imported.assignments:
        if a.document_id in texts and a.code in column and a.coder in coders:
            start, end = (
                (0, len(texts[a.document_id])) if a.start is None else (a.start, a.end)
            )
            spans[a.document_id].append((a.coder, column[a.code], start, end))
    rows, cols = np.nonzero(auto)
    seg_documents = segments.column("document_id").to_pylist()
    seg_starts = segments.column("start").to_pylist()
    seg_ends = segments.column("end").to_pylist()
    for r, j in zip(rows.tolist(), cols.tolist(), strict=True):
        spans[seg_documents[r]].append((AUTO, j, seg_starts[r], seg_ends[r]))
    all_coders = [*coders, AUTO]
    unit_documents, weights = [], []
    labels = {c: [] for c in all_coders}
    coded = {c: [] for c in all_coders}
    for document, text in texts.items():
        cuts = sorted(
            {
                0,
                len(text),
                *(s for _, _, s, _ in spans[document]),
                *(e for _, _, _, e in spans[document]),
            }
        )
        starts = np.array(cuts[:-1])
        ends = np.array(cuts[1:])
        if not len(starts):
            continue
        matrices = {
            c: np.zeros((len(starts), len(codes)), dtype=bool) for c in all_coders
        }
        for coder, j, start, end in spans[document]:
            matrices[coder][(starts >= start) & (ends <= end), j] = True
        for coder in all_coders:
            labels[coder].append(matrices[coder])
            is_coded = coder == AUTO or document in coded_documents.get(coder, set())
            coded[coder].append(np.full(len(starts), is_coded))
        unit_documents.append(np.full(len(starts), document, dtype=object))
        weights.append(ends - starts)
    return UnitData(
        "characters",
        list(codes),
        np.concatenate(unit_documents),
        {c: np.vstack(m) for c, m in labels.items()},
        {c: np.concatenate(m) for c, m in coded.items()},
        np.concatenate(weights).astype(float),
    )


def compare_codes(
    *,
    segments: pa.Table,
    texts: dict[str, str],
    imported: CodesImport,
    aligned: AlignedCodes,
    auto_scores: np.ndarray,
    auto_decisions: np.ndarray,
    thresholds: np.ndarray,
    embeddings: np.ndarray,
    codebook: Codebook,
    auto_name: str = AUTO,
    units: Sequence[str] = ("characters", "segments", "turns", "documents"),
    n_boot: int = 1000,
    random_state: int = 0,
    review_per_code: int = 500,
) -> Comparison:
    """Compare auto-codes with human codes at every unit; list disagreements.

    Args:
        segments: The run's segments.
        texts: Document id to normalised text.
        imported: The human codes as read.
        aligned: The human codes on segments (columns: ``aligned.codes``).
        auto_scores: ``(n_segments, n_codes)`` auto scores, same columns.
        auto_decisions: ``(n_segments, n_codes)`` auto decisions, same columns.
        thresholds: Per code, the auto-coder's threshold.
        embeddings: Segment embeddings (for the nearest human-coded examples).
        codebook: The codebook (the names shown beside code ids).
        auto_name: The auto-coder's name in the tables.
        units: Units to compare at.
        n_boot: Bootstrap replicates for confidence intervals.
        review_per_code: At most this many disagreements per code to review
            (the first in review order; 0: all).
        random_state: Seed of the bootstrap.

    Returns:
        The comparison tables.
    """
    coders = list(aligned.coders)
    codes = list(aligned.codes)
    data = {"segments": segment_units(aligned, segments, auto_decisions)}
    if "turns" in units:
        data["turns"] = turn_units(data["segments"], segments)
    if "documents" in units:
        data["documents"] = document_units(
            imported, codes, segments, auto_decisions, coders
        )
    if "characters" in units:
        data["characters"] = character_units(
            imported, codes, segments, auto_decisions, texts, coders, aligned.documents
        )
    rows, alpha_rows = [], []
    for unit in units:
        unit_data = data[unit]
        for coder in coders:
            for row in compare_pair(
                unit_data, coder, AUTO, n_boot=n_boot, random_state=random_state
            ):
                rows.append(row | {"coder_b": auto_name})
        for first, second in itertools.combinations(coders, 2):
            rows.extend(
                compare_pair(
                    unit_data, first, second, n_boot=n_boot, random_state=random_state
                )
            )
        if len(coders) >= 2:
            alpha_rows.extend(human_alpha(unit_data, coders))
    compared = codes_compared_table(
        segments, aligned, auto_scores, auto_decisions, data["segments"]
    )
    review = disagreement_table(
        segments,
        aligned,
        auto_scores,
        auto_decisions,
        thresholds,
        embeddings,
        data["segments"],
        per_code=review_per_code,
    )
    names = codebook.display_names()
    return Comparison(
        agreement=with_code_names(agreement_table(rows), names),
        human_alpha=with_code_names(
            pd.DataFrame(alpha_rows, columns=["code", "unit", "coders", "alpha"]),
            names,
        ),
        codes_compared=with_code_names(compared, names),
        disagreements=with_code_names(review, names),
        coverage=aligned.coverage,
        coders=coders,
    )


def with_code_names(table: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """The table with a ``code_name`` column (what people read) after ``code``.

    ``code`` keeps the code's id, stable for joining tables; a code the
    codebook does not have (and the pooled row, ``(all codes)``) is its own
    name. A new table is returned; a column ``code_name`` already there is
    replaced.

    Args:
        table: A table with a ``code`` column.
        names: Code id to the name to show.

    Returns:
        The table with ``code_name``, as a categorical column (one string per
        code, however many rows).
    """
    table = table.drop(columns="code_name", errors="ignore")
    if "code" not in table:
        return table
    codes = table["code"].astype(str)
    labels = codes.map(dict(names)).fillna(codes).astype("category")
    position = table.columns.get_loc("code") + 1
    named = table.copy()
    named.insert(position, "code_name", labels)
    return named


def codes_compared_table(
    segments, aligned, scores, decisions, data: UnitData
) -> pd.DataFrame:
    """Per segment and code: each coder, the auto score and decision, agreement.

    A human coder's cell is blank where they did not code the document.
    """
    n, k = scores.shape
    frame = pd.DataFrame(
        {
            "document_id": np.repeat(
                segments.column("document_id").to_numpy(zero_copy_only=False), k
            ),
            "segment_id": np.repeat(
                segments.column("segment_id").to_numpy(zero_copy_only=False), k
            ),
            "start": np.repeat(segments.column("start").to_numpy(), k),
            "end": np.repeat(segments.column("end").to_numpy(), k),
            "code": np.tile(np.asarray(aligned.codes, dtype=object), n),
        }
    )
    human_any = np.zeros(n * k, dtype=bool)
    any_coded = np.zeros(n * k, dtype=bool)
    for coder in aligned.coders:
        coded = np.repeat(data.coded[coder], k)
        values = aligned.labels[coder].reshape(-1)
        frame[coder] = pd.array(np.where(coded, values, False), dtype="boolean")
        frame.loc[~coded, coder] = pd.NA
        human_any |= values & coded
        any_coded |= coded
    frame["auto_score"] = np.round(scores.reshape(-1), 4)
    frame["auto_assigned"] = decisions.reshape(-1).astype(bool)
    frame["human_any"] = pd.array(
        np.where(any_coded, human_any, False), dtype="boolean"
    )
    frame.loc[~any_coded, "human_any"] = pd.NA
    agree = frame["auto_assigned"] == frame["human_any"]
    frame["agree"] = agree.astype("boolean")
    return frame


FILLER_MAX_WORDS = 4
"""A segment of this many words or fewer ("Yeah, right?") is reviewed last."""

FALSE_POSITIVE = "false positive"
MISS = "miss"
KINDS = (FALSE_POSITIVE, MISS)
"""The two kinds of disagreement: the auto-coder gave the code and no human
did (a false positive), or a human gave it and the auto-coder did not (a miss)."""

DISAGREEMENT_COLUMNS = [
    "rank", "kind", "segment_id", "document_id", "code", "quote", "n_words",
    "filler", "auto_score", "threshold", "auto", "humans", "confidence",
    "nearest_human_coded",
]  # fmt: skip


def disagreement_table(
    segments,
    aligned,
    scores,
    decisions,
    thresholds,
    embeddings,
    data: UnitData,
    *,
    n_examples: int = 3,
    per_code: int = 500,
) -> pd.DataFrame:
    """Segments where the auto decision differs from the human coders', to review.

    Only documents a human coded count. Each row is a false positive (the
    auto-coder gave the code, no human did) or a miss (a human gave it, the
    auto-coder did not), with the quote, its length, who coded what, how far
    the score is from the threshold (``confidence``) and the ``n_examples``
    most similar segments humans did give the code. The code's definition is
    not repeated on every row: the codebook goes beside the table once.

    Rows come in review order (:func:`rank_disagreements`): false positives
    and misses alternate, the most confident of each first and every code
    taking its turn, fillers and segments of :data:`FILLER_MAX_WORDS` words or
    fewer last; at most ``per_code`` rows per code (0: all), the first in
    that order.
    """
    coders = list(aligned.coders)
    coded_any = np.zeros(len(scores), dtype=bool)
    human_any = np.zeros(scores.shape, dtype=bool)
    for coder in coders:
        coded_any |= data.coded[coder]
        human_any |= aligned.labels[coder] & data.coded[coder][:, None]
    texts = segments.column("text").to_pylist()
    ids = segments.column("segment_id").to_pylist()
    documents = segments.column("document_id").to_pylist()
    n_words = np.array([count_words(text) for text in texts], dtype=int)
    filler = np.array(
        [
            n <= FILLER_MAX_WORDS or is_filler(text)
            for n, text in zip(n_words, texts, strict=True)
        ],
        dtype=bool,
    )
    candidates = []
    for j, code in enumerate(aligned.codes):
        differ = np.flatnonzero(coded_any & (decisions[:, j] != human_any[:, j]))
        candidates.append(
            pd.DataFrame(
                {
                    "row": differ,
                    "column": j,
                    "code": code,
                    "kind": np.where(decisions[differ, j], FALSE_POSITIVE, MISS),
                    "confidence": np.abs(scores[differ, j] - thresholds[j]),
                    "filler": filler[differ],
                }
            )
        )
    chosen = rank_disagreements(
        pd.concat(candidates, ignore_index=True)
        if candidates
        else pd.DataFrame(
            columns=["row", "column", "code", "kind", "confidence", "filler"]
        ),
        per_code=per_code,
    )
    nearest: dict[int, list[list[int]]] = {}
    for j, rows in chosen.groupby("column", sort=False)["row"]:
        nearest[int(j)] = _nearest_coded(
            embeddings,
            rows.to_numpy(dtype=np.int64),
            np.flatnonzero(human_any[:, int(j)]),
            n_examples,
        )
    position = chosen.groupby("column", sort=False).cumcount().to_numpy()
    out = []
    for rank, (i, j, kind, place) in enumerate(
        zip(chosen["row"], chosen["column"], chosen["kind"], position, strict=True),
        start=1,
    ):
        i, j = int(i), int(j)
        out.append(
            {
                "rank": rank,
                "kind": kind,
                "segment_id": ids[i],
                "document_id": documents[i],
                "code": aligned.codes[j],
                "quote": texts[i],
                "n_words": int(n_words[i]),
                "filler": bool(filler[i]),
                "auto_score": round(float(scores[i, j]), 4),
                "threshold": round(float(thresholds[j]), 4),
                "auto": "coded" if decisions[i, j] else "not coded",
                "humans": "; ".join(
                    f"{c}: {'coded' if aligned.labels[c][i, j] else 'not coded'}"
                    for c in coders
                    if data.coded[c][i]
                ),
                "confidence": round(abs(float(scores[i, j] - thresholds[j])), 4),
                "nearest_human_coded": " | ".join(
                    f"{ids[p]}: {texts[p]}" for p in nearest[j][place]
                ),
            }
        )
    return pd.DataFrame(out, columns=DISAGREEMENT_COLUMNS)


def rank_disagreements(candidates: pd.DataFrame, *, per_code: int = 0) -> pd.DataFrame:
    """Put disagreements in the order a coder can work through, best first.

    Within each code and kind (false positive or miss), the most confident
    comes first: the false positive the auto-coder was surest of, the miss
    it scored lowest. Rounds then take the first of every code, the second
    of every code, and so on, and false positives and misses alternate, so
    neither kind buries the other and no code crowds out the rest. Fillers
    (``filler`` true: a few words, or filler words only) come after all the
    others, in the same order among themselves.

    Args:
        candidates: One row per disagreement: ``code``, ``kind`` (one of
            :data:`KINDS`), ``confidence`` (distance of the score from the
            threshold), ``filler``; other columns are carried along.
        per_code: At most this many rows per code, the first in this order
            (0: all).

    Returns:
        The rows kept, in review order (a new table, index reset).
    """
    table = candidates.assign(
        _kind=candidates["kind"].map({kind: n for n, kind in enumerate(KINDS)}),
        _filler=candidates["filler"].astype(bool),
    ).sort_values("confidence", ascending=False, kind="stable")
    table["_round"] = table.groupby(["code", "_filler", "_kind"], sort=False).cumcount()
    if per_code:
        table = table.sort_values(["_filler", "_round", "_kind"], kind="stable")
        table = table[table.groupby("code", sort=False).cumcount() < per_code]
    table = table.sort_values(
        ["_round", "confidence"], ascending=[True, False], kind="stable"
    )
    table["_place"] = table.groupby(["_filler", "_kind"], sort=False).cumcount()
    table = table.sort_values(["_filler", "_place", "_kind"], kind="stable")
    return table.drop(columns=["_kind", "_filler", "_round", "_place"]).reset_index(
        drop=True
    )


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


FILLER_WORDS = frozenset(
    "i you we it that this so and but or the a an of to is was oh".split()
)
"""Words that, with the interview fillers of topic words and the words of their
filler phrases, make a segment a filler ("Yeah, yeah, you know, so that's it.")."""


@functools.cache
def _filler_words() -> frozenset[str]:
    """Interview fillers ("yeah", "um", "you know", ...) and a few function words."""
    from pipeline.topics.modeler import FILLER_PHRASES, INTERVIEW_FILLERS

    phrase_words = {word for phrase in FILLER_PHRASES for word in phrase.split()}
    return FILLER_WORDS | frozenset(INTERVIEW_FILLERS) | frozenset(phrase_words)


def count_words(text: str) -> int:
    """Words of a text (letters or digits; "don't" is one)."""
    return len(_WORD.findall(text))


def is_filler(text: str) -> bool:
    """Whether a text holds only fillers ("Yeah, I mean, you know, right.").

    Fillers are the interview fillers topic words leave out ("yeah", "okay",
    "really", "you know", "I mean", ...) and :data:`FILLER_WORDS`; a word of
    one letter is ignored.
    """
    ignored = _filler_words()
    return all(
        part in ignored
        for word in _WORD.findall(text.casefold())
        for part in re.split(r"['’]", word)
        if len(part) > 1
    )


def _nearest_coded(
    embeddings: np.ndarray,
    queries: np.ndarray,
    candidates: np.ndarray,
    n: int,
    *,
    chunk: int = 1024,
) -> list[list[int]]:
    """For each query row, the ``n`` most similar candidate rows (never itself).

    Similarities are computed a chunk of queries at a time (one matrix
    product each), so memory stays at ``chunk x len(candidates)``.
    """
    out: list[list[int]] = [[] for _ in queries]
    if not len(candidates) or not n:
        return out
    pool = embeddings[candidates]
    for start in range(0, len(queries), chunk):
        block = queries[start : start + chunk]
        similarity = embeddings[block] @ pool.T
        similarity[block[:, None] == candidates[None, :]] = -np.inf
        take = min(n, len(candidates))
        for row, values in enumerate(similarity):
            if len(values) > take:
                part = np.argpartition(-values, take - 1)[:take]
                best = part[np.lexsort((part, -values[part]))]
            else:
                best = np.argsort(-values, kind="stable")
            out[start + row] = [
                int(candidates[b]) for b in best if np.isfinite(values[b])
            ]
    return out


def compare_run(run_dir, config, *, codes_path=None, out_dir=None) -> dict:
    """Compare a finished run's auto-codes with human codes and write the tables.

    Writes ``codes_compared.parquet``/``.csv``, ``agreement.csv``,
    ``human_agreement.csv``, ``disagreements.csv`` and ``codes_import.json``
    (every row of the codes file: used, or why not; the alignment coverage).

    Args:
        run_dir: The run folder (with auto-codes).
        config: The :class:`~pipeline.config.PipelineConfig` (``compare`` and
            ``classify`` sections).
        codes_path: The human codes file (default ``compare.codes``).
        out_dir: Where to write (default: the run folder).

    Returns:
        A summary for the manifest and the command line.

    Raises:
        RunNotFoundError: The run has no auto-codes.
        CodesError: The codes file cannot be read.
        ConfigError: No codebook to read the codes with.
    """
    import json

    from pipeline.coding.codebook import load_codebook
    from pipeline.errors import ConfigError
    from pipeline.io.codes import align_codes, read_codes
    from pipeline.store.database import RunFolder

    folder = RunFolder(run_dir)
    out = RunFolder(out_dir) if out_dir is not None else folder

    codes_path = codes_path or config.compare.codes
    if codes_path is None:
        raise ConfigError("no human codes: pass --codes FILE or set compare.codes")
    segments = folder.read_parquet("segments.parquet")
    documents = folder.read_parquet("documents.parquet")
    embeddings = folder.read_embeddings(n_rows=segments.num_rows)
    classifier = folder.read_json("classifier.json")
    codebook_path = config.classify.codebook or _model_codebook(config)
    if codebook_path is None:
        raise ConfigError(
            "no codebook to read the human codes with: pass --codebook FILE"
        )
    codebook = load_codebook(codebook_path)
    texts = dict(
        zip(
            documents["document_id"].to_pylist(),
            documents["text"].to_pylist(),
            strict=True,
        )
    )
    imported = read_codes(
        codes_path,
        codebook=codebook,
        documents=texts,
        id_column=config.ingest.id_column,
        offset_maps=redaction_maps(folder),
    )
    codes = list(classifier["thresholds"])
    check_auto_codes(codes, codebook, source=folder.file("classifier.json"))
    aligned = align_codes(
        segments,
        imported,
        codes,
        min_segment_share=config.compare.min_segment_share,
        min_span_share=config.compare.min_span_share,
    )
    auto = folder.read_parquet(
        "auto_codes.parquet", columns=["segment_id", "code", "score", "assigned"]
    ).to_pandas()
    ids = segments.column("segment_id").to_pylist()
    scores = (
        auto.pivot(index="segment_id", columns="code", values="score")
        .loc[ids, codes]
        .to_numpy()
    )
    decisions = (
        auto.pivot(index="segment_id", columns="code", values="assigned")
        .loc[ids, codes]
        .to_numpy(dtype=bool)
    )
    comparison = compare_codes(
        segments=segments,
        texts=texts,
        imported=imported,
        aligned=aligned,
        auto_scores=scores,
        auto_decisions=decisions,
        thresholds=np.array([classifier["thresholds"][c] for c in codes]),
        embeddings=embeddings,
        codebook=codebook,
        auto_name=AUTO,
        units=config.compare.units,
        n_boot=config.compare.n_boot,
        review_per_code=config.compare.review_per_code,
        random_state=config.random_state,
    )
    out.write_parquet(
        "codes_compared.parquet",
        pa.Table.from_pandas(comparison.codes_compared, preserve_index=False),
    )
    out.write_csv("codes_compared.csv", comparison.codes_compared)
    out.write_csv("agreement.csv", comparison.agreement)
    out.write_csv("human_agreement.csv", comparison.human_alpha)
    out.write_csv("disagreements.csv", comparison.disagreements)
    report = {
        **imported.summary(),
        # resolved, so `themes report` rebuilds from the same files wherever it runs
        "codes_path": str(Path(codes_path).resolve()),
        "codebook_path": str(Path(codebook_path).resolve()),
        "coverage": round(aligned.coverage, 4),
        "n_spans": aligned.n_spans,
        "unused": [{"origin": u.origin, "reason": u.reason} for u in imported.unused],
        "missed": [{"origin": u.origin, "reason": u.reason} for u in aligned.missed],
        "notes": list(imported.notes),
    }
    out.write_text("codes_import.json", json.dumps(report, indent=2) + "\n")
    pooled = comparison.agreement[comparison.agreement["code"] == "(all codes)"]
    kinds = comparison.disagreements["kind"].value_counts()
    return {
        "coders": comparison.coders,
        "coverage": report["coverage"],
        "n_assignments": report["n_assignments"],
        "n_unused": report["n_unused"],
        "n_disagreements": len(comparison.disagreements),
        "disagreements_by_kind": {kind: int(kinds.get(kind, 0)) for kind in KINDS},
        "code_matches": report["code_matches"],
        "skipped_auto_coders": report["skipped_auto_coders"],
        "notes": report["notes"],
        "pooled": pooled[POOLED_SUMMARY].to_dict(orient="records"),
    }


def check_auto_codes(codes: Sequence[str], codebook: Codebook, *, source) -> None:
    """Refuse auto-codes whose code ids the codebook does not have.

    Human codes are read with the codebook; auto-codes made with another
    codebook (or cached by a version that turned CSV codes into slugs) would
    share no code with them, and every comparison would be empty.

    Args:
        codes: The auto-coder's code ids (``classifier.json``).
        codebook: The codebook the human codes are read with.
        source: Where the auto-codes' ids come from, for the message.

    Raises:
        ConfigError: Some auto-code ids are not codes of the codebook.
    """
    from pipeline.errors import ConfigError

    strangers = [code for code in codes if code not in set(codebook.ids)]
    if strangers:
        listed = ", ".join(repr(code) for code in strangers[:5])
        more = " ..." if len(strangers) > 5 else ""
        raise ConfigError(
            f"{source}: the run's auto-codes use {len(strangers)} code id(s) the "
            f"codebook {codebook.source} does not have: {listed}{more}. The run was "
            "coded with another codebook, or its auto-codes were cached by an "
            "earlier version that turned CSV codes into slugs: code the corpus "
            "again (`themes run --refit-codes`, or `themes train` a model again), "
            "or use the codebook the run was coded with"
        )


def redaction_maps(folder) -> dict:
    """Offset maps of the run's redacted documents (empty unless policy was redact)."""
    from pipeline.text.anonymise import offset_map_from

    if not folder.file("ingest.json").is_file():
        return {}
    report = folder.read_json("ingest.json").get("anonymisation") or {}
    return {d: offset_map_from(m) for d, m in (report.get("offset_maps") or {}).items()}


def _model_codebook(config):
    if config.classify.model is None:
        return None
    import json
    from pathlib import Path

    card = Path(config.classify.model) / "card.json"
    return (
        json.loads(card.read_text(encoding="utf-8")).get("codebook")
        if card.is_file()
        else None
    )
