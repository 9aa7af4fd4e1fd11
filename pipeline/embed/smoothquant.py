"""SmoothQuant int8: the calibrated int8 graph of the ``onnx-int8`` backend.

Dynamic int8 quantises each activation per tensor, so a few input channels
with large values (outliers that transformer activations always have) take
the whole 8-bit range and the other channels lose their resolution.
SmoothQuant (Xiao et al., 2023) moves part of that range into the weights,
which are quantised per channel and do not mind. For each weight MatMul
``Y = X W`` and each input channel ``j``::

    s_j = max|X_j| ** alpha / max|W_j| ** (1 - alpha)
    Y = (X / s) (diag(s) W)

which is the same product (an identity, up to float rounding). ``max|X_j|`` is
measured by running the fp32 graph on calibration text shipped with the
project (``calibration.txt``, in-domain sentences), with the MatMul inputs
added as graph outputs. The weight rows are scaled by ``s``; ``1 / s`` is
folded into the producing LayerNorm's gamma and beta when the LayerNorm feeds
nothing else, and otherwise applied by a ``Mul`` inserted before the MatMuls
(BERT and MPNet normalise after the residual, so their LayerNorm outputs also
feed the next residual ``Add`` and take the ``Mul``). Then onnxruntime's
``quantize_dynamic`` (int8 weights per channel) quantises every weight MatMul
except those of the first ``skip_layers`` layers and those named by
``fp32_nodes``, the most sensitive. A ``fused`` recipe starts from the graph
fused by onnxruntime's transformer optimizer (:mod:`pipeline.embed.fused_graph`),
where a layer's Q, K and V projections are one ``Attention`` node, smoothed
and quantised (``QAttention``) like a MatMul.

The settings per model are in :data:`MODEL_SETTINGS`, chosen by measurement
(``benchmarks/README.md``, "Embeddings and the fast CPU path").
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from pipeline.store.cache_keys import smoothquant_recipe_key

logger = logging.getLogger(__name__)

QUANTISER_VERSION = 1
"""Bump when the recipe below changes: it is part of every int8 key."""
CALIBRATION_FILE = Path(__file__).with_name("calibration.txt")
_LAYER = re.compile(r"layer\.(\d+)[./]")


@dataclass(frozen=True, slots=True)
class SmoothQuantSettings:
    """How a model's int8 graph is made.

    Attributes:
        alpha: Migration strength: 0 leaves the activations alone, 1 moves all
            of their range into the weights.
        skip_layers: The first this many encoder layers stay fp32.
        fused: Start from the graph fused by onnxruntime's transformer
            optimizer (:mod:`pipeline.embed.fused_graph`), whose attention
            projections are smoothed and quantised as one ``Attention`` node.
        fp32_nodes: Regular expressions: weight nodes whose name matches one
            stay fp32 (the few most sensitive MatMuls).
    """

    alpha: float = 0.7
    skip_layers: int = 3
    fused: bool = False
    fp32_nodes: tuple[str, ...] = ()


MODEL_SETTINGS: dict[str, SmoothQuantSettings] = {
    # fused; every weight product int8 but the second FFN MatMul of layers
    # 0-2 (its input is GELU's output, with the largest outliers)
    "all-MiniLM-L6-v2": SmoothQuantSettings(
        alpha=0.7,
        skip_layers=0,
        fused=True,
        fp32_nodes=(r"/layer\.[0-2]/output/dense/MatMul",),
    ),
    # the best of those tried, and still short of a minimum cosine of 0.99
    "all-mpnet-base-v2": SmoothQuantSettings(alpha=0.85, skip_layers=3),
}
"""Measured settings per model (``benchmarks/README.md``); other models get
:data:`DEFAULT_SETTINGS`."""
DEFAULT_SETTINGS = SmoothQuantSettings()


@dataclass(frozen=True, slots=True)
class WeightMatMul:
    """A MatMul by a constant weight matrix: the ones int8 quantises.

    Attributes:
        node: The node's name.
        activation: The name of its input activation.
        weight: The name of its ``(in, out)`` weight initializer.
        layer: Its encoder layer, or None outside the layers.
    """

    node: str
    activation: str
    weight: str
    layer: int | None


def settings_for(model_name: str) -> SmoothQuantSettings:
    """The int8 settings of a model (by its name), or the defaults."""
    return MODEL_SETTINGS.get(model_name, DEFAULT_SETTINGS)


def read_calibration_texts(path: Path = CALIBRATION_FILE) -> list[str]:
    """The calibration texts: one a line, ``#`` lines and blank lines left out."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


_VNNI_FLAGS = {"avx512_vnni", "avx_vnni", "amx_int8"}


