from __future__ import annotations

import dataclasses
import sys
import types

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from pipeline.coding.codebook import load_codebook
from pipeline.coding.cross_validation import cross_validate
from pipeline.coding.features import FeatureBuilder
from pipeline.coding.folds import grouped_folds
from pipeline.coding.keywords import keyword_hits, keyword_trained_scores
from pipeline.coding.multilabel import best_threshold, decide
from pipeline.coding.prototypes import PrototypeClassifier
from pipeline.coding.saved_coding import SavedCoding, score_with_saved_coding
from pipeline.coding.supervised import SupervisedClassifier
from pipeline.coding.train import train_supervised
from pipeline.coding.trained_model import (
    CLASSIFIER_FILE,
    TrainedModel,
    load_model,
    save_model,
)
from pipeline.coding.zeroshot import ZeroShotCoder
from pipeline.config.analysis import ClassifyConfig
from pipeline.embed.encoders import HashingEmbedder
from tests.conftest import DATA

MINI = DATA / "codebooks" / "mini.yaml"


# ZeroShotCoder is not checked: it is fitted on segment texts (keyword
# matching) with a codebook and an embedder, not on a numeric X and y; its
# learned part, the PrototypeClassifier, is checked here.
@parametrize_with_checks(
    [PrototypeClassifier(), SupervisedClassifier(cv=2), FeatureBuilder()],
    expected_failed_checks=lambda estimator: (
        {
            "check_class_weight_classifiers": (
                "class weights apply per code (one-vs-rest): only 'balanced' or None"
            )
        }
        if isinstance(estimator, SupervisedClassifier)
        else {}
    ),
)
def test_coders_pass_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def clustered(n_per_code: int = 30, n_codes: int = 3, dim: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_codes, dim)) * 3
    labels = np.repeat(np.arange(n_codes), n_per_code)
    X = centers[labels] + rng.standard_normal((len(labels), dim))
    Y = np.eye(n_codes, dtype=int)[labels]
    return X, Y, centers


def test_prototype_classifier_codes_segments_near_their_prototypes():
    X, Y, centers = clustered()
    prototypes = centers + np.random.default_rng(1).standard_normal(centers.shape) * 0.1
    classifier = PrototypeClassifier(threshold=0.5).fit(
        np.repeat(prototypes, 2, axis=0), np.repeat(np.eye(3, dtype=int), 2, axis=0)
    )
    predicted = classifier.predict(X)
    assert predicted.shape == Y.shape
    assert (predicted == Y).all(axis=1).mean() > 0.9
    scores = classifier.score_codes(X)
    assert scores.shape == Y.shape and (scores <= 1.0 + 1e-9).all()


def test_prototype_thresholds_are_chosen_per_code_from_the_codebook():
    X, Y, centers = clustered(n_per_code=6)
    classifier = PrototypeClassifier().fit(X, Y)
    assert classifier.thresholds_.shape == (3,)
    assert ((classifier.thresholds_ >= 0.3) & (classifier.thresholds_ <= 0.7)).all()


def test_decisions_allow_abstention_and_cap_labels():
    scores = np.array([[0.9, 0.88, 0.87, 0.1], [0.2, 0.1, 0.15, 0.05]])
    decisions = decide(scores, np.full(4, 0.5), margin=0.1, max_labels=2)
    assert decisions.tolist() == [[True, True, False, False], [False] * 4]


def test_zero_shot_coder_from_a_codebook_keeps_scores_and_uses_keywords():
    codebook = load_codebook(MINI)
    texts = [
        "I did the leadership programme and an MBA course",
        "honestly it is lonely, I am on my own",
        "xyzzy plugh frobnicate",
    ]
    embeddings = HashingEmbedder(128).embed(texts)
    coder = ZeroShotCoder.from_config(codebook, HashingEmbedder(128), ClassifyConfig())
    unfitted = dict(vars(coder))
    assert coder.fit(texts, embeddings) is coder
    assert coder.codes_ == ["experience", "courses", "isolation"]
    scores = coder.fit_scores_
    decisions = coder.decide(scores)
    # score and decide change nothing, and score what fit saw the same way
    before = {k: v for k, v in vars(coder).items() if not k.endswith("_")}
    np.testing.assert_allclose(coder.score(texts, embeddings), scores)
    assert {k: v for k, v in vars(coder).items() if not k.endswith("_")} == before
    assert before == unfitted  # fit set only attributes ending in "_"
    assert scores.shape == decisions.shape == (3, 3)
    assert decisions[0, 1] and decisions[1, 2]
    assert not decisions[2].any(), "unrelated text should get no code"
    hits = keyword_hits(texts, codebook, coder.codes_)
    assert hits[0].tolist() == [False, True, False] and hits[1].tolist() == [
        False,
        False,
        True,
    ]


