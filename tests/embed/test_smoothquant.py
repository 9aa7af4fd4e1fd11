"""The calibrated int8 graph (SmoothQuant) of the ``onnx-int8`` backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from pipeline.config.analysis import EmbedConfig
from pipeline.embed import onnx_runtime
from pipeline.embed.fused_graph import scale_scores_by_division
from pipeline.embed.model_files import resolve_model
from pipeline.embed.onnx_runtime import OnnxEmbedder
from pipeline.embed.registry import embedder_id, make_embedder
from pipeline.embed.smoothquant import (
    SmoothQuantSettings,
    collect_activation_maxima,
    find_weight_matmuls,
    recipe_key,
    smooth_model,
)
from pipeline.embed.tokenizer import load_tokenizer, tokenize_batch

SENTENCES = Path(__file__).parents[1] / "data" / "embed" / "int8_sentences.txt"


def _tiny_graph(*, residual: bool) -> onnx.ModelProto:
    """LayerNorm -> two weight MatMuls (-> GELU-free second MatMul), seeded weights.

    With ``residual`` the LayerNorm output also feeds an ``Add`` (as in BERT),
    so smoothing needs a ``Mul``; without, it folds into gamma and beta.
    """
    rng = np.random.default_rng(0)
    channels = 8
    gamma = rng.uniform(0.5, 2.0, channels).astype(np.float32)
    gamma[3] = 40.0  # an outlier channel
    weights = {
        "gamma": gamma,
        "beta": rng.normal(size=channels).astype(np.float32),
        "w_q": rng.normal(size=(channels, 6)).astype(np.float32),
        "w_k": rng.normal(size=(channels, 6)).astype(np.float32),
        "w_out": rng.normal(size=(6, channels)).astype(np.float32),
    }
    nodes = [
        helper.make_node(
            "LayerNormalization", ["x", "gamma", "beta"], ["h"], name="/layer.0/ln"
        ),
        helper.make_node("MatMul", ["h", "w_q"], ["q"], name="/layer.0/q/MatMul"),
        helper.make_node("MatMul", ["h", "w_k"], ["k"], name="/layer.0/k/MatMul"),
        helper.make_node("Add", ["q", "k"], ["qk"], name="/layer.0/add"),
        helper.make_node("MatMul", ["qk", "w_out"], ["o"], name="/layer.1/o/MatMul"),
    ]
    output = "o"
    if residual:
        nodes.append(helper.make_node("Add", ["o", "h"], ["y"], name="/layer.1/res"))
        output = "y"
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None, channels])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
        [numpy_helper.from_array(value, name) for name, value in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("residual", [False, True])
def test_smoothing_computes_the_same_function(residual):
    model = _tiny_graph(residual=residual)
    x = np.random.default_rng(1).normal(size=(3, 5, 8)).astype(np.float32)
    matmuls = find_weight_matmuls(model)
    assert [m.layer for m in matmuls] == [0, 0, 1]
    feeds = [{"x": x, "attention_mask": np.ones((3, 5), dtype=np.int64)}]
    maxima = collect_activation_maxima(model, feeds, {m.activation for m in matmuls})
    smoothed = smooth_model(model, maxima, alpha=0.7, nodes={m.node for m in matmuls})
    np.testing.assert_allclose(_run(smoothed, x), _run(model, x), atol=1e-4)
    inserted = [node.op_type for node in smoothed.graph.node].count("Mul")
    # two activations smoothed: the LayerNorm output (a Mul only when it also
    # feeds the residual) and the Add before the last MatMul (always a Mul)
    assert inserted == (2 if residual else 1)
    assert len(model.graph.node) == 5 + residual  # the input graph is unchanged


def test_the_recipe_key_changes_with_alpha_layers_and_calibration_text():
    texts = ["one calibration sentence", "and another"]
    base = recipe_key(SmoothQuantSettings(alpha=0.7, skip_layers=3), texts)
    assert base == recipe_key(SmoothQuantSettings(alpha=0.7, skip_layers=3), texts)
    others = {
        recipe_key(SmoothQuantSettings(alpha=0.6, skip_layers=3), texts),
        recipe_key(SmoothQuantSettings(alpha=0.7, skip_layers=2), texts),
        recipe_key(SmoothQuantSettings(alpha=0.7, skip_layers=3), texts[:1]),
        recipe_key(SmoothQuantSettings(alpha=0.7, skip_layers=3, fused=True), texts),
        recipe_key(
            SmoothQuantSettings(alpha=0.7, skip_layers=3, fp32_nodes=("a",)), texts
        ),
        recipe_key(
            SmoothQuantSettings(alpha=0.7, skip_layers=3, fp32_nodes=("b",)), texts
        ),
    }
    assert base not in others and len(others) == 6


def test_int8_vectors_never_share_cache_entries_with_fp32_ones():
    fp32 = embedder_id(EmbedConfig(backend="onnx"))
    int8 = embedder_id(EmbedConfig(backend="onnx-int8"))
    assert fp32.endswith("/onnx")
    assert int8.startswith(fp32.removesuffix("onnx")) and "/onnx-int8-sq." in int8


@pytest.fixture()
def int8_cache(onnx_cache) -> Path:
    """MiniLM's fp32 export and int8 graph, shared by the embedding tests."""
    return onnx_cache


def _sentences() -> list[str]:
    lines = SENTENCES.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


@pytest.mark.slow
def test_int8_vectors_stay_close_to_fp32_vectors(int8_cache):
    texts = _sentences()
    fp32 = make_embedder(EmbedConfig(backend="onnx", onnx_cache_dir=int8_cache))
    int8 = make_embedder(EmbedConfig(backend="onnx-int8", onnx_cache_dir=int8_cache))
    assert int8.model_id == embedder_id(
        EmbedConfig(backend="onnx-int8", onnx_cache_dir=int8_cache)
    )
    cosine = (fp32.embed(texts) * int8.embed(texts)).sum(axis=1)
    assert cosine.min() >= 0.99


