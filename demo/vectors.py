"""The vector cache written in the caller's transaction, for a load that already holds the write lock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.text_vector import CHUNK, TextVector


class SessionVectorStore:
    """Vectors by content key in the `text_vector` table, through one session (a `VectorStore`).

    `models.text_vector.SqlVectorStore` commits each write in a session of its own; the demo load runs
    in one transaction holding the write lock, so its vectors go into that transaction instead, and
    the server's start finds them.
    """

    def __init__(self, session: Session) -> None:
        """Read and write through `session`, never committing."""
        self.session = session

    def get_many(self, keys: Sequence[str]) -> Mapping[str, np.ndarray]:
        """The stored vectors of the keys that are present."""
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), CHUNK):
            rows = self.session.execute(
                sa.select(TextVector.key, TextVector.vector).where(
                    TextVector.key.in_(keys[start : start + CHUNK])
                )
            )
            found.update({row.key: np.frombuffer(row.vector, dtype=np.float32) for row in rows})
        return found

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Store new vectors by key (the caller asks only for keys `get_many` did not find)."""
        rows = [
            {
                "key": key,
                "model_id": model_id,
                "dim": int(vector.shape[0]),
                "vector": np.asarray(vector, dtype=np.float32).tobytes(),
            }
            for key, vector in vectors.items()
        ]
        if rows:
            self.session.execute(sa.insert(TextVector), rows)
