"""The fused fp32 graph the ``onnx-int8`` graph of a fused recipe starts from.

onnxruntime's transformer optimizer (``optimize_model``, ``model_type``
``bert``) fuses each layer's attention (the Q, K and V projections, the
scores, the mask and the softmax) into one ``Attention`` node, the residual
``Add`` and LayerNorm into ``SkipLayerNormalization``, bias and GELU into
``BiasGelu``, and the embeddings into ``EmbedLayerNormalization``. Fused, the
Q, K and V weights are one ``(hidden, 3 * hidden)`` matrix that int8 can
quantise at once (``QAttention``), and the graph has far fewer nodes to run.

The optimizer recognises attention only in the classic shape of the graph:
an additive mask ``(1 - mask) * -10000`` and scores divided by the square
root of the head size. The default export (:func:`export_model`) has neither
(transformers 5 builds its mask with ``Where`` and ``IsNaN`` and scales the
scores by a ``Mul``), so the graph fused here comes from its own export
(``fusable=True``: eager attention, the additive mask given to the model),
with the scaling ``Mul`` written as the equal ``Div``
(:func:`scale_scores_by_division`). It computes the same vectors as the plain
export (held-out cosine 1.0000; ``benchmarks/README.md``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def scale_scores_by_division(model) -> int:
    """Write each attention score's ``Mul`` by a constant as a ``Div``, in place.

    ``scores * c`` becomes ``scores / (1 / c)``: the same product up to float
    rounding, in the shape the optimizer's attention fusion looks for (it
    takes the first ``Mul`` feeding the mask's ``Add``, so a scaling ``Mul``
    beside the mask's own ``Mul`` hides the mask).

    Args:
        model: An ``onnx.ModelProto``, changed in place.

    Returns:
        How many ``Mul`` nodes were rewritten.
    """
    from onnx import numpy_helper  # heavy: kept out of start-up

    producers = {out: node for node in model.graph.node for out in node.output}
    consumers: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    n_rewritten = 0
    for node in model.graph.node:
        if node.op_type != "Mul" or len(node.input) != 2:
            continue
        scores, factor = producers.get(node.input[0]), producers.get(node.input[1])
        after = [c.op_type for c in consumers.get(node.output[0], [])]
        if (
            scores is None
            or scores.op_type != "MatMul"
            or factor is None
            or factor.op_type != "Constant"
            or after != ["Add"]
        ):
            continue
        value = numpy_helper.to_array(factor.attribute[0].t)
        if value.size != 1:
            continue
        divisor = numpy_helper.from_array(
            (1.0 / value).astype(np.float32), f"{node.input[1]}_divisor"
        )
        model.graph.initializer.append(divisor)
        node.op_type = "Div"
        node.input[1] = divisor.name
        n_rewritten += 1
    return n_rewritten


def fuse_graph(fusable: Path, out_path: Path, model_dir: Path) -> Path:
    """Fuse a fusable export with onnxruntime's transformer optimizer.

    Args:
        fusable: The graph exported with ``export_model(..., fusable=True)``.
        out_path: Where to write the fused graph.
        model_dir: The model folder (``config.json``: heads and hidden size).

    Returns:
        ``out_path``.
    """
    import onnx  # heavy: kept out of start-up
    from onnxruntime.transformers.optimizer import optimize_model

    model = onnx.load(str(fusable))
    scale_scores_by_division(model)
    config = json.loads((Path(model_dir) / "config.json").read_text("utf-8"))
    # opt_level 0: only the optimizer's own fusions; the session applies
    # onnxruntime's graph optimizations when it loads the graph
    fused = optimize_model(
        model,
        model_type="bert",
        num_heads=int(config["num_attention_heads"]),
        hidden_size=int(config["hidden_size"]),
        opt_level=0,
    )
    counts = fused.get_fused_operator_statistics()
    logger.info(
        "embed: fused %d attention, %d SkipLayerNormalization and %d BiasGelu nodes",
        counts.get("Attention", 0),
        counts.get("SkipLayerNormalization", 0),
        counts.get("BiasGelu", 0),
    )
    fused.save_model_to_file(str(out_path))
    return out_path
