"""Disagreements between the auto-coder and the human coders, in review order.

:func:`disagreement_table` lists the segments where the auto-coder and the
humans differ in an order a coder can work through (false positives and
misses alternating, the most confident first, fillers last), with the nearest
segments humans did give the code.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from pipeline.agreement.metrics import UnitData
from pipeline.topics.words import FILLER_PHRASES, INTERVIEW_FILLERS

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
