"""The served encoder batches typed-in texts as XINGPEI_ENCODE_BATCH_MS / _MAX say."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine

from api.config import Settings
from api.embedding import cached_encoder
from matcher.encoder import encode_query
from models.database import make_session_factory
from tests.matcher.test_batching import (
    RecordingEncoder,
    expected,
    held_call,
    release_when_queued,
    run_together,
)


def test_the_served_encoder_batches_typed_in_texts_as_the_settings_say(engine: Engine) -> None:
    encoder = RecordingEncoder()
    settings = Settings(encode_batch_ms=20, encode_batch_max=3)
    cached = cached_encoder(settings, make_session_factory(engine), encoder)
    first = held_call(cached._batcher, encoder)
    texts = [f"来电企业 {number} 做数据服务" for number in range(6)]
    release_when_queued(cached._batcher, encoder, len(texts))

    results = run_together(lambda text: encode_query(cached, text), texts)
    first.join(10)

    for text, result in zip(texts, results, strict=True):
        assert isinstance(result, np.ndarray)
        assert np.allclose(result, expected(text))
    assert [len(batch) for batch in encoder.batches[1:]] == [3, 3]