def test_grouped_folds_never_put_a_document_in_train_and_test():
    groups = np.repeat([f"doc{i}" for i in range(7)], [5, 1, 9, 3, 4, 6, 2])
    for train, test in grouped_folds(groups, 5):
        assert not set(groups[train]) & set(groups[test])
    assert len(grouped_folds(groups, 20)) == 7


def test_cross_validation_leaks_no_document(monkeypatch):
    """Fails if any fit ever sees a document it is then asked to predict."""
    X, Y, _ = clustered(n_per_code=20)
    groups = np.repeat(np.arange(12), 5)
    seen_in_training: list[set] = []
    original_fit = SupervisedClassifier.fit

    def spying_fit(self, X_train, y_train, *, groups=None):
        seen_in_training.append(set(groups.tolist()))
        return original_fit(self, X_train, y_train, groups=groups)

    monkeypatch.setattr(SupervisedClassifier, "fit", spying_fit)
    predicted_groups: list[set] = []
    original_score = SupervisedClassifier.score_codes

    def spying_score(self, X_test):
        index = [int(np.flatnonzero((X == row).all(axis=1))[0]) for row in X_test]
        predicted_groups.append(set(groups[index].tolist()))
        return original_score(self, X_test)

    monkeypatch.setattr(SupervisedClassifier, "score_codes", spying_score)
    cross_validate([""] * len(X), X, Y.astype(bool), groups, ClassifyConfig(cv_folds=4))
    assert len(seen_in_training) == len(predicted_groups) == 4
    for trained, predicted in zip(seen_in_training, predicted_groups, strict=True):
        assert not trained & predicted


def test_supervised_thresholds_per_code_and_rare_codes_not_trained():
    X, Y, _ = clustered(n_per_code=25)
    rare = np.zeros((len(X), 1), dtype=int)
    rare[:3] = 1
    labels = np.hstack([Y, rare]).astype(bool)
    groups = np.arange(len(X)) // 5
    model = train_supervised(
        [""] * len(X),
        X,
        labels,
        ["a", "b", "c", "rare"],
        groups,
        ClassifyConfig(cv_folds=3, learning_curve=(0.5, 1.0)),
        segment_keys=[str(i) for i in range(len(X))],
    )
    assert model.codes == ["a", "b", "c"]
    reports = {r.code: r for r in model.reports}
    assert (
        not reports["rare"].trained
        and "not enough human examples (3 < 8)" in reports["rare"].reason
    )
    assert all(reports[c].kappa > 0.8 for c in "abc")
    assert model.classifier.thresholds_.shape == (3,)
    assert set(model.learning_curve["share"]) == {0.5, 1.0}
    assert list(model.oof.columns) == ["segment_key", "a", "b", "c"]


def test_saved_model_reloads_and_predicts_the_same(tmp_path):
    X, Y, _ = clustered(n_per_code=20)
    groups = np.arange(len(X)) // 4
    model = train_supervised(
        [""] * len(X),
        X,
        Y.astype(bool),
        ["a", "b", "c"],
        groups,
        ClassifyConfig(cv_folds=3, learning_curve=(1.0,)),
        segment_keys=[str(i) for i in range(len(X))],
    )
    model = dataclasses.replace(
        model, card={"name": "test", "codes": [r.__dict__ for r in model.reports]}
    )
    save_model(model, tmp_path / "model")
    again = load_model(tmp_path / "model")
    np.testing.assert_allclose(
        again.classifier.score_codes(X), model.classifier.score_codes(X)
    )
    assert again.codes == model.codes
    assert (tmp_path / "model" / "CARD.md").read_text().startswith("# test")


def test_feature_builder_joins_tfidf_words_to_embeddings_and_reloads_the_same(
    tmp_path,
):
    X, Y, _ = clustered(n_per_code=20)
    rng = np.random.default_rng(3)
    words = ["budget", "course", "rota", "team", "mentor", "money"]
    texts = [" ".join(rng.choice(words, 4)) for _ in range(len(X))]
    model = train_supervised(
        texts,
        X,
        Y.astype(bool),
        ["a", "b", "c"],
        np.arange(len(X)) // 4,
        ClassifyConfig(cv_folds=3, tfidf=True, learning_curve=(1.0,)),
        segment_keys=[str(i) for i in range(len(X))],
    )
    features = model.features.transform(X, texts=texts)
    assert model.features.n_features_in_ == X.shape[1] < features.shape[1]
    np.testing.assert_array_equal(features[:, : X.shape[1]].toarray(), X)
    save_model(model, tmp_path / "model")
    again = load_model(tmp_path / "model").features
    np.testing.assert_array_equal(
        again.transform(X, texts=texts).toarray(), features.toarray()
    )
    with pytest.raises(ValueError, match="needs the segments' texts"):
        again.transform(X)


