"""Typed-in query texts: read from the vector cache when a record has them, never written into it."""

from __future__ import annotations

import numpy as np

from matcher.encoder import QUERY_CACHE_SIZE, CachedEncoder, MemoryVectorStore, encode_query
from matcher.hashing import HashingEncoder


def test_query_texts_are_not_stored_but_stored_texts_are_reused() -> None:
    inner = HashingEncoder()
    store = MemoryVectorStore()
    cached = CachedEncoder(inner, store)
    stored = cached.encode(["一家做工业软件的企业"])[0]
    assert len(store.vectors) == 1

    reused = encode_query(cached, "一家做工业软件的企业")
    fresh = encode_query(cached, "临时来电的芯片设计公司")
    again = encode_query(cached, "临时来电的芯片设计公司")

    assert np.array_equal(reused, stored)
    assert len(store.vectors) == 1  # the typed-in profile left no row behind
    assert np.array_equal(fresh, again)
    assert inner.calls.count("临时来电的芯片设计公司") == 1  # the second ask came from memory


def test_the_in_memory_query_cache_is_bounded() -> None:
    cached = CachedEncoder(HashingEncoder(), MemoryVectorStore())
    for number in range(QUERY_CACHE_SIZE + 10):
        encode_query(cached, f"画像 {number}")
    assert len(cached._queries) == QUERY_CACHE_SIZE


def test_a_plain_encoder_just_encodes() -> None:
    inner = HashingEncoder()
    vector = encode_query(inner, "数据服务")
    assert vector.shape == (HashingEncoder.dim,)
    assert len(inner.calls) == 1
