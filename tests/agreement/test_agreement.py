"""Agreement coefficients against published worked examples and scikit-learn; tables."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from pipeline.agreement.metrics import (
    UnitData,
    coefficients,
    compare_pair,
    counts_of,
    flags_for,
    krippendorff_alpha,
)


def test_nvivo_documented_example_gives_85_percent_agreement():
    # NVivo's coding comparison example: a 1,000-character source, 50 characters
    # coded by both users, 150 by one only, 800 by neither: agreement 85%.
    values = coefficients(50, 150, 0, 800)
    assert values["percent_agreement"] == pytest.approx(0.85)
    a = np.r_[np.ones(200), np.zeros(800)]
    b = np.r_[np.ones(50), np.zeros(950)]
    assert values["kappa"] == pytest.approx(cohen_kappa_score(a, b))
    assert values["kappa"] == pytest.approx((0.85 - 0.77) / 0.23)


def test_krippendorff_binary_two_coder_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", first
    # example: two observers, ten units, binary data; alpha = 0.095.
    a = np.array([0, 1, 0, 0, 0, 0, 0, 0, 1, 0])
    b = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0])
    counts = counts_of(a, b)
    assert coefficients(counts.both, counts.a_only, counts.b_only, counts.neither)[
        "alpha"
    ] == (pytest.approx(0.095, abs=5e-4))
    assert krippendorff_alpha(np.stack([a, b])) == pytest.approx(0.095, abs=5e-4)


def test_krippendorff_nominal_four_coders_with_missing_data():
    # Krippendorff (2011), nominal data, four observers, twelve units with
    # missing values: alpha = 0.743.
    nan = np.nan
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
        ]
    )
    assert krippendorff_alpha(data) == pytest.approx(0.743, abs=5e-4)


def test_gwet_ac1_and_kappa_paradox_example():
    # The kappa paradox (Feinstein & Cicchetti; Gwet 2008): raters agree on 118
    # of 125 cases that are nearly all "yes". Kappa is near zero, AC1 high:
    # po = 0.944, pi = 0.972, Pe(AC1) = 2 * 0.972 * 0.028 = 0.0544,
    # AC1 = (0.944 - 0.0544) / (1 - 0.0544) = 0.9408.
    values = coefficients(118, 5, 2, 0)
    assert values["percent_agreement"] == pytest.approx(0.944)
    assert values["ac1"] == pytest.approx(0.9408, abs=1e-4)
    a = np.r_[np.ones(123), np.zeros(2)]
    b = np.r_[np.ones(118), np.zeros(5), np.ones(2)]
    assert values["kappa"] == pytest.approx(cohen_kappa_score(a, b))
    assert values["kappa"] == pytest.approx(-0.0234, abs=1e-4)
    assert "prevalence paradox" in flags_for(values)


def test_brennan_prediger_is_chance_corrected_with_two_equally_likely_categories():
    values = coefficients(40, 10, 10, 40)
    assert values["bp_kappa"] == pytest.approx((0.8 - 0.5) / 0.5)


@pytest.mark.parametrize("seed", range(5))
def test_kappa_matches_scikit_learn_on_random_data(seed):
    rng = np.random.default_rng(seed)
    a = rng.random(300) < 0.3
    b = np.where(rng.random(300) < 0.7, a, rng.random(300) < 0.3)
    counts = counts_of(a, b)
    values = coefficients(counts.both, counts.a_only, counts.b_only, counts.neither)
    assert values["kappa"] == pytest.approx(cohen_kappa_score(a, b))
    assert values["alpha"] == pytest.approx(
        krippendorff_alpha(np.stack([a, b]).astype(float))
    )
    assert values["precision"] == pytest.approx((a & b).sum() / b.sum())
    assert values["recall"] == pytest.approx((a & b).sum() / a.sum())


def test_code_nobody_used_is_explained_not_nan():
    values = coefficients(0, 0, 0, 50)
    assert values["percent_agreement"] == 1.0
    assert np.isnan(values["kappa"]) and np.isnan(values["alpha"])
    assert (
        flags_for(values)
        == "code never used by either coder: kappa and alpha undefined"
    )


def test_code_everyone_used_everywhere_is_explained():
    values = coefficients(50, 0, 0, 0)
    assert values["ac1"] == pytest.approx(1.0) or np.isnan(values["ac1"])
    assert "every unit" in flags_for(values)


def unit_data(a, b, documents, coded_b=None):
    a = np.asarray(a, dtype=bool)[:, None]
    b = np.asarray(b, dtype=bool)[:, None]
    n = len(a)
    return UnitData(
        "segments",
        ["code"],
        np.asarray(documents, dtype=object),
        {"ann": a, "auto": b},
        {
            "ann": np.ones(n, bool),
            "auto": np.ones(n, bool) if coded_b is None else np.asarray(coded_b),
        },
    )


def test_bootstrap_interval_contains_the_estimate_and_is_seeded():
    rng = np.random.default_rng(0)
    a = rng.random(400) < 0.3
    b = np.where(rng.random(400) < 0.8, a, ~a)
    documents = np.repeat(np.arange(40), 10)
    rows = compare_pair(
        unit_data(a, b, documents), "ann", "auto", n_boot=500, random_state=3
    )
    row = rows[0]
    assert row["kappa_low"] < row["kappa"] < row["kappa_high"]
    again = compare_pair(
        unit_data(a, b, documents), "ann", "auto", n_boot=500, random_state=3
    )[0]
    assert (again["kappa_low"], again["kappa_high"]) == (
        row["kappa_low"],
        row["kappa_high"],
    )
    assert rows[-1]["code"] == "(all codes)"


def test_units_outside_a_coders_documents_are_missing_not_no():
    a = [1, 0, 1, 0]
    b = [1, 0, 0, 0]
    data = unit_data(a, b, ["d1", "d1", "d2", "d2"], coded_b=[True, True, False, False])
    row = compare_pair(data, "ann", "auto", n_boot=0)[0]
    assert row["n_units"] == 2 and row["percent_agreement"] == 1.0


def test_nearest_coded_matches_brute_force_and_never_returns_the_query():
    from pipeline.agreement.disagreements import _nearest_coded

    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((300, 8))
    queries = np.arange(0, 300, 7)
    candidates = np.arange(0, 300, 3)
    found = _nearest_coded(embeddings, queries, candidates, 3, chunk=16)
    for query, nearest in zip(queries, found, strict=True):
        others = candidates[candidates != query]
        similarity = embeddings[others] @ embeddings[query]
        assert nearest == others[np.argsort(-similarity, kind="stable")[:3]].tolist()
        assert query not in nearest


@pytest.mark.parametrize("n_documents", [0, 7, 300])
def test_bootstrap_chunks_are_the_draws_of_one_multinomial_call(n_documents):
    from pipeline.agreement.bootstrap import BOOT_CHUNK, bootstrap_chunks

    n_boot = 2 * BOOT_CHUNK + 5  # more than one chunk, the last one short
    chunks = list(bootstrap_chunks(n_documents, n_boot, random_state=3))
    if not n_documents:
        assert chunks == []
        return
    assert [len(chunk) for chunk in chunks] == [BOOT_CHUNK, BOOT_CHUNK, 5]
    assert all(chunk.itemsize <= 2 for chunk in chunks)
    expected = np.random.default_rng(3).multinomial(
        n_documents, np.full(n_documents, 1 / n_documents), size=n_boot
    )
    np.testing.assert_array_equal(np.concatenate(chunks), expected)


def test_a_near_empty_coder_is_never_presented_as_agreeing():
    from pipeline.agreement.metrics import coefficients, flags_for

    # the human codes 12% of 1,000 units, the auto-coder 0.3%: AC1 looks excellent
    values = {k: float(v) for k, v in coefficients(2, 118, 1, 879).items()}
    assert values["ac1"] > 0.85
    assert values["prevalence_a"] == 0.12 and values["prevalence_b"] == 0.003
    flag = flags_for(values)
    assert "coder B gave the code to 0.3% of units, the other to 12.0%" in flag
    assert "read AC1" not in flag and "prevalence paradox" not in flag
    # two coders with similar, low prevalence: kappa unstable, interval and AC1
    similar = {k: float(v) for k, v in coefficients(10, 5, 6, 979).items()}
    assert "rare code" in flags_for(similar)


def test_tables_get_code_names_beside_their_ids_without_changing_the_input():
    import pandas as pd

    from pipeline.agreement.compare import with_code_names

    table = pd.DataFrame(
        {
            "code": ["1.8 - Past Experience", "(all codes)", "exp"],
            "unit": ["segments"] * 3,
        }
    )
    named = with_code_names(table, {"exp": "Learning from experience"})

    assert list(named.columns) == ["code", "code_name", "unit"]
    assert named["code_name"].tolist() == [
        "1.8 - Past Experience",
        "(all codes)",
        "Learning from experience",
    ]
    assert list(table.columns) == ["code", "unit"]
    again = with_code_names(named, {"exp": "Experience"})
    assert again["code_name"].tolist()[2] == "Experience"
    assert list(again.columns) == ["code", "code_name", "unit"]


def test_auto_codes_with_ids_the_codebook_lacks_are_refused_with_the_fix():
    from pipeline.coding.codebook_records import Code, validate_codes
    from pipeline.coding.run_auto_codes import check_auto_codes
    from pipeline.errors import ConfigError

    codebook = validate_codes(
        [Code("1.8 - Past Experience", "1.8 - Past Experience")],
        source="book.csv",
        name="book",
    )
    check_auto_codes(["1.8 - Past Experience"], codebook, source="classifier.json")
    with pytest.raises(ConfigError) as error:
        check_auto_codes(["1_8_past_experience"], codebook, source="classifier.json")
    message = str(error.value)
    assert message.startswith("classifier.json: the run's auto-codes use 1 code id")
    assert "'1_8_past_experience'" in message and "--refit-codes" in message


def test_intervals_of_each_code_are_those_of_the_code_compared_alone():
    # every code's replicates come from one product over all codes: a code's
    # interval must not depend on the codes beside it
    rng = np.random.default_rng(4)
    n, k = 400, 3
    a = rng.random((n, k)) < [0.1, 0.3, 0.5]
    b = a ^ (rng.random((n, k)) < 0.15)
    documents = np.asarray([f"d{i // 4}" for i in range(n)], dtype=object)
    coded = {"ann": np.ones(n, bool), "auto": np.ones(n, bool)}
    together = compare_pair(
        UnitData("segments", ["x", "y", "z"], documents, {"ann": a, "auto": b}, coded),
        "ann",
        "auto",
        n_boot=200,
    )
    for j, code in enumerate(["x", "y", "z"]):
        alone = compare_pair(
            UnitData(
                "segments",
                [code],
                documents,
                {"ann": a[:, [j]], "auto": b[:, [j]]},
                coded,
            ),
            "ann",
            "auto",
            n_boot=200,
        )[0]
        assert {k: together[j][k] for k in alone if k != "flag"} == {
            k: v for k, v in alone.items() if k != "flag"
        }


def test_intervals_are_the_same_whatever_the_bootstrap_chunk(monkeypatch):
    # replicates are drawn and multiplied out a chunk at a time, never held
    # whole: the chunk's size must change no figure
    rng = np.random.default_rng(5)
    n = 600
    a = rng.random((n, 2)) < [0.2, 0.4]
    b = a ^ (rng.random((n, 2)) < 0.2)
    documents = np.asarray([f"d{i // 3}" for i in range(n)], dtype=object)
    data = UnitData(
        "segments",
        ["x", "y"],
        documents,
        {"ann": a, "auto": b},
        {"ann": np.ones(n, bool), "auto": np.ones(n, bool)},
    )
    whole = compare_pair(data, "ann", "auto", n_boot=300, random_state=2)
    monkeypatch.setattr("pipeline.agreement.bootstrap.BOOT_CHUNK", 7)
    chunked = compare_pair(data, "ann", "auto", n_boot=300, random_state=2)
    assert chunked == whole
    no_replicates = compare_pair(data, "ann", "auto", n_boot=0)[0]
    assert no_replicates["kappa"] == whole[0]["kappa"]
    assert np.isnan(no_replicates["kappa_low"]) and np.isnan(
        no_replicates["kappa_high"]
    )


def test_code_names_are_categories_sorted_by_name_as_pandas_sorts_them():
    import pandas as pd

    from pipeline.agreement.compare import with_code_names

    table = pd.DataFrame({"code": ["b", "a", "c", "b", "z"] * 3})
    names = {"a": "Zebra", "b": "Apple", "c": "Mango"}
    named = with_code_names(table, names)
    expected = table["code"].map(names).fillna(table["code"]).astype("category")
    pd.testing.assert_series_equal(named["code_name"], expected.rename("code_name"))
    assert list(named["code_name"].cat.categories) == ["Apple", "Mango", "Zebra", "z"]
