"""A lazy encoder opens its model once, on the first encode (whichever thread asks first), not when made."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest

from matcher.encoder import (
    DEFAULT_MODEL_DIR,
    QUANTIZED_ONNX,
    EncoderUnavailable,
    SentenceEncoder,
    expected_model_id,
)
from tools.e5_export import export_model, export_quantized_onnx

os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="module")
def folder() -> Path:
    """The exported model folder with its int8 ONNX copy (built on first use)."""
    folder = export_model(DEFAULT_MODEL_DIR)
    export_quantized_onnx(folder)
    return folder


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per int8 model session opened; opening is slowed down, so that racing first uses overlap."""
    count: list[int] = []
    session = onnxruntime.InferenceSession

    def counted(*arguments: Any, **options: Any) -> Any:
        count.append(1)
        threading.Event().wait(0.2)
        return session(*arguments, **options)

    monkeypatch.setattr(onnxruntime, "InferenceSession", counted)
    return count


def test_a_lazy_encoder_names_its_model_without_opening_it(folder: Path, opened: list[int]) -> None:
    lazy = SentenceEncoder(folder, threads=2, lazy=True)
    assert not lazy.loaded
    assert opened == []
    assert lazy.model_id == expected_model_id(folder, quantize=True)
    assert lazy.variant == "onnx-qint8"
    eager = SentenceEncoder(folder, threads=2)
    assert eager.loaded
    assert opened == [1]
    assert (lazy.model_id, lazy.dim) == (eager.model_id, eager.dim)
    texts = ["重庆软件园", "芯片设计企业"]
    np.testing.assert_allclose(lazy.encode(texts), eager.encode(texts), atol=1e-6)
    assert lazy.loaded
    assert opened == [1, 1]


def test_an_empty_call_opens_nothing(folder: Path, opened: list[int]) -> None:
    lazy = SentenceEncoder(folder, threads=2, lazy=True)
    assert lazy.encode([]).shape == (0, lazy.dim)
    assert not lazy.loaded
    assert opened == []


def test_concurrent_first_uses_open_the_model_once(folder: Path, opened: list[int]) -> None:
    lazy = SentenceEncoder(folder, threads=1, lazy=True)
    threads = 6
    start = threading.Barrier(threads)

    def first_use(number: int) -> np.ndarray:
        start.wait()
        return lazy.encode([f"第 {number} 家企业：工业软件研发"])

    with ThreadPoolExecutor(threads) as pool:
        vectors = list(pool.map(first_use, range(threads)))
    assert opened == [1]
    assert all(vector.shape == (1, lazy.dim) for vector in vectors)
    again = SentenceEncoder(folder, threads=1)  # one text a call, as each thread encoded it
    expected = [again.encode([f"第 {number} 家企业：工业软件研发"]) for number in range(threads)]
    np.testing.assert_allclose(np.vstack(vectors), np.vstack(expected), atol=1e-6)


def test_a_lazy_int8_model_that_fails_to_open_is_an_error_not_another_model(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*arguments: Any, **options: Any) -> None:
        raise ValueError("the int8 copy does not open")

    monkeypatch.setattr(onnxruntime, "InferenceSession", broken)
    lazy = SentenceEncoder(folder, threads=2, lazy=True)
    with pytest.raises(EncoderUnavailable, match="int8 版本无法打开"):
        lazy.encode(["软件企业"])
    assert lazy.model_id == expected_model_id(folder, quantize=True)
    with pytest.warns(RuntimeWarning, match="XINGPEI_EMBEDDING_QUANTIZE"):
        eager = SentenceEncoder(folder, threads=2)  # made and opened at once: it may still fall back
    assert eager.variant == "fp32"
    assert eager.model_id == expected_model_id(folder, quantize=False)


def test_the_expected_id_is_the_float32_one_when_the_int8_copy_cannot_be_used(
    folder: Path, tmp_path: Path
) -> None:
    odd = tmp_path / folder.name
    odd.mkdir()
    for entry in folder.iterdir():
        (odd / entry.name).symlink_to(entry.resolve())
    assert (odd / QUANTIZED_ONNX).is_file()
    (odd / "modules.json").unlink()
    (odd / "modules.json").write_text('[{"path": "", "type": "sentence_transformers.models.Transformer"}]')
    assert expected_model_id(odd, quantize=True) == expected_model_id(folder, quantize=False)
