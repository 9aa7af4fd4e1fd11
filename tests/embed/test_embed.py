from __future__ import annotations

import numpy as np
import pytest

from pipeline.config.analysis import EmbedConfig
from pipeline.embed.cache import MemoryCache, embed_texts
from pipeline.embed.encoders import HashingEmbedder
from pipeline.embed.model_files import resolve_model
from pipeline.embed.registry import make_embedder
from pipeline.errors import ConfigError, ModelError
from pipeline.store.cache_keys import text_key
from pipeline.store.database import ResultsStore


class CountingEmbedder(HashingEmbedder):
    """A hashing embedder that remembers what it was asked to embed."""

    def __init__(self):
        super().__init__(32)
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return super().embed(texts)


def test_hashing_embedder_is_deterministic_and_unit_length():
    embedder = HashingEmbedder(64)
    first = embedder.embed(["the ward was busy", "", "the ward was busy"])
    again = HashingEmbedder(64).embed(["the ward was busy", "", "the ward was busy"])
    assert first.dtype == np.float32 and first.shape == (3, 64)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(first[0], first[2])


def test_identical_texts_are_embedded_once_within_a_run():
    embedder = CountingEmbedder()
    result = embed_texts(["a b", "a  b", "c", "a b"], embedder, cache=MemoryCache())
    assert (result.n_texts, result.n_unique, result.n_embedded) == (4, 2, 2)
    assert sum(len(call) for call in embedder.calls) == 2
    np.testing.assert_array_equal(result.vectors[0], result.vectors[1])


def test_rerun_embeds_only_new_texts(tmp_path):
    cache = ResultsStore(tmp_path / "themes.duckdb")
    embedder = CountingEmbedder()
    first = embed_texts(["one", "two"], embedder, cache=cache)
    assert (first.n_cached, first.n_embedded) == (0, 2)
    embedder.calls.clear()
    second = embed_texts(["two", "three", "one"], embedder, cache=cache)
    assert (second.n_cached, second.n_embedded) == (2, 1)
    assert embedder.calls == [["three"]]
    np.testing.assert_array_equal(second.vectors[0], first.vectors[1])
    nothing_new = embed_texts(["one", "three"], embedder, cache=cache)
    assert nothing_new.n_embedded == 0


def test_cache_is_keyed_by_model(tmp_path):
    cache = ResultsStore(tmp_path / "themes.duckdb")
    embed_texts(["one"], HashingEmbedder(32), cache=cache)
    other = embed_texts(["one"], HashingEmbedder(64), cache=cache)
    assert other.n_embedded == 1 and other.vectors.shape == (1, 64)


def test_cached_vectors_round_trip_exactly(tmp_path):
    cache = ResultsStore(tmp_path / "themes.duckdb")
    vectors = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    keys = [text_key(str(i)) for i in range(5)]
    cache.put_embeddings("m", keys, vectors)
    found = cache.get_embeddings("m", keys[::-1] + ["missing"])
    assert set(found) == set(keys)
    np.testing.assert_array_equal(np.stack([found[k] for k in keys]), vectors)


def test_wrong_shape_from_embedder_is_an_error():
    class Broken(HashingEmbedder):
        def embed(self, texts):
            return np.zeros((1, self.dimension), dtype=np.float32)

    with pytest.raises(ModelError, match="returned shape"):
        embed_texts(["a", "b"], Broken(8))


def test_empty_input():
    result = embed_texts([], HashingEmbedder(8))
    assert result.vectors.shape == (0, 8)


def test_unknown_model_name_without_downloads_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(ConfigError, match="allow_download"):
        resolve_model("someone/some-model", allow_download=False)


