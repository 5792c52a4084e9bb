"""A deterministic model-free encoder of hashed character bigrams, for tests and model-free benchmarks."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


class HashingEncoder:
    """Texts sharing characters get similar vectors; counts every text it encodes."""

    model_id = "hashing-test-encoder"
    dim = 64

    def __init__(self) -> None:
        """Start with no texts encoded."""
        self.calls: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """[n, 64] float32, L2-normalised."""
        self.calls.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for start in range(max(len(text) - 1, 1)):
                digest = hashlib.md5(text[start : start + 2].encode()).digest()
                out[row, digest[0] % self.dim] += 1.0 if digest[1] % 2 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)
