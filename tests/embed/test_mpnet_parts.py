from __future__ import annotations

import hashlib
import io
import shutil
import zipfile
from importlib.metadata import PackageNotFoundError, distribution

import numpy as np
import pytest

from pipeline.config.analysis import EmbedConfig
from pipeline.embed import model_files
from pipeline.embed.base import BaseEmbedder
from pipeline.embed.cache import embed_texts
from pipeline.embed.model_files import resolve_model
from pipeline.embed.mpnet_parts import (
    PART_DISTRIBUTIONS,
    STAMP,
    AssembledModel,
    assemble_model,
    find_parts,
)
from pipeline.embed.registry import embedder_id
from pipeline.errors import ConfigError
from pipeline.store.database import ResultsStore

FILES = {
    "config.json": b'{"hidden_size": 8}',
    "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
    "model.safetensors": bytes(range(256)) * 40,
}
ROOT = "tiny-model/"


class ConstantEmbedder(BaseEmbedder):
    """Every text gets the same unit vector (no model, no scikit-learn import)."""

    def __init__(self, model_id, dimension):
        self.model_id, self.dimension = model_id, dimension

    def embed(self, texts):
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


HASHES = {name: sha256(data) for name, data in FILES.items()}


def split_zip(tmp_path, files=FILES, *, n_parts=3):
    """A zip of ``files`` under ROOT, split in ``n_parts`` part files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(ROOT, b"")  # the folder entry, as real zips have it
        for name, data in files.items():
            archive.writestr(ROOT + name, data)
    data = buffer.getvalue()
    size = -(-len(data) // n_parts)
    parts = []
    for i in range(n_parts):
        part = tmp_path / "parts" / f"tiny.zip.{i + 1:03d}"
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(data[i * size : (i + 1) * size])
        parts.append(part)
    return parts


def test_parts_are_joined_extracted_and_every_file_verified(tmp_path):
    parts = split_zip(tmp_path)
    folder = assemble_model(
        parts, tmp_path / "models" / "tiny", hashes=HASHES, root=ROOT
    )
    for name, data in FILES.items():
        assert (folder / name).read_bytes() == data
    assert (folder / STAMP).is_file()
    # nothing left behind: no joined zip, no temporary folder
    assert sorted(p.name for p in folder.parent.iterdir()) == ["tiny"]


def test_second_call_reuses_the_verified_folder_without_the_parts(tmp_path):
    parts = split_zip(tmp_path)
    folder = assemble_model(parts, tmp_path / "tiny", hashes=HASHES, root=ROOT)
    for part in parts:
        part.unlink()
    assert assemble_model(parts, folder, hashes=HASHES, root=ROOT) == folder


def test_a_changed_file_is_assembled_again_from_the_parts(tmp_path):
    parts = split_zip(tmp_path)
    folder = assemble_model(parts, tmp_path / "tiny", hashes=HASHES, root=ROOT)
    (folder / "config.json").write_bytes(b'{"hidden_size": 9999}')
    assemble_model(parts, folder, hashes=HASHES, root=ROOT)
    assert (folder / "config.json").read_bytes() == FILES["config.json"]


def test_a_corrupted_file_is_a_config_error_naming_it(tmp_path):
    corrupted = dict(FILES, **{"1_Pooling/config.json": b'{"pooling": "cls"}'})
    parts = split_zip(tmp_path, corrupted)
    target = tmp_path / "models" / "tiny"
    with pytest.raises(ConfigError, match=r"1_Pooling/config\.json.*SHA-256"):
        assemble_model(parts, target, hashes=HASHES, root=ROOT)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # the temporary folder is gone


def test_a_missing_part_is_a_clear_error(tmp_path):
    parts = split_zip(tmp_path)
    parts[1].unlink()
    with pytest.raises(ConfigError, match=r"part 2 of 3.*make mpnet"):
        assemble_model(parts, tmp_path / "tiny", hashes=HASHES, root=ROOT)


def test_parts_in_the_wrong_order_are_refused(tmp_path):
    parts = split_zip(tmp_path)
    with pytest.raises(ConfigError, match="not a zip|damaged|SHA-256"):
        assemble_model(parts[::-1], tmp_path / "tiny", hashes=HASHES, root=ROOT)


def test_a_file_that_is_not_pinned_is_refused(tmp_path):
    parts = split_zip(tmp_path, dict(FILES, **{"../../evil.sh": b"rm -rf /"}))
    with pytest.raises(ConfigError, match=r"unexpected file '\.\./\.\./evil\.sh'"):
        assemble_model(parts, tmp_path / "tiny", hashes=HASHES, root=ROOT)
    assert not (tmp_path / "evil.sh").exists()


def test_a_pinned_file_missing_from_the_zip_is_named(tmp_path):
    files = {k: v for k, v in FILES.items() if k != "model.safetensors"}
    with pytest.raises(ConfigError, match=r"'model\.safetensors' is missing"):
        assemble_model(
            split_zip(tmp_path, files), tmp_path / "tiny", hashes=HASHES, root=ROOT
        )


def test_an_uninstalled_part_package_names_the_package_and_how_to_install():
    with pytest.raises(ConfigError, match=r"no-such-part-999.*make mpnet"):
        find_parts(("no-such-part-999",))


def test_mpnet_names_resolve_to_the_assembled_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(
        model_files,
        "installed_mpnet",
        lambda models_dir: AssembledModel(models_dir / "all-mpnet-base-v2", "0.0.1"),
    )
    for name in ("all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"):
        model = resolve_model(name, allow_download=False, models_dir=tmp_path)
        assert model.path == tmp_path / "all-mpnet-base-v2"
        assert (model.name, model.version) == ("all-mpnet-base-v2", "0.0.1")


def test_mpnet_and_minilm_vectors_never_mix_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(
        model_files,
        "installed_mpnet",
        lambda models_dir: AssembledModel(tmp_path, "0.0.1"),
    )
    ids = [
        embedder_id(EmbedConfig(model=model))
        for model in ("all-MiniLM-L6-v2", "all-mpnet-base-v2")
    ]
    assert ids[0] != ids[1] and ids[1] == "all-mpnet-base-v2@0.0.1/onnx"
    cache = ResultsStore(tmp_path / "themes.duckdb")
    embedders = [
        ConstantEmbedder(model_id, dimension)
        for model_id, dimension in zip(ids, (384, 768), strict=True)
    ]
    first = embed_texts(["the ward was calm"], embedders[0], cache=cache)
    second = embed_texts(["the ward was calm"], embedders[1], cache=cache)
    assert second.n_embedded == 1  # not read from the other model's rows
    assert first.vectors.shape == (1, 384) and second.vectors.shape == (1, 768)


def _parts_installed() -> bool:
    try:
        for name in PART_DISTRIBUTIONS:
            distribution(name)
    except PackageNotFoundError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(
    not _parts_installed(), reason="the mpnet parts are not installed (make mpnet)"
)
def test_real_mpnet_through_onnx_matches_sentence_transformers(tmp_path_factory):
    from pipeline.embed.encoders import SentenceTransformerEmbedder
    from pipeline.embed.onnx_runtime import OnnxEmbedder

    folder = tmp_path_factory.mktemp("mpnet")
    model = resolve_model(
        "all-mpnet-base-v2", allow_download=False, models_dir=folder / "models"
    )
    onnx = OnnxEmbedder.from_model(
        model.path,
        model_name=model.name,
        model_version=model.version,
        cache_dir=folder / "onnx",
        threads=1,
    )
    torch_model = SentenceTransformerEmbedder(
        model.path, model_name=model.name, model_version=model.version, threads=1
    )
    texts = [
        "The nurse explained everything before the operation.",
        "I waited three hours in A&E and nobody told me why.",
        "ok",
        "Where is the button to save this form? I can't find it anywhere on "
        "the page, and the menu on the left only has settings.",
        "",
    ]
    a, b = onnx.embed(texts), torch_model.embed(texts)
    shutil.rmtree(folder)  # 1.3 GB of model, zip and export: not kept by pytest
    assert onnx.dimension == 768 and a.shape == b.shape == (len(texts), 768)
    assert onnx.model_id == f"all-mpnet-base-v2@{model.version}/onnx"
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    assert float((a * b).sum(axis=1).min()) > 0.999
