"""A sentence-transformers model folder's tokenizer and settings, read directly.

For the ONNX path (:mod:`pipeline.embed.onnx_runtime`): the fast tokenizer set
up as sentence-transformers sets it up (truncation, padding), a batch's
arrays, and the pooling and width the folder declares.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.errors import ModelError


def tokenize_batch(tokenizer, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Token ids, attention mask and token type ids of a batch, as int64 arrays."""
    batch = tokenizer.encode_batch(list(texts))
    return {
        "input_ids": np.array([e.ids for e in batch], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in batch], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in batch], dtype=np.int64),
    }


def load_tokenizer(model_dir: Path):
    """The model's fast tokenizer (``tokenizer.json``).

    Set up as sentence-transformers calls it: truncation at the model's
    ``max_seq_length``, padding to the longest text of a batch. The
    ``tokenizers`` library directly (what ``transformers`` wraps): the same
    ids, masks and type ids as ``AutoTokenizer`` (tested), without the second
    it takes to import ``transformers``.

    Raises:
        ModelError: The model has no ``tokenizer.json``.
    """
    from tokenizers import Tokenizer  # heavy: kept out of start-up

    path = Path(model_dir) / "tokenizer.json"
    if not path.is_file():
        raise ModelError(
            f"{model_dir}: no tokenizer.json; the ONNX backend needs a fast "
            "tokenizer (use embed.backend: sentence-transformers)"
        )
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=_max_seq_length(model_dir))
    pad = _pad_token(model_dir)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad) or 0, pad_token=pad)
    return tokenizer


def _tokenizer_config(model_dir: Path) -> dict:
    path = Path(model_dir) / "tokenizer_config.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _pad_token(model_dir: Path) -> str:
    token = _tokenizer_config(model_dir).get("pad_token", "[PAD]")
    return token["content"] if isinstance(token, dict) else str(token)


def _max_seq_length(model_dir: Path) -> int:
    settings = Path(model_dir) / "sentence_bert_config.json"
    if settings.is_file():
        value = json.loads(settings.read_text(encoding="utf-8")).get("max_seq_length")
        if value:
            return int(value)
    model_max = _tokenizer_config(model_dir).get("model_max_length", 512)
    return int(min(model_max, 512))


def check_mean_pooling(model_dir: Path) -> None:
    """Refuse models that pool otherwise than by the mean (this path does the mean)."""
    for config in Path(model_dir).glob("*Pooling*/config.json"):
        settings = json.loads(config.read_text(encoding="utf-8"))
        if not settings.get("pooling_mode_mean_tokens", True):
            raise ModelError(
                f"{model_dir}: the ONNX path pools by the mean of the tokens, and this "
                "model pools otherwise; use embed.backend: sentence-transformers"
            )


def hidden_size(model_dir: Path) -> int:
    """The width of the model's vectors (``hidden_size`` of its ``config.json``)."""
    config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    return int(config["hidden_size"])
