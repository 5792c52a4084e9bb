"""Spread ("stars all over the sky"): keep results from piling up in one district."""

from __future__ import annotations

import numpy as np

PENALTY_PER_REPEAT = 0.1
"""Score taken off, at full spread strength, for each earlier result from the same district."""


def spread_rerank(
    scores: np.ndarray, districts: np.ndarray, strength: float, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Greedily pick k rows by score minus a penalty per earlier pick from the same district.

    Returns the picked rows (best first) and each pick's penalty (≥ 0). With strength 0 this is a
    plain top-k by score.
    """
    k = min(k, len(scores))
    if strength <= 0 or k == 0:
        order = np.argsort(-scores, kind="stable")[:k]
        return order, np.zeros(len(order))
    step = strength * PENALTY_PER_REPEAT
    pool = _best_per_district(scores, districts, k)
    picked: list[int] = []
    penalties: list[float] = []
    counts: dict[int, int] = {}
    remaining = list(pool)
    for _ in range(k):
        adjusted = [scores[row] - step * counts.get(int(districts[row]), 0) for row in remaining]
        best = int(np.argmax(adjusted))
        row = remaining.pop(best)
        penalties.append(step * counts.get(int(districts[row]), 0))
        counts[int(districts[row])] = counts.get(int(districts[row]), 0) + 1
        picked.append(row)
    return np.array(picked, dtype=np.int64), np.array(penalties)


def _best_per_district(scores: np.ndarray, districts: np.ndarray, k: int) -> np.ndarray:
    """The k best rows of every district, best first: no other row can ever be picked.

    Within one district every row carries the same penalty, so its order is its raw order and at most
    k of its rows can be picked.
    """
    order = np.argsort(-scores, kind="stable")
    grouped = np.argsort(districts[order], kind="stable")
    sorted_districts = districts[order][grouped]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_districts)) + 1]
    lengths = np.diff(np.r_[starts, len(sorted_districts)])
    occurrence = np.empty(len(order), dtype=np.int64)
    occurrence[grouped] = np.arange(len(order)) - np.repeat(starts, lengths)
    return order[occurrence < k]
