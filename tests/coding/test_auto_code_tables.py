"""Auto-code tables built in Arrow and NumPy: the same rows as pandas gave them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipeline.coding.auto_code_tables import (
    AUTO_CODE_COLUMNS,
    auto_codes_for_csv,
    auto_codes_table,
    roll_up_by_document,
    tiled,
)
from pipeline.coding.keywords import KeywordModels
from pipeline.coding.prototypes import PrototypeClassifier
from pipeline.coding.run_auto_codes import read_auto_code_matrices
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder

CODES = ["a", "bb", "ccc"]


def segment_table(documents):
    """Segments of the given documents (in this order), ids unique."""
    n = len(documents)
    return pa.table(
        {
            "document_id": documents,
            "segment_id": [f"{d}#{i}" for i, d in enumerate(documents)],
            "start": list(range(0, 10 * n, 10)),
            "end": list(range(5, 10 * n + 5, 10)),
            "turn_index": pa.array([0] * n, type=pa.int32()),
        }
    )


def coded(n, seed=0):
    """Scores with ties (rounded to 2 places) and NaN, and decisions."""
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random((n, len(CODES))), 2)
    scores[rng.random(scores.shape) < 0.05] = np.nan
    decisions = rng.random(scores.shape) < 0.3
    return scores, decisions


def table_by_pandas(segments, scores, decisions, *, method, model):
    """The auto-codes table as it was built before: object arrays in pandas."""
    k = len(CODES)
    return pd.DataFrame(
        {
            "document_id": np.repeat(segments["document_id"].to_pylist(), k),
            "segment_id": np.repeat(segments["segment_id"].to_pylist(), k),
            "start": np.repeat(segments["start"].to_numpy(), k),
            "end": np.repeat(segments["end"].to_numpy(), k),
            "code": np.tile(np.asarray(CODES, dtype=object), segments.num_rows),
            "score": np.round(scores.reshape(-1), 4),
            "assigned": decisions.reshape(-1),
            "method": method
            if isinstance(method, str)
            else np.repeat(np.asarray(method, dtype=object), k),
            "model": model,
        },
        columns=AUTO_CODE_COLUMNS,
    )


@pytest.mark.parametrize("method", ["zero-shot", "per segment"])
def test_auto_codes_table_equals_the_table_pandas_built(method):
    segments = segment_table(["d1", "d1", "d2", "d3", "d2"])
    scores, decisions = coded(segments.num_rows)
    if method == "per segment":
        method = ["supervised", "supervised (out-of-fold)"] * 2 + ["supervised"]
    table = auto_codes_table(
        segments, CODES, scores, decisions, method=method, model="m (e)"
    )
    expected = table_by_pandas(
        segments, scores, decisions, method=method, model="m (e)"
    )
    pd.testing.assert_frame_equal(table, expected)
    assert pa.Table.from_pandas(table, preserve_index=False).equals(
        pa.Table.from_pandas(expected, preserve_index=False), check_metadata=True
    )


def test_a_repeated_text_column_shares_one_block():
    column = tiled(CODES, 100_000)
    assert len(column) == 300_000 and column[299_999].as_py() == "ccc"
    assert column.to_pylist()[:4] == ["a", "bb", "ccc", "a"]
    buffers = {chunk.buffers()[2].address for chunk in column.chunks}
    assert len(column.chunks) > 1 and len(buffers) == 1
    assert len(tiled(CODES, 0)) == 0


def test_rows_for_the_spreadsheet_are_those_pandas_ranked():
    segments = segment_table([f"d{i // 3}" for i in range(60)])
    scores, decisions = coded(segments.num_rows, seed=1)
    table = auto_codes_table(segments, CODES, scores, decisions, method="z", model="m")
    # before: each segment's rank of its codes by grouping the rows by segment
    rank = table.groupby("segment_id", sort=False)["score"].rank(
        method="first", ascending=False
    )
    for top in (1, 2):
        expected = table[table["assigned"] | (rank <= top)].reset_index(drop=True)
        pd.testing.assert_frame_equal(
            auto_codes_for_csv(table, n_codes=len(CODES), top=top), expected
        )


def test_roll_up_by_document_equals_grouping_by_document_and_code():
    # documents out of order and interleaved: grouped all the same
    segments = segment_table(["d2", "d1", "d2", "d3", "d1", "d1", "d4"])
    scores, decisions = coded(segments.num_rows, seed=2)
    scores[6] = np.nan  # a document whose only segment is unscored
    table = auto_codes_table(segments, CODES, scores, decisions, method="z", model="m")
    expected = (
        table.groupby(["document_id", "code"], sort=False)
        .agg(
            present=("assigned", "any"),
            n_segments=("assigned", "sum"),
            max_score=("score", "max"),
        )
        .reset_index()
    )
    expected["n_segments"] = expected["n_segments"].astype(int)
    pd.testing.assert_frame_equal(
        roll_up_by_document(table, n_codes=len(CODES)), expected
    )
    empty = auto_codes_table(
        segment_table([]), CODES, np.zeros((0, 3)), np.zeros((0, 3), bool),
        method="z", model="m",
    )  # fmt: skip
    rolled = roll_up_by_document(empty, n_codes=len(CODES))
    assert rolled.empty and list(rolled.columns) == list(expected.columns)


def test_auto_code_matrices_are_read_back_in_the_order_asked(tmp_path):
    segments = segment_table(["d1", "d1", "d2", "d3"])
    scores, decisions = coded(segments.num_rows, seed=3)
    table = auto_codes_table(segments, CODES, scores, decisions, method="z", model="m")
    run = RunFolder(tmp_path)
    shuffled = table.sample(frac=1.0, random_state=0)  # any row order reads back
    run.write_parquet(
        run_files.AUTO_CODES, pa.Table.from_pandas(shuffled, preserve_index=False)
    )
    thresholds = {"ccc": 0.3, "a": 0.1, "bb": 0.2}  # classifier.json's order
    run.write_json(run_files.CLASSIFIER, {"thresholds": thresholds})
    ids = segments["segment_id"].to_pylist()[::-1]
    matrices = read_auto_code_matrices(run, ids)
    order = [CODES.index(code) for code in thresholds]
    assert matrices.codes == list(thresholds)
    np.testing.assert_array_equal(matrices.scores, np.round(scores, 4)[::-1][:, order])
    np.testing.assert_array_equal(matrices.decisions, decisions[::-1][:, order])
    np.testing.assert_array_equal(matrices.thresholds, [0.3, 0.1, 0.2])
    assert read_auto_code_matrices(run, ids[:2]).scores.shape == (2, 3)
    with pytest.raises(KeyError, match="d9#0"):
        read_auto_code_matrices(run, [*ids, "d9#0"])


def test_segments_are_scored_in_chunks_as_at_once_and_float32_as_float64(
    monkeypatch,
):
    rng = np.random.default_rng(0)
    prototypes = rng.standard_normal((6, 16))
    classifier = PrototypeClassifier(threshold=0.2).fit(
        prototypes, np.repeat(np.eye(3, dtype=int), 2, axis=0),
        counter_X=rng.standard_normal((2, 16)), counter_y=np.eye(3, dtype=int)[:2],
    )  # fmt: skip
    X = rng.standard_normal((1000, 16)).astype(np.float32)
    at_once = classifier.score_codes(X)
    models = KeywordModels(
        np.array([True, False, True]),
        rng.standard_normal((3, 16)),
        rng.standard_normal(3),
    )
    probabilities = models.probabilities(X)
    monkeypatch.setattr("pipeline.coding.prototypes.SCORE_CHUNK", 64)
    monkeypatch.setattr("pipeline.coding.keywords.SCORE_CHUNK", 64)
    in_chunks = classifier.score_codes(X)
    # the chunks start on multiples of 64 rows: the same bits as one product
    # with OpenBLAS; elsewhere a last-bit difference at most
    np.testing.assert_allclose(in_chunks, at_once, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(
        classifier.predict_indicator(None, in_chunks),
        classifier.predict_indicator(None, at_once),
    )
    np.testing.assert_allclose(
        classifier.score_codes(X.astype(np.float64)), at_once, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        models.probabilities(X), probabilities, rtol=0, atol=1e-12
    )
    logits = X.astype(np.float64) @ models.coef.T + models.intercept
    expected = np.where(models.trained, 1 / (1 + np.exp(-logits)), 0.0)
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-12)
