"""Typed-in texts of concurrent callers share model calls; each caller still gets its own vector."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from matcher.batching import EncodeBatcher
from matcher.encoder import CachedEncoder, MemoryVectorStore, encode_query
from matcher.hashing import HashingEncoder

WINDOW = 0.02
"""How long the first text of a batch waits for others (seconds)."""

FIRST = "先到的画像"
"""The text whose model call runs while the others queue."""


class RecordingEncoder:
    """A hashing encoder whose calls block until released, so a test decides when a model call ends."""

    model_id = "recording-test-encoder"
    dim = HashingEncoder.dim

    def __init__(self, error: Exception | None = None) -> None:
        """Start with no call seen; every call raises `error` when given."""
        self.batches: list[list[str]] = []
        self.error = error
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()
        self.release.set()
        self._hashing = HashingEncoder()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Record the call, wait until released, then encode (or raise the error set when it began)."""
        error = self.error
        self.batches.append(list(texts))
        self.entered.release()
        assert self.release.wait(10), "the test never released the model call"
        if error is not None:
            raise error
        return self._hashing.encode(texts)


def expected(text: str) -> np.ndarray:
    """The vector a text has when encoded alone."""
    vector: np.ndarray = HashingEncoder().encode([text])[0]
    return vector


def run_together(encode: Callable[[str], np.ndarray], texts: Sequence[str]) -> list[np.ndarray | Exception]:
    """Each text encoded by its own thread, all started at once; what each thread got back."""
    results: list[np.ndarray | Exception] = [RuntimeError("never answered")] * len(texts)
    start = threading.Barrier(len(texts))

    def work(index: int) -> None:
        start.wait()
        try:
            results[index] = encode(texts[index])
        except Exception as error:  # the test inspects what each caller got
            results[index] = error

    threads = [threading.Thread(target=work, args=(index,), daemon=True) for index in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not any(thread.is_alive() for thread in threads), "a caller hangs"
    return results


def held_call(batcher: EncodeBatcher, encoder: RecordingEncoder) -> threading.Thread:
    """A caller whose model call has started and is held until `encoder.release` is set."""
    encoder.release.clear()
    encoder.entered = threading.Semaphore(0)
    thread = threading.Thread(target=batcher.encode, args=(FIRST,), daemon=True)
    thread.start()
    assert encoder.entered.acquire(timeout=10)
    return thread


def release_when_queued(batcher: EncodeBatcher, encoder: RecordingEncoder, count: int) -> None:
    """Release the held model call once `count` texts wait for the next one (or after 10 s)."""

    def watch() -> None:
        for _ in range(1000):
            with batcher._changed:
                if len(batcher._queue) >= count:
                    break
            threading.Event().wait(0.01)
        encoder.release.set()

    threading.Thread(target=watch, daemon=True).start()


def test_concurrent_texts_share_model_calls_and_each_gets_its_own_vector() -> None:
    encoder = RecordingEncoder()
    batcher = EncodeBatcher(encoder.encode, window=WINDOW, max_batch=32)
    first = held_call(batcher, encoder)
    texts = [f"来电企业 {number} 做工业软件" for number in range(12)]
    release_when_queued(batcher, encoder, len(texts))  # they arrive while the first call runs

    results = run_together(batcher.encode, texts)
    first.join(10)

    for text, result in zip(texts, results, strict=True):
        assert isinstance(result, np.ndarray)
        assert np.allclose(result, expected(text))
    assert encoder.batches[0] == [FIRST]
    assert len(encoder.batches) == 2  # the twelve waiting texts shared the next call
    assert sorted(encoder.batches[1]) == sorted(texts)


def test_window_zero_encodes_each_text_in_its_own_call() -> None:
    encoder = RecordingEncoder()
    batcher = EncodeBatcher(encoder.encode, window=0, max_batch=32)
    texts = [f"画像 {number}" for number in range(8)]

    results = run_together(batcher.encode, texts)

    assert sorted(map(tuple, encoder.batches)) == sorted((text,) for text in texts)
    for text, result in zip(texts, results, strict=True):
        assert isinstance(result, np.ndarray)
        assert np.allclose(result, expected(text))


def test_an_error_of_the_model_call_reaches_every_caller_of_the_batch() -> None:
    encoder = RecordingEncoder()
    batcher = EncodeBatcher(encoder.encode, window=WINDOW, max_batch=32)
    first = held_call(batcher, encoder)
    encoder.error = RuntimeError("模型崩了")
    texts = [f"画像 {number}" for number in range(6)]
    release_when_queued(batcher, encoder, len(texts))

    results = run_together(batcher.encode, texts)
    first.join(10)

    assert len(encoder.batches) == 2
    assert all(isinstance(result, RuntimeError) and str(result) == "模型崩了" for result in results)
    encoder.error = None
    assert np.allclose(batcher.encode("之后的画像"), expected("之后的画像"))  # the batcher still works


def test_a_batch_holds_at_most_max_batch_texts() -> None:
    encoder = RecordingEncoder()
    batcher = EncodeBatcher(encoder.encode, window=WINDOW, max_batch=3)
    first = held_call(batcher, encoder)
    texts = [f"画像 {number}" for number in range(10)]
    release_when_queued(batcher, encoder, len(texts))

    results = run_together(batcher.encode, texts)
    first.join(10)

    for text, result in zip(texts, results, strict=True):
        assert isinstance(result, np.ndarray)
        assert np.allclose(result, expected(text))
    assert [len(batch) for batch in encoder.batches[1:]] == [3, 3, 3, 1]
    assert sorted(text for batch in encoder.batches[1:] for text in batch) == sorted(texts)


def test_identical_texts_of_one_batch_are_encoded_once() -> None:
    encoder = RecordingEncoder()
    batcher = EncodeBatcher(encoder.encode, window=WINDOW, max_batch=32)
    first = held_call(batcher, encoder)
    texts = ["同一段画像"] * 5 + ["另一段画像"] * 3
    release_when_queued(batcher, encoder, len(texts))

    results = run_together(batcher.encode, texts)
    first.join(10)

    for text, result in zip(texts, results, strict=True):
        assert isinstance(result, np.ndarray)
        assert np.allclose(result, expected(text))
    assert len(encoder.batches) == 2
    assert sorted(encoder.batches[1]) == ["另一段画像", "同一段画像"]


def test_a_lone_text_is_encoded_at_once_in_its_own_call() -> None:
    encoder = RecordingEncoder()
    batcher = EncodeBatcher(encoder.encode, window=60.0, max_batch=32)  # a wait would fail the join

    thread = threading.Thread(target=batcher.encode, args=("独自来的画像",), daemon=True)
    thread.start()
    thread.join(20)

    assert not thread.is_alive()
    assert encoder.batches == [["独自来的画像"]]


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="window must be >= 0"):
        EncodeBatcher(HashingEncoder().encode, window=-1, max_batch=8)
    with pytest.raises(ValueError, match="window must be >= 0"):
        EncodeBatcher(HashingEncoder().encode, window=0.01, max_batch=0)


def test_a_cached_encoder_batches_typed_in_texts_but_encodes_records_in_bulk() -> None:
    encoder = RecordingEncoder()
    cached = CachedEncoder(encoder, MemoryVectorStore(), batch_window=WINDOW, batch_max=32)
    records = [f"入库企业 {number}" for number in range(40)]
    cached.encode(records)
    assert encoder.batches == [records]  # an import's texts go to the model in one call, as before

    first = held_call(cached._batcher, encoder)
    texts = [f"来电企业 {number}" for number in range(6)] + records[:2]
    release_when_queued(cached._batcher, encoder, 6)  # the stored records' vectors are read, not queued
    results = run_together(lambda text: encode_query(cached, text), texts)
    first.join(10)

    for text, result in zip(texts, results, strict=True):
        assert isinstance(result, np.ndarray)
        assert np.allclose(result, expected(text))
    assert len(encoder.batches) == 3
    assert sorted(encoder.batches[2]) == sorted(texts[:6])