def test_offline_is_enforced_unless_downloads_are_allowed(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    make_embedder(EmbedConfig(backend="hashing"))
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.slow
def test_packaged_model_loads_offline():
    model = resolve_model("all-MiniLM-L6-v2", allow_download=False)
    assert (model.path / "config.json").is_file()
    embedder = make_embedder(EmbedConfig(backend="sentence-transformers"))
    vectors = embedder.embed(["The matron sorted out the beds."])
    assert vectors.shape == (1, 384)
    assert embedder.model_id.startswith("all-MiniLM-L6-v2@")


@pytest.mark.slow
def test_onnx_export_gives_the_same_vectors_as_sentence_transformers(onnx_cache):
    texts = [
        "I learnt the job by doing it.",
        "Nobody trained me; you just get on with it and hope.",
        "The consultants call us the suits.",
        "x",
        "A much longer answer about the regional leadership programme " * 20,
    ]
    torch_vectors = make_embedder(EmbedConfig(backend="sentence-transformers")).embed(
        texts
    )
    onnx = make_embedder(
        EmbedConfig(backend="onnx", onnx_cache_dir=onnx_cache, batch_size=2)
    )
    assert onnx.model_id.endswith("/onnx")
    onnx_vectors = onnx.embed(texts)
    cosine = (torch_vectors * onnx_vectors).sum(axis=1)
    assert cosine.min() > 0.9999
    int8 = make_embedder(EmbedConfig(backend="onnx-int8", onnx_cache_dir=onnx_cache))
    assert "/onnx-int8-sq." in int8.model_id  # never the fp32 vectors' id
    assert (torch_vectors * int8.embed(texts)).sum(axis=1).min() > 0.99
    assert (onnx_cache / "all-MiniLM-L6-v2@0.1.0" / "model.onnx").is_file()


@pytest.mark.slow
def test_a_batch_of_long_texts_runs_in_slices_with_the_same_vectors(
    onnx_cache, monkeypatch
):
    import numpy as np

    from pipeline.embed import onnx_runtime
    from pipeline.embed.tokenizer import tokenize_batch

    texts = [
        f"answer {i} about the leadership programme " * (1 + 9 * i) for i in range(7)
    ]
    onnx = make_embedder(EmbedConfig(backend="onnx", onnx_cache_dir=onnx_cache))
    whole = onnx.embed(texts)  # one pass of 7 rows
    length = tokenize_batch(onnx.tokenizer, texts)["input_ids"].shape[1]
    assert length == 256  # MiniLM's longest (the longest text is cut there)
    runs = []
    run = onnx.session.run
    monkeypatch.setattr(
        onnx.session, "run", lambda *a: runs.append(len(a[1]["input_ids"])) or run(*a)
    )
    # 7 rows x 256^2 is over this bound: slices of 2 rows
    monkeypatch.setattr(onnx_runtime, "ATTENTION_ROWS_X_LENGTH2", 2 * length**2)
    sliced = onnx.embed(texts)
    assert runs == [2, 2, 2, 1]
    np.testing.assert_array_equal(sliced, whole)


def test_onnx_tokenizer_gives_what_auto_tokenizer_gives():
    import numpy as np
    from transformers import AutoTokenizer

    from pipeline.embed.tokenizer import load_tokenizer

    folder = resolve_model("all-MiniLM-L6-v2", allow_download=False).path
    texts = [
        "I learnt the job by doing it.",
        "Café naïve, ÉCOLE 😀 ﬁne — Dr. O'Neill's A&E\ttab\nnew line",
        "",
        "   ",
        "a much longer answer " * 200,  # past max_seq_length: truncated alike
    ]
    expected = AutoTokenizer.from_pretrained(str(folder))(
        texts, padding=True, truncation=True, max_length=256, return_tensors="np"
    )
    ours = load_tokenizer(folder).encode_batch(texts)
    np.testing.assert_array_equal([e.ids for e in ours], expected["input_ids"])
    np.testing.assert_array_equal(
        [e.attention_mask for e in ours], expected["attention_mask"]
    )
    np.testing.assert_array_equal(
        [e.type_ids for e in ours], expected["token_type_ids"]
    )


def test_caching_embedder_loads_the_model_only_for_texts_not_cached(monkeypatch):
    import numpy as np

    from pipeline.embed import cache as embed
    from pipeline.embed.cache import CachingEmbedder, MemoryCache

    config = EmbedConfig(backend="hashing")
    loads = []
    real = embed.cached_embedder

    def counting(config):
        loads.append(config)
        return real(config)

    monkeypatch.setattr(embed, "cached_embedder", counting)
    cache = MemoryCache()
    caching = CachingEmbedder(config, cache)
    texts = ["a prototype", "another one", "a prototype"]
    first = caching.embed(texts)
    assert len(loads) == 1
    np.testing.assert_array_equal(first, real(config).embed(texts))
    again = CachingEmbedder(config, cache).embed(texts)
    assert len(loads) == 1  # all cached: no model
    np.testing.assert_array_equal(again, first)