def int8_products_saturate(
    machine: str | None = None, cpuinfo: str | None = None
) -> bool:
    """Whether this CPU's int8 products can saturate: x86 without VNNI.

    There onnxruntime multiplies uint8 activations by int8 weights with
    ``vpmaddubsw``, which adds each pair of products in 16 bits and
    saturates: an AMD EPYC with AVX2 only gave a minimum cosine of 0.93-0.96
    to the fp32 vectors where VNNI machines gave 0.99 (7-bit weights,
    ``reduce_range``: 0.987). With uint8 weights onnxruntime widens both
    sides to 16 bits first (0.992 there, 1.28x fp32 instead of about 2x).
    Other architectures (ARM's dot-product instructions) and x86
    with VNNI add in 32 bits. An x86 machine whose flags cannot be read is
    taken to saturate.

    Args:
        machine: The architecture (default: ``platform.machine()``).
        cpuinfo: The text of ``/proc/cpuinfo`` (default: read it).
    """
    import platform

    machine = (machine or platform.machine()).lower()
    if machine not in {"x86_64", "amd64", "i386", "i686", "x86"}:
        return False
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return True
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return not (_VNNI_FLAGS & set(line.split(":", 1)[1].split()))
    return True


def recipe_key(settings: SmoothQuantSettings, texts: Iterable[str]) -> str:
    """What makes an int8 graph, apart from the fp32 graph it starts from.

    The settings, the calibration texts, :data:`QUANTISER_VERSION`, the
    onnxruntime version (its quantiser and its transformer optimizer) and,
    on a CPU whose int8 products saturate, the 7-bit weights made for it.
    """
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
    quantiser = f"{QUANTISER_VERSION}/onnxruntime-{version('onnxruntime')}"
    if settings.fused or settings.fp32_nodes:
        # only then: the keys (and graphs) of unfused recipes stay as they were
        quantiser += f"/fused={settings.fused}/fp32={'|'.join(settings.fp32_nodes)}"
    if int8_products_saturate():
        quantiser += "/uint8-weights"
    return smoothquant_recipe_key(
        alpha=settings.alpha,
        skip_layers=settings.skip_layers,
        calibration_sha256=digest,
        quantiser=quantiser,
    )


def find_weight_matmuls(model) -> list[WeightMatMul]:
    """The products of ``model`` (an ``onnx.ModelProto``) by a 2-D constant weight.

    ``MatMul`` nodes, and the ``Attention`` nodes of a fused graph (their
    second input is the Q, K and V weights side by side, ``(in, 3 * out)``).
    """
    shapes = {init.name: tuple(init.dims) for init in model.graph.initializer}
    found = []
    for node in model.graph.node:
        if (
            node.op_type in ("MatMul", "Attention")
            and len(node.input) > 1
            and len(shapes.get(node.input[1], ())) == 2
        ):
            # a fused node's name has no layer; its output's name keeps it
            match = _LAYER.search(node.name) or _LAYER.search(node.output[0])
            layer = int(match.group(1)) if match else None
            found.append(WeightMatMul(node.name, node.input[0], node.input[1], layer))
    return found


def collect_activation_maxima(
    model, feeds: Iterable[Mapping[str, np.ndarray]], activations: Collection[str]
) -> dict[str, np.ndarray]:
    """The largest absolute value of each channel of some activations.

    Runs the fp32 graph with the activations added as outputs; padded tokens
    (``attention_mask`` 0) are left out.

    Args:
        model: The fp32 ``onnx.ModelProto`` (not changed).
        feeds: Batches of graph inputs, each with an ``attention_mask``.
        activations: Names of the activations, each ``(batch, tokens, channels)``.

    Returns:
        Per activation, its per-channel maximum ``(channels,)``.
    """
    import onnx  # heavy: kept out of start-up
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    names = sorted(activations)
    for name in names:
        probe.graph.output.append(
            onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
        )
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    inputs = {i.name for i in session.get_inputs()}
    maxima: dict[str, np.ndarray] = {}
    for feed in feeds:
        kept = feed["attention_mask"].astype(bool)
        outputs = session.run(names, {k: v for k, v in feed.items() if k in inputs})
        for name, value in zip(names, outputs, strict=True):
            batch_max = np.abs(value[kept]).max(axis=0)
            maxima[name] = np.maximum(maxima.get(name, batch_max), batch_max)
    return maxima


def smoothing_scale(
    maxima: np.ndarray, weights: Sequence[np.ndarray], alpha: float
) -> np.ndarray:
    """``s_j = max|X_j| ** alpha / max|W_j| ** (1 - alpha)``, over all ``weights``."""
    weight_max = np.max([np.abs(w).max(axis=1) for w in weights], axis=0)
    scale = np.clip(maxima, 1e-5, None) ** alpha / np.clip(weight_max, 1e-5, None) ** (
        1 - alpha
    )
    return np.clip(scale, 1e-5, 1e5).astype(np.float32)


