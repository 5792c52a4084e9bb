"""The dense index: faiss exact inner product over L2-normalised vectors (cosine similarity)."""

from __future__ import annotations

import faiss
import numpy as np


class VectorIndex:
    """An exact inner-product index whose ids are the rows of the item table it was built from."""

    def __init__(self, vectors: np.ndarray) -> None:
        """Index `vectors` [n, dim] float32; row i gets id i."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.dim = int(vectors.shape[1])
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        if len(vectors):
            self._index.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))

    def __len__(self) -> int:
        """How many vectors are indexed."""
        return int(self._index.ntotal)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k rows most similar to `query` [dim]: rows [k] int64 and similarities [k], best first."""
        k = min(k, len(self))
        if k == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        similarities, rows = self._index.search(
            np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1), k
        )
        return rows[0], similarities[0]

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """Similarity of `query` to every row, in row order: [n] float32 (exact)."""
        rows, values = self.search(query, len(self))
        out = np.empty(len(self), dtype=np.float32)
        out[rows] = values
        return out
