"""The vector cache table: embeddings by content hash (model id + text), so nothing is encoded twice."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from models.base import Base
from models.database import WriteBusy, begin_write

CHUNK = 900
log = logging.getLogger("xingpei")


class TextVector(Base):
    """One cached embedding: float32 bytes keyed by the hash of model id and text."""

    __tablename__ = "text_vector"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    model_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    dim: Mapped[int]
    vector: Mapped[bytes] = mapped_column(sa.LargeBinary)


class SqlVectorStore:
    """A vector store in the catalogue database (implements matcher.encoder.VectorStore)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        """Use sessions from `sessions`; every `put_many` commits on its own."""
        self.sessions = sessions

    def get_many(self, keys: Sequence[str]) -> Mapping[str, np.ndarray]:
        """The stored vectors of the keys that are present."""
        found: dict[str, np.ndarray] = {}
        with self.sessions() as session:
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start : start + CHUNK]
                rows = session.execute(
                    sa.select(TextVector.key, TextVector.vector).where(TextVector.key.in_(chunk))
                )
                found.update({row.key: np.frombuffer(row.vector, dtype=np.float32) for row in rows})
        return found

    def missing(self, keys: Sequence[str]) -> list[str]:
        """The keys that no stored vector has (reads keys only)."""
        present: set[str] = set()
        with self.sessions() as session:
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start : start + CHUNK]
                present.update(session.scalars(sa.select(TextVector.key).where(TextVector.key.in_(chunk))))
        return [key for key in keys if key not in present]

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Store vectors by key; keys already present (stored by anyone, even meanwhile) are left as they are.

        One `INSERT … ON CONFLICT DO NOTHING` per chunk, holding the write lock like every write. The
        cache only saves work: when other writes keep the lock too long, the vectors are not stored
        now (the next encode of the same texts stores them) rather than failing the caller.
        """
        items = list(vectors.items())
        with self.sessions() as session:
            try:
                begin_write(session)
            except WriteBusy:
                log.warning("向量缓存：数据库正忙，本次 %d 条向量未写入缓存", len(items))
                return
            insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
            for start in range(0, len(items), CHUNK):
                rows = [
                    {
                        "key": key,
                        "model_id": model_id,
                        "dim": int(vector.shape[0]),
                        "vector": np.asarray(vector, dtype=np.float32).tobytes(),
                    }
                    for key, vector in items[start : start + CHUNK]
                ]
                session.execute(insert(TextVector).on_conflict_do_nothing(index_elements=["key"]), rows)
            session.commit()