def test_a_model_saved_before_its_classes_moved_is_a_clear_error(tmp_path, monkeypatch):
    from pipeline.errors import ModelError

    X, Y, _ = clustered(n_per_code=10)
    model = train_supervised(
        [""] * len(X),
        X,
        Y.astype(bool),
        ["a", "b", "c"],
        np.arange(len(X)) // 3,
        ClassifyConfig(cv_folds=2, learning_curve=(1.0,)),
        segment_keys=[str(i) for i in range(len(X))],
    )
    save_model(model, tmp_path / "model")
    # a pickle names each class by its module path; this one's has gone since
    moved = types.ModuleType("pipeline.gone")
    moved.FeatureBuilder = type("FeatureBuilder", (), {"__module__": "pipeline.gone"})
    monkeypatch.setitem(sys.modules, "pipeline.gone", moved)
    joblib.dump(
        {"classifier": model.classifier, "features": moved.FeatureBuilder()},
        tmp_path / "model" / CLASSIFIER_FILE,
    )
    monkeypatch.delitem(sys.modules, "pipeline.gone")
    with pytest.raises(ModelError, match="saved by another version of themes"):
        load_model(tmp_path / "model")


def test_trained_model_record_is_frozen():
    model = TrainedModel(SupervisedClassifier(), FeatureBuilder(), [], [], None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.card = {"name": "changed"}


def test_no_code_with_enough_examples_is_a_clear_error():
    from pipeline.errors import ModelError

    X, _, _ = clustered(n_per_code=5)
    labels = np.zeros((len(X), 2), dtype=bool)
    labels[0] = True
    with pytest.raises(ModelError, match="no code has at least 8 human examples"):
        train_supervised(
            [""] * len(X),
            X,
            labels,
            ["a", "b"],
            np.arange(len(X)),
            ClassifyConfig(),
            segment_keys=[str(i) for i in range(len(X))],
        )


def test_suggestions_are_uncoded_uncertain_and_diverse():
    import pyarrow as pa

    from pipeline.coding.suggest import suggest_segments

    rng = np.random.default_rng(0)
    n = 60
    embeddings = rng.standard_normal((n, 8))
    embeddings[30:] = embeddings[:30] + 1e-3  # near-duplicates of the first half
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    scores = np.column_stack([np.linspace(0, 1, n), np.full(n, 0.9)])
    thresholds = np.array([0.5, 0.5])
    coded = np.zeros(n, dtype=bool)
    coded[29] = coded[30] = True  # the most uncertain ones are already coded
    segments = pa.table(
        {
            "segment_id": [f"s{i}" for i in range(n)],
            "document_id": ["d"] * n,
            "start": list(range(n)),
            "end": list(range(1, n + 1)),
            "text": [f"text {i}" for i in range(n)],
            "question": [None] * n,
        }
    )
    table = suggest_segments(
        segments, embeddings, scores, thresholds, ["a", "b"], coded, n=5
    )
    assert len(table) == 5 and list(table["rank"]) == [1, 2, 3, 4, 5]
    assert not set(table["segment_id"]) & {"s29", "s30"}
    assert table["segment_id"].iloc[0] in {"s28", "s31"}, (
        "the most uncertain uncoded comes first"
    )
    picked = [int(s[1:]) for s in table["segment_id"]]
    assert len({i % 30 for i in picked}) == 5, "near-duplicates are not both suggested"
    assert set(table["uncertain_code"]) == {"a"}


def test_keyword_training_finds_segments_that_say_it_in_other_words():
    X, Y, _ = clustered(n_per_code=40)
    coded = Y.astype(bool)
    hits = np.zeros_like(coded)
    rng = np.random.default_rng(2)
    for j in range(coded.shape[1]):  # keywords occur in half of each code's segments
        hits[rng.choice(np.flatnonzero(coded[:, j]), 20, replace=False), j] = True
    groups = np.arange(len(X)) // 4
    probabilities, models = keyword_trained_scores(
        X, hits, groups=groups, min_positives=8
    )
    assert models.trained.all()
    from sklearn.metrics import roc_auc_score

    for j in range(
        coded.shape[1]
    ):  # unmatched segments of the code rank above the rest
        unmatched = coded[:, j] & ~hits[:, j]
        keep = unmatched | ~coded[:, j]
        assert roc_auc_score(unmatched[keep], probabilities[keep, j]) > 0.95
    assert (probabilities[~coded] < 0.8).mean() > 0.95
    few = hits.copy()
    few[:, 0] = False
    few[:3, 0] = True
    _, models = keyword_trained_scores(X, few, groups=groups, min_positives=8)
    assert models.trained.tolist() == [False, True, True]


def test_zero_shot_decisions_of_keyword_trained_codes_use_their_threshold():
    codebook = load_codebook(MINI)
    coder = ZeroShotCoder.from_config(
        codebook, HashingEmbedder(128), ClassifyConfig(min_examples=2)
    )
    texts = [
        "an MBA course",
        "a short course",
        "another course",
        "a course again",
    ] * 3 + [
        "lonely on my own",
        "weather today",
    ] * 6
    embeddings = HashingEmbedder(128).embed(texts)
    scores = coder.fit(texts, embeddings).fit_scores_
    assert coder.keyword_trained_.tolist() == [False, True, True]
    decisions = coder.decide(scores)
    courses = coder.codes_.index("courses")
    assert decisions[:12, courses].all()
    assert coder.thresholds_[courses] == ClassifyConfig().keyword_training_threshold


def test_zero_shot_coder_scores_and_decides_without_changing_itself():
    codebook = load_codebook(MINI)
    embedder = HashingEmbedder(128)
    texts = ["an MBA course", "a short course", "another course"] * 4 + [
        "lonely on my own",
        "weather today",
    ] * 6
    embeddings = embedder.embed(texts)
    coder = ZeroShotCoder.from_config(
        codebook, embedder, ClassifyConfig(min_examples=2)
    )
    with pytest.raises(NotFittedError):
        coder.score(texts, embeddings)
    settings = coder.get_params()
    assert coder.fit(texts, embeddings) is coder
    assert coder.get_params() == settings
    fitted = {
        name: (value, value.copy() if isinstance(value, np.ndarray) else None)
        for name, value in vars(coder).items()
    }
    coder.decide(coder.score(texts[:5], embeddings[:5]))
    assert vars(coder).keys() == fitted.keys()
    for name, (value, copy) in fitted.items():
        assert vars(coder)[name] is value
        if copy is not None:
            np.testing.assert_array_equal(value, copy)
    assert not hasattr(clone(coder), "codes_")


def test_saved_coding_keeps_earlier_scores_and_scores_only_new_segments(tmp_path):
    from pipeline.store.cache_keys import segment_digest

    codebook = load_codebook(MINI)
    embedder = HashingEmbedder(128)
    texts = [
        "an MBA course",
        "a short course",
        "another course",
        "a course again",
    ] * 6 + ["lonely on my own", "weather today"] * 12
    groups = [f"d{i % 8}" for i in range(len(texts))]
    keys = [f"k{i}" for i in range(len(texts))]
    embeddings = embedder.embed(texts)

    def coder():
        return ZeroShotCoder.from_config(
            codebook, embedder, ClassifyConfig(min_examples=2)
        )

    def score(n, **options):
        return score_with_saved_coding(
            coder(),
            texts[:n],
            embeddings[:n],
            groups=groups[:n],
            digests=segment_digest(groups[:n], keys[:n]),
            folder=tmp_path,
            **options,
        )

    first, how = score(40)
    assert how == {"action": "trained", "trained_on": 40, "scored": 40}
    saved = SavedCoding.load(tmp_path)
    assert saved.models.trained.any() and b"course" not in saved.keys.tobytes()

    again, how = score(48)  # 8 new segments: fewer than half of 40
    assert how == {"action": "reused", "trained_on": 40, "scored": 8}
    np.testing.assert_array_equal(again[:40], first)
    refitted = coder().fit(texts[:40], embeddings[:40], keyword_models=saved.models)
    expected = refitted.score(texts[40:48], embeddings[40:48])
    np.testing.assert_allclose(again[40:], expected)
    assert len(SavedCoding.load(tmp_path).keys) == 48
    unchanged, how = score(48)
    np.testing.assert_array_equal(unchanged, again)
    assert how["scored"] == 0

    _, how = score(48, update="refit")
    assert how == {"action": "trained", "trained_on": 48, "scored": 48}
    _, how = score(48, refit_growth=0.1)  # reused: nothing new
    assert how["action"] == "reused"


@pytest.mark.parametrize("metric", ["f1", "kappa"])
def test_best_threshold_equals_the_scikit_learn_metrics_loop(metric):
    from sklearn.metrics import cohen_kappa_score, f1_score

    grid = np.round(np.arange(0.3, 0.7 + 1e-9, 0.01), 2)
    rng = np.random.default_rng(4)
    for n in (5, 40, 300):
        truth = rng.random(n) < 0.3
        truth[0], truth[1] = True, False
        scores = np.clip(rng.normal(0.5, 0.15, n) + 0.1 * truth, 0, 1)
        values = [
            f1_score(truth, scores >= t, zero_division=0.0)
            if metric == "f1"
            else np.nan_to_num(cohen_kappa_score(truth, scores >= t))
            for t in grid
        ]
        best = int(np.argmax(values))  # the first of equal bests, as the loop keeps
        threshold, value = best_threshold(scores, truth, metric=metric, grid=grid)
        assert threshold == grid[best]
        assert value == pytest.approx(values[best], abs=1e-12)


class _DefinitionEmbedder:
    """Puts each code's definition on its own axis (for codebook prototypes)."""

    model_id = "test/definitions"

    def __init__(self, codebook, dimension: int = 128):
        self.axes = {
            text: j
            for j, code in enumerate(codebook.leaves())
            for text in codebook[code].prototype_texts()
        }
        self.dimension = dimension

    def embed(self, texts):
        vectors = np.zeros((len(texts), self.dimension))
        for i, text in enumerate(texts):
            vectors[i, self.axes[text]] = 1.0
        return vectors


def test_definitions_only_codes_get_thresholds_from_the_corpus(tmp_path):
    codebook_path = tmp_path / "definitions.yaml"
    codebook_path.write_text(
        "name: Definitions only\ncodes:\n"
        "  - {id: budgets, name: Budgets, definition: Money and spending.}\n"
        "  - {id: peers, name: Peers, definition: Colleagues at the same level.}\n"
        "  - {id: training, name: Training, definition: Courses and programmes.}\n"
    )
    codebook = load_codebook(codebook_path)
    rng = np.random.default_rng(0)
    # a sentence is only a little like its code's definition (cosine about 0.3),
    # as with real encoders; a fifth of the segments are about each code
    n, topic = 500, rng.integers(0, 5, size=500)
    vectors = rng.normal(size=(n, 128))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for j in range(3):
        vectors[topic == j, j] += 0.3
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [f"segment {i}" for i in range(n)]

    def fitted(z):
        return ZeroShotCoder.from_config(
            codebook,
            _DefinitionEmbedder(codebook),
            ClassifyConfig(keyword_training=False),
            corpus_threshold_z=z,
        ).fit(texts, vectors)

    fixed = fitted(None)
    assert fixed.classifier_.unchecked_.all()  # no examples to check a threshold on
    # the fixed default codes almost nothing
    assert fixed.decide(fixed.fit_scores_).any(axis=1).mean() < 0.05
    coder = fitted(1.5)
    adapted = coder.decide(coder.fit_scores_)
    share = adapted.any(axis=1).mean()
    assert 0.2 < share < 0.8
    for j in range(3):
        recall = adapted[topic == j, j].mean()
        false_alarms = adapted[topic >= 3, j].mean()
        assert recall > 0.5 and false_alarms < 0.15, (j, recall, false_alarms)
    assert not np.allclose(coder.thresholds_, 0.5)
    # codes with examples keep the thresholds chosen on their examples
    mini = load_codebook(MINI)
    words = HashingEmbedder(64).embed(texts[:50])

    def mini_coder(z):
        return ZeroShotCoder.from_config(
            mini, HashingEmbedder(64), ClassifyConfig(), corpus_threshold_z=z
        ).fit(texts[:50], words)

    checked, default = mini_coder(1.5), mini_coder(None)
    unchecked = checked.classifier_.unchecked_
    np.testing.assert_array_equal(
        checked.thresholds_[~unchecked], default.thresholds_[~unchecked]
    )


def test_a_coder_that_codes_almost_nothing_or_everything_is_flagged():
    from pipeline.coding.autocodes import _coverage_notes, share_coded

    none = np.zeros((200, 4), dtype=bool)
    none[0, 1] = True
    assert share_coded(none) == 0.005
    assert "only 0.5%" in _coverage_notes(none)[0]
    assert "almost everything" in _coverage_notes(np.ones((10, 2), dtype=bool))[0]
    some = np.zeros((10, 2), dtype=bool)
    some[:4, 0] = True
    assert _coverage_notes(some) == []
