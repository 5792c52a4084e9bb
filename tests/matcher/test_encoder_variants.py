"""The int8 ONNX encoder (the default) stays within cosine 0.95 of the float32 model, apart in the cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from demo.generate import generate_enterprises
from matcher.encoder import (
    DEFAULT_MODEL_DIR,
    PREFIX,
    QUANTIZED_ONNX,
    QUANTIZED_SUFFIX,
    CachedEncoder,
    MemoryVectorStore,
    SentenceEncoder,
    content_key,
)
from tools.e5_export import ONNX_MARKER, export_model, export_quantized_onnx

os.environ.setdefault("OMP_NUM_THREADS", "2")

EDGE_CASES = ["", "Hello world!", "ＡＢＣ软件，全角字母与逗号；半角, 混排 123"]
TOO_LONG = "重庆两江新区" * 200
"""Over 512 tokens: both variants truncate alike (tokenised only: encoding it pads its batch to 512)."""


@pytest.fixture(scope="module")
def folder() -> Path:
    """The exported model folder with its int8 ONNX copy (built on first use)."""
    folder = export_model(DEFAULT_MODEL_DIR)
    export_quantized_onnx(folder)
    return folder


@pytest.fixture(scope="module")
def full(folder: Path) -> SentenceEncoder:
    """The float32 PyTorch model."""
    return SentenceEncoder(folder, threads=2, quantize=False)


@pytest.fixture(scope="module")
def quantized(folder: Path) -> SentenceEncoder:
    """The default encoder: the int8 ONNX model."""
    return SentenceEncoder(folder, threads=2)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """About 50 firm descriptions of ~100 characters, and a few odd strings."""
    descriptions = [str(record["description"]) for record in generate_enterprises(46, seed=7)]
    return descriptions + EDGE_CASES


def test_default_is_the_int8_onnx_model(full: SentenceEncoder, quantized: SentenceEncoder) -> None:
    assert quantized.variant == "onnx-qint8"
    assert full.variant == "fp32"
    assert quantized.dim == full.dim == 384


def test_int8_vectors_stay_close_to_the_full_model(
    full: SentenceEncoder, quantized: SentenceEncoder, texts: list[str]
) -> None:
    ours, reference = quantized.encode(texts), full.encode(texts)
    assert ours.dtype == np.float32
    assert ours.shape == reference.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosine = np.sum(ours * reference, axis=1)
    assert cosine.min() >= 0.95, cosine.min()
    assert cosine.mean() >= 0.99, cosine.mean()


def test_int8_variant_tokenises_like_sentence_transformers(
    full: SentenceEncoder, quantized: SentenceEncoder, texts: list[str]
) -> None:
    prefixed = [PREFIX + text for text in [*texts, TOO_LONG]]
    expected = full._model.tokenizer(prefixed, truncation=True, max_length=512)["input_ids"]
    assert quantized._onnx is not None
    encodings = quantized._onnx._tokenizer.encode_batch(prefixed)
    assert [[i for i, m in zip(e.ids, e.attention_mask, strict=True) if m] for e in encodings] == expected


def test_variants_keep_apart_in_the_vector_cache(full: SentenceEncoder, quantized: SentenceEncoder) -> None:
    assert quantized.model_id == full.model_id + QUANTIZED_SUFFIX
    assert content_key(quantized.model_id, "星配") != content_key(full.model_id, "星配")
    store = MemoryVectorStore()
    CachedEncoder(full, store).encode(["软件企业", "智慧园区"])
    again = CachedEncoder(quantized, store)
    again.encode(["软件企业", "智慧园区"])
    assert again.encoded == 2
    assert len(store.vectors) == 4


def test_folder_without_onnx_copy_falls_back_to_float32(folder: Path, tmp_path: Path) -> None:
    bare = tmp_path / folder.name
    bare.mkdir()
    for entry in folder.iterdir():
        if entry.name != Path(QUANTIZED_ONNX).parts[0]:
            (bare / entry.name).symlink_to(entry.resolve())
    with pytest.warns(RuntimeWarning, match="XINGPEI_EMBEDDING_QUANTIZE"):
        encoder = SentenceEncoder(bare, threads=2)
    assert encoder.variant == "fp32"
    assert encoder.model_id == folder.resolve().name


def test_onnx_export_is_idempotent(folder: Path) -> None:
    files = [folder / QUANTIZED_ONNX, folder / ONNX_MARKER]
    before = [(path.stat().st_ino, path.stat().st_mtime_ns) for path in files]
    assert export_quantized_onnx(folder) == folder / QUANTIZED_ONNX
    assert [(path.stat().st_ino, path.stat().st_mtime_ns) for path in files] == before