@pytest.mark.slow
def test_smoothing_the_real_model_alone_changes_nothing(int8_cache, tmp_path):
    model_dir = resolve_model("all-MiniLM-L6-v2", allow_download=False).path
    fp32 = next(int8_cache.glob("*/model.onnx"))
    model = onnx.load(str(fp32))
    matmuls = find_weight_matmuls(model)
    feeds = [tokenize_batch(load_tokenizer(model_dir), _sentences())]
    maxima = collect_activation_maxima(model, feeds, {m.activation for m in matmuls})
    smoothed = smooth_model(model, maxima, alpha=0.7, nodes={m.node for m in matmuls})
    smoothed_path = tmp_path / "smoothed.onnx"
    onnx.save(smoothed, str(smoothed_path))
    texts = _sentences()
    before = OnnxEmbedder(fp32, model_dir, model_id="fp32").embed(texts)
    after = OnnxEmbedder(smoothed_path, model_dir, model_id="smoothed").embed(texts)
    np.testing.assert_allclose(after, before, atol=1e-4)


def test_the_scores_scaling_mul_becomes_a_division():
    scale = numpy_helper.from_array(np.array(0.25, dtype=np.float32))
    nodes = [
        helper.make_node("Constant", [], ["c"], value=scale),
        helper.make_node("MatMul", ["q", "k"], ["s"]),
        helper.make_node("Mul", ["s", "c"], ["scaled"]),
        helper.make_node("Add", ["scaled", "mask"], ["y"]),
    ]
    spec = [None, 3, 3]
    graph = helper.make_graph(
        nodes,
        "scores",
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, spec)
            for name in ("q", "k", "mask")
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    rng = np.random.default_rng(0)
    feed = {
        n: rng.normal(size=(2, 3, 3)).astype(np.float32) for n in "q k mask".split()
    }

    def run(graph_model):
        session = ort.InferenceSession(
            graph_model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        return session.run(None, feed)[0]

    before = run(model)
    assert scale_scores_by_division(model) == 1
    assert [node.op_type for node in model.graph.node][2] == "Div"
    np.testing.assert_allclose(run(model), before, atol=1e-6)


@pytest.mark.slow
def test_minilm_int8_graph_is_fused_with_its_sensitive_matmuls_fp32(int8_cache):
    graph = onnx.load(str(next(int8_cache.glob("*/model.int8-sq-*.onnx"))))
    ops = [node.op_type for node in graph.graph.node]
    assert ops.count("QAttention") == 6 and "Attention" not in ops
    fp32 = sorted(
        node.name
        for node in graph.graph.node
        if node.op_type == "MatMul" and "/output/dense/" in node.name
    )
    # the second FFN MatMul of layers 0-2 only; every other product is int8
    assert fp32 == [f"/inner/encoder/layer.{i}/output/dense/MatMul" for i in range(3)]


@pytest.mark.slow
def test_the_int8_graph_is_built_once_and_reused(int8_cache, monkeypatch):
    graphs = list(int8_cache.glob("*/model.int8-sq-*.onnx"))
    assert len(graphs) == 1
    modified = graphs[0].stat().st_mtime_ns

    def refuse(*args, **kwargs):
        raise AssertionError("the int8 graph was made again")

    monkeypatch.setattr(onnx_runtime, "quantize_smoothed", refuse)
    make_embedder(EmbedConfig(backend="onnx-int8", onnx_cache_dir=int8_cache))
    assert graphs[0].stat().st_mtime_ns == modified


def test_another_recipe_makes_another_graph_in_place_of_the_old(tmp_path, monkeypatch):
    (tmp_path / "model.onnx").write_bytes(b"fp32 graph")
    old = tmp_path / "model.int8-sq-0123456789-abcdef012345.onnx"
    old.write_bytes(b"an int8 graph of another recipe")
    made = []
    monkeypatch.setattr(onnx_runtime, "load_tokenizer", lambda model_dir: None)
    monkeypatch.setattr(
        onnx_runtime, "fused_export", lambda model_dir, folder: folder / "fused.onnx"
    )
    monkeypatch.setattr(
        onnx_runtime,
        "quantize_smoothed",
        lambda fp32, out, **kwargs: made.append(out) or out.write_bytes(b"int8"),
    )
    path = onnx_runtime._int8_graph(
        tmp_path, tmp_path / "model.onnx", tmp_path, "all-MiniLM-L6-v2"
    )
    assert made == [path] and path.is_file() and not old.exists()
    again = onnx_runtime._int8_graph(
        tmp_path, tmp_path / "model.onnx", tmp_path, "all-MiniLM-L6-v2"
    )
    assert again == path and made == [path]  # reused, not made again


def test_int8_weights_are_unsigned_only_where_int8_products_saturate():
    from pipeline.embed.smoothquant import int8_products_saturate

    avx2 = "processor : 0\nflags : fpu sse2 avx avx2 fma\n"
    vnni = "processor : 0\nflags : fpu sse2 avx avx2 avx512f avx512_vnni\n"
    assert int8_products_saturate("x86_64", avx2)
    assert not int8_products_saturate("x86_64", vnni)
    assert not int8_products_saturate("x86_64", avx2.replace("fma", "avx_vnni"))
    assert not int8_products_saturate("aarch64", avx2)  # 32-bit dot products
    assert int8_products_saturate("AMD64", "")  # flags unknown: the safe side
