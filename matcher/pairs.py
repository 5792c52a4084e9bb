"""Candidate pairs between two sides (firm–building, scenario–firm): validation and sparse constraint rows."""

from __future__ import annotations

import numpy as np
from scipy import sparse


def check_vector(name: str, values: np.ndarray, size: int) -> None:
    """ValueError unless `values` holds `size` finite numbers in one dimension."""
    if values.ndim != 1 or len(values) != size:
        raise ValueError(f"{name}: expected {size} values, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"{name}: NaN or infinite values")


def check_ids(name: str, ids: tuple[str, ...]) -> None:
    """ValueError when an id repeats."""
    if len(set(ids)) != len(ids):
        raise ValueError(f"{name}: an id is listed twice")


def check_pairs(
    first: tuple[str, np.ndarray, int], second: tuple[str, np.ndarray, int], scores: np.ndarray
) -> None:
    """ValueError unless each pair (sides as name, [P] indices, rows) exists, is listed once, scores 0..1."""
    check_vector("pair_score", scores, len(scores))
    if ((scores < 0) | (scores > 1)).any():
        raise ValueError("pair_score: scores must lie in 0..1")
    for name, index, size in (first, second):
        if index.ndim != 1 or len(index) != len(scores):
            raise ValueError(
                f"{name}: expected {len(scores)} indices like pair_score, got shape {index.shape}"
            )
        if len(index) and not np.issubdtype(index.dtype, np.integer):
            raise ValueError(f"{name}: indices must be integers, got {index.dtype}")
        if len(index) and (index.min() < 0 or index.max() >= size):
            raise ValueError(f"{name}: indices must lie in 0..{size - 1}")
    keys = first[1].astype(np.int64) * second[2] + second[1]
    if len(np.unique(keys)) != len(keys):
        raise ValueError(f"{first[0]}, {second[0]}: a pair is listed twice")


def incidence(rows: np.ndarray, size: int, weights: np.ndarray | None = None) -> sparse.csr_matrix:
    """[size, len(rows)]: column j holds weights[j] (else 1) in row rows[j]."""
    values = np.ones(len(rows)) if weights is None else weights
    return sparse.csr_matrix((values, (rows, np.arange(len(rows)))), shape=(size, len(rows)))