def smooth_model(
    model,
    maxima: Mapping[str, np.ndarray],
    *,
    alpha: float,
    nodes: Collection[str],
):
    """A copy of ``model`` with the inputs of some weight MatMuls smoothed.

    The copy computes the same function (up to float rounding).

    Args:
        model: The fp32 ``onnx.ModelProto`` (not changed).
        maxima: Per-channel maxima of the MatMuls' input activations.
        alpha: Migration strength.
        nodes: Names of the weight MatMuls to smooth.

    Returns:
        The smoothed ``onnx.ModelProto``.
    """
    import onnx  # heavy: kept out of start-up
    from onnx import numpy_helper

    smoothed = onnx.ModelProto()
    smoothed.CopyFrom(model)
    graph = smoothed.graph
    initializers = {init.name: init for init in graph.initializer}
    uses: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            uses.setdefault(name, []).append(node)
    groups: dict[str, list[WeightMatMul]] = {}
    for matmul in find_weight_matmuls(smoothed):
        if matmul.node in nodes:
            groups.setdefault(matmul.activation, []).append(matmul)
    producers = {out: node for node in graph.node for out in node.output}
    new_nodes: dict[str, object] = {}  # first consumer's name -> the Mul before it
    for activation, members in groups.items():
        weights = [numpy_helper.to_array(initializers[m.weight]) for m in members]
        scale = smoothing_scale(maxima[activation], weights, alpha)
        for member, weight in zip(members, weights, strict=True):
            # a weight shared with another node gets its own copy
            name = f"{member.weight}_smoothed_{len(initializers)}"
            graph.initializer.append(
                numpy_helper.from_array(weight * scale[:, None], name)
            )
            initializers[name] = graph.initializer[-1]
            node = next(n for n in uses[member.weight] if n.name == member.node)
            node.input[1] = name
        producer = producers.get(activation)
        member_names = {m.node for m in members}
        if (
            producer is not None
            and producer.op_type == "LayerNormalization"
            and {n.name for n in uses[activation]} == member_names
            and all(i in initializers for i in producer.input[1:3])
        ):
            for index in (1, 2):  # gamma, beta: own copies as well
                value = numpy_helper.to_array(initializers[producer.input[index]])
                name = f"{producer.input[index]}_smoothed_{len(initializers)}"
                graph.initializer.append(numpy_helper.from_array(value / scale, name))
                initializers[name] = graph.initializer[-1]
                producer.input[index] = name
            continue
        inverse = f"{activation}_smooth_inverse"
        graph.initializer.append(numpy_helper.from_array(1 / scale, inverse))
        smoothed_name = f"{activation}_smoothed"
        first = next(n for n in graph.node if n.name in member_names)
        new_nodes[first.name] = onnx.helper.make_node(
            "Mul", [activation, inverse], [smoothed_name], name=f"{activation}_smooth"
        )
        for node in uses[activation]:
            if node.name in member_names:
                node.input[0] = smoothed_name
    ordered = []
    for node in graph.node:
        if node.name in new_nodes:
            ordered.append(new_nodes[node.name])
        ordered.append(node)
    del graph.node[:]
    graph.node.extend(ordered)
    return smoothed


def quantize_smoothed(
    fp32_path: Path,
    out_path: Path,
    *,
    feeds: Iterable[Mapping[str, np.ndarray]],
    settings: SmoothQuantSettings,
) -> Path:
    """Write the calibrated int8 graph of an fp32 graph.

    Args:
        fp32_path: The fp32 ONNX graph.
        out_path: Where to write the int8 graph (atomically).
        feeds: Calibration batches (tokenised calibration text).
        settings: Migration strength and the layers kept fp32.

    Returns:
        ``out_path``.
    """
    import onnx  # heavy: kept out of start-up
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(fp32_path))
    matmuls = find_weight_matmuls(model)
    kept = {
        m.node
        for m in matmuls
        if (m.layer is not None and m.layer < settings.skip_layers)
        or any(re.search(pattern, m.node) for pattern in settings.fp32_nodes)
    }
    quantised = [m for m in matmuls if m.node not in kept]
    nodes = {m.node for m in quantised}
    maxima = collect_activation_maxima(model, feeds, {m.activation for m in quantised})
    smoothed = smooth_model(model, maxima, alpha=settings.alpha, nodes=nodes)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        smoothed_path = Path(tmp) / "smoothed.onnx"
        onnx.save(smoothed, str(smoothed_path))
        tmp_path = Path(tmp) / "model.int8.onnx"
        quantize_dynamic(
            str(smoothed_path),
            str(tmp_path),
            # uint8 weights where int8 products saturate: onnxruntime then
            # widens to 16 bits before multiplying, and keeps 8-bit weights
            weight_type=QuantType.QUInt8
            if int8_products_saturate()
            else QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Attention"],
            nodes_to_exclude=sorted(kept),
            # shape inference cannot type the outputs of a fused graph's
            # contrib ops (SkipLayerNormalization, BiasGelu): they are float
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        os.replace(tmp_path, out_path)
    logger.info(
        "embed: int8 graph with %d of %d weight MatMuls quantised (alpha %.2f)",
        len(quantised),
        len(matmuls),
        settings.alpha,
    )
    return out_path
