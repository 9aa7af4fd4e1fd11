"""A fast CPU path for sentence-transformers models.

ONNX Runtime on an export of the local weights.

The transformer of a sentence-transformers model (a BERT-style encoder) is
exported once with ``torch.onnx.export`` from the local weights (no download),
kept under ``embed.onnx_cache_dir`` keyed by the model's version, and run with
``onnxruntime``. Pooling and normalisation are done here exactly as
sentence-transformers does them (mean over the attention mask, then L2), with
the same tokenizer, lower-casing and maximum length, so the fp32 graph gives
the same vectors as ``SentenceTransformer.encode``.

``quantized=True`` uses a calibrated int8 copy of the graph (SmoothQuant, then
dynamic int8 quantisation: :mod:`pipeline.embed.smoothquant`; for a ``fused``
recipe, of the graph fused by onnxruntime's transformer optimizer:
:mod:`pipeline.embed.fused_graph`), made once and
kept beside the fp32 export under a name keyed by the fp32 graph's hash and
the recipe (settings, calibration text, quantiser version); see
``benchmarks/README.md`` for the speed and fidelity measured.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.embed.base import BaseEmbedder
from pipeline.embed.fused_graph import fuse_graph
from pipeline.embed.smoothquant import (
    quantize_smoothed,
    read_calibration_texts,
    recipe_key,
    settings_for,
)
from pipeline.embed.tokenizer import (
    check_mean_pooling,
    hidden_size,
    load_tokenizer,
    tokenize_batch,
)
from pipeline.errors import ModelError
from pipeline.store.cache_keys import int8_graph_name, onnx_export_dir
from pipeline.store.checksums import (
    discard_folder,
    seal_folder,
    sealed_digest,
    verify_folder,
)

logger = logging.getLogger(__name__)

OPSET = 17


def export_model(model_dir: Path, out_path: Path, *, fusable: bool = False) -> Path:
    """Export a sentence-transformers model's encoder to ONNX (fp32).

    Args:
        model_dir: The local sentence-transformers model folder.
        out_path: Where to write ``model.onnx``.
        fusable: Export the shape onnxruntime's transformer optimizer can fuse
            (eager attention, an additive mask ``(1 - mask) * -10000``; see
            :mod:`pipeline.embed.fused_graph`); the same vectors.

    Returns:
        ``out_path``.

    Raises:
        ModelError: The model is not a transformer encoder that can be exported.
    """
    # heavy: kept out of start-up
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    encoder = model[0].auto_model.eval()
    if fusable:
        encoder.set_attn_implementation("eager")
    tokenizer = model.tokenizer
    sample = tokenizer(
        ["a sample sentence", "another one"], padding=True, return_tensors="pt"
    )
    # BERT-style encoders (MiniLM) take token type ids; MPNet and RoBERTa-style
    # ones have none (their forward rejects them): export only what the model
    # takes, and embed() feeds only the graph's inputs
    accepted = inspect.signature(encoder.forward).parameters
    names = [
        name
        for name in ("input_ids", "attention_mask", "token_type_ids")
        if name in sample and name in accepted
    ]
    inputs = tuple(sample[name] for name in names)

    class Encoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors):
            named = dict(zip(names, tensors, strict=True))
            if fusable:  # a 4-D mask is used as given, in the classic BERT shape
                mask = named["attention_mask"].unsqueeze(1).unsqueeze(2)
                named["attention_mask"] = (1.0 - mask.to(torch.float32)) * -10000.0
            return self.inner(**named).last_hidden_state

    out_path.parent.mkdir(parents=True, exist_ok=True)
    dynamic = {0: "batch", 1: "sequence"}
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        tmp_path = Path(tmp) / "model.onnx"
        try:
            with torch.no_grad(), warnings.catch_warnings():
                # tracing notes about Python control flow in the model: expected here
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                warnings.simplefilter("ignore", UserWarning)
                torch.onnx.export(
                    Encoder(encoder),
                    inputs,
                    str(tmp_path),
                    input_names=names,
                    output_names=["last_hidden_state"],
                    dynamic_axes={
                        **dict.fromkeys(names, dynamic),
                        "last_hidden_state": dynamic,
                    },
                    opset_version=OPSET,
                    dynamo=False,
                )
        except Exception as error:  # torch raises many types for unexportable models
            raise ModelError(
                f"could not export {model_dir} to ONNX "
                f"({type(error).__name__}: {error}); "
                "use embed.backend: sentence-transformers for this model"
            ) from error
        os.replace(tmp_path, out_path)
    return out_path


class OnnxEmbedder(BaseEmbedder):
    """A sentence-transformers model run with ONNX Runtime.

    Build it with :meth:`from_model`, which exports (and quantises) the model
    on first use and reuses the export afterwards.

    Args:
        onnx_path: The ONNX graph.
        model_dir: The sentence-transformers folder (tokenizer and pooling settings).
        model_id: The embedder's id for the cache.
        batch_size: Texts per forward pass.
        threads: ONNX Runtime intra-op threads (default: all cores).
    """

    def __init__(
        self,
        onnx_path: Path,
        model_dir: Path,
        *,
        model_id: str,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort  # heavy: kept out of start-up

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        # The CPU arena keeps the largest batch's memory for the session's
        # life (about 1 GB after 3,000 comments, held by every later step of
        # a run); shrinking it after an embed call's last batch frees it.
        self._release = ort.RunOptions()
        self._release.add_run_config_entry(
            "memory.enable_memory_arena_shrinkage", "cpu:0"
        )
        self.tokenizer = load_tokenizer(model_dir)
        check_mean_pooling(model_dir)
        self.dimension = int(
            self.session.get_outputs()[0].shape[-1] or 0
        ) or hidden_size(model_dir)
        self.model_id = model_id
        self.batch_size = batch_size
        self._input_names = {i.name for i in self.session.get_inputs()}

    @classmethod
    def from_model(
        cls,
        model_dir: Path,
        *,
        model_name: str,
        model_version: str,
        cache_dir: Path,
        quantized: bool = False,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> OnnxEmbedder:
        """Export (once) and load a model.

        Args:
            model_dir: The local sentence-transformers model folder.
            model_name: Name for ``model_id``.
            model_version: Version for ``model_id`` and the export's folder.
            cache_dir: Where exports are kept.
            quantized: Use the calibrated int8 graph (made once).
            batch_size: Texts per forward pass.
            threads: ONNX Runtime threads.

        Returns:
            The embedder.
        """
        folder = onnx_export_dir(cache_dir, model_name, model_version)
        fp32 = folder / "model.onnx"
        # an export is sealed with its checksums; a damaged or unsealed one is
        # made again, never loaded
        problem = verify_folder(folder) if folder.is_dir() else None
        if problem is not None:
            logger.warning(
                "embed: the cached ONNX export of %s cannot be trusted (%s); "
                "exporting it again",
                model_name,
                problem,
            )
            discard_folder(folder)
        if not fp32.is_file():
            logger.info("embed: exporting %s to ONNX (once)", model_name)
            export_model(model_dir, fp32)
            seal_folder(folder)
        path = fp32
        if quantized:
            path = _int8_graph(folder, fp32, model_dir, model_name)
        backend = backend_tag(model_name, quantized)
        return cls(
            path,
            model_dir,
            model_id=f"{model_name}@{model_version}/{backend}",
            batch_size=batch_size,
            threads=threads,
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:  # noqa: D102
        n = len(texts)
        if not n:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sort by length so each batch pads to similar lengths, as
        # sentence-transformers does; put the rows back in order at the end.
        order = np.argsort([-len(text) for text in texts], kind="stable")
        vectors = np.empty((n, self.dimension), dtype=np.float32)
        for start in range(0, n, self.batch_size):
            index = order[start : start + self.batch_size]
            encoded = tokenize_batch(self.tokenizer, [texts[i] for i in index])
            feed = {
                name: value
                for name, value in encoded.items()
                if name in self._input_names
            }
            last = start + self.batch_size >= n
            hidden = self._run(feed, release=last)
            mask = encoded["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            pooled /= np.clip(
                np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None
            )
            vectors[index] = pooled
        return vectors

    def _run(self, feed: dict[str, np.ndarray], *, release: bool) -> np.ndarray:
        """The model's token vectors for a tokenized batch, in slices of rows.

        Attention holds ``heads x length x length`` scores per row: 64 texts
        of 256 tokens (MiniLM's longest) need 200 MB for each of a layer's
        score matrices, and the batch of a corpus's longest texts lifted the
        process by about 0.9 GB; 64 of 128 tokens need 50 MB. A batch of
        long texts runs in slices of at most :data:`ATTENTION_ROWS_X_LENGTH2`
        ``/ length**2`` rows; each row's numbers are the same either way
        (tested).
        """
        rows, length = feed["input_ids"].shape
        step = max(1, ATTENTION_ROWS_X_LENGTH2 // (length * length))
        parts = []
        for first in range(0, rows, step):
            end = first + step >= rows
            parts.append(
                self.session.run(
                    None,
                    {name: value[first : first + step] for name, value in feed.items()},
                    self._release if release and end else None,
                )[0]
            )
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


ATTENTION_ROWS_X_LENGTH2 = 64 * 128 * 128
"""Rows x length^2 of a forward pass: 64 texts of up to 128 tokens, 16 of 256,
4 of 512. Bounds attention's transient memory (about 50 MB a score matrix)."""


def backend_tag(model_name: str, quantized: bool) -> str:
    """The backend part of an ONNX embedder's ``model_id``.

    ``onnx``, or for the int8 graph ``onnx-int8-sq.<recipe>``: int8 vectors
    never share cache entries with fp32 ones, nor with another recipe's.
    """
    if not quantized:
        return "onnx"
    settings = settings_for(model_name)
    return f"onnx-int8-sq.{recipe_key(settings, read_calibration_texts())}"


def _int8_graph(folder: Path, fp32: Path, model_dir: Path, model_name: str) -> Path:
    """The calibrated int8 graph beside ``fp32``, made (once) if missing.

    Its name holds the recipe and the fp32 graph's hash; int8 graphs of other
    recipes are deleted when a new one is made.
    """
    settings = settings_for(model_name)
    texts = read_calibration_texts()
    digest = sealed_digest(folder, fp32.name) or _sha256(fp32)
    path = folder / int8_graph_name(recipe_key(settings, texts), digest)
    if path.is_file():
        return path
    logger.info(
        "embed: calibrating and quantising the ONNX graph of %s to int8 (once)",
        model_name,
    )
    for stale in folder.glob("model.int8*.onnx"):
        stale.unlink()
    tokenizer = load_tokenizer(model_dir)
    by_length = sorted(texts, key=len)
    feeds = (
        tokenize_batch(tokenizer, by_length[start : start + 32])
        for start in range(0, len(by_length), 32)
    )
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        source = fp32
        if settings.fused:  # fused from its own export, never kept
            source = fused_export(model_dir, Path(tmp))
        quantize_smoothed(source, path, feeds=feeds, settings=settings)
    seal_folder(folder)
    return path


def fused_export(model_dir: Path, folder: Path) -> Path:
    """Export ``model_dir`` in the fusable shape and fuse it, in ``folder``.

    Returns:
        The fused fp32 graph (:mod:`pipeline.embed.fused_graph`).
    """
    fusable = export_model(model_dir, folder / "fusable.onnx", fusable=True)
    return fuse_graph(fusable, folder / "fused.onnx", model_dir)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
