"""Vectors cached by content hash in the database: re-importing an unchanged file encodes nothing."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine

from demo.generate import generate_enterprises
from matcher.encoder import CachedEncoder, content_key
from matcher.hashing import HashingEncoder
from matcher.recommender import Recommender
from migrations import migrate
from models.catalogue import import_file, iter_records
from models.database import make_engine, make_session_factory
from models.records import CatalogueRecord, RecordKind
from models.text_vector import SqlVectorStore
from tests.files import jsonl


def _catalogue(engine: Engine) -> dict[RecordKind, list[CatalogueRecord]]:
    """Every stored firm."""
    with make_session_factory(engine)() as session:
        return {"enterprises": list(iter_records(session, "enterprises"))}


def test_reimporting_an_unchanged_10000_row_file_encodes_nothing(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    data = jsonl(*generate_enterprises(10_000, seed=11))
    inner = HashingEncoder()
    encoder = CachedEncoder(inner, SqlVectorStore(sessions))

    with sessions.begin() as session:
        import_file(session, "enterprises", data, "firms.jsonl")
    Recommender(encoder).load(_catalogue(engine))
    assert len(inner.calls) == 10_000

    with sessions.begin() as session:
        report = import_file(session, "enterprises", data, "firms.jsonl")
    Recommender(CachedEncoder(inner, SqlVectorStore(sessions))).load(_catalogue(engine))
    assert report.unchanged == 10_000
    assert len(inner.calls) == 10_000
    engine.dispose()


def test_stored_vectors_round_trip_exactly(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    migrate(engine)
    store = SqlVectorStore(make_session_factory(engine))
    vector = np.random.default_rng(1).random(384).astype(np.float32)
    key = content_key("m", "你好")
    store.put_many("m", {key: vector})
    store.put_many("m", {key: vector})
    assert np.array_equal(store.get_many([key, "absent"])[key], vector)
    assert set(store.get_many([key, "absent"])) == {key}
    engine.dispose()
