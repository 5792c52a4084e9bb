"""Spread ("stars all over the sky"): keep results from piling up in one district.

The greedy rule — pick the best score minus a penalty per earlier pick from the same district — picks
rows in the order of b = score − step · (rank of the row within its district), because within a
district b falls with every rank. Rows are picked best first within their district and at most k are
picked, so only the k best of each district (ties kept) can be; and when k districts hold rows, only
rows scoring at least the k-th best district's best (k districts' first rows come before any other).
`pick` re-ranks just those.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import numpy as np

PENALTY_PER_REPEAT = 0.1
"""Score taken off, at full spread strength, for each earlier result from the same district."""


def spread_rerank(
    scores: np.ndarray, districts: np.ndarray, strength: float, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Greedily pick k rows by score minus a penalty per earlier pick from the same district.

    Returns the picked rows [k] (best first) and each pick's penalty [k] (≥ 0); ties go to the earlier
    row. With strength 0 this is a plain top-k by score. Rows are visited best score first, keeping the k
    best adjusted scores, until a row's own score cannot beat the k-th kept (nor can any after it).
    """
    if k <= 0 or not len(scores):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    values, places = scores.tolist(), districts.tolist()
    step = max(strength, 0.0) * PENALTY_PER_REPEAT
    earlier: dict[int, int] = {}
    kept: list[tuple[float, int, int, float]] = []  # a heap: (adjusted score, −position) of the worst first
    for position, row in enumerate(np.argsort(-scores, kind="stable").tolist()):
        if len(kept) == k and values[row] <= kept[0][0]:
            break
        repeat = earlier.get(places[row], 0)
        earlier[places[row]] = repeat + 1
        penalty = step * repeat
        entry = (values[row] - penalty, -position, row, penalty)
        if len(kept) < k:
            heapq.heappush(kept, entry)
        elif entry > kept[0]:
            heapq.heapreplace(kept, entry)
    kept.sort(reverse=True)
    return np.array([row for *_, row, _ in kept], dtype=np.int64), np.array(
        [p for *_, p in kept], dtype=float
    )


def _best(rows: np.ndarray, scores: np.ndarray, eligible: np.ndarray, k: int) -> np.ndarray:
    """Of `rows` [m], the eligible ones scoring at least the k-th best eligible one among them, ties kept."""
    rows = rows[eligible[rows]]
    if len(rows) <= k:
        return rows
    values = scores[rows]
    kth = np.partition(values, len(rows) - k)[len(rows) - k]
    return np.asarray(rows[values >= kth])


def floor(scores: np.ndarray, eligible: np.ndarray, districts: np.ndarray, strength: float, k: int) -> float:
    """A score that every row `pick` can pick reaches: the k-th best district's best when k districts hold
    eligible rows, else the k-th best score less the largest penalty a pick can carry (−inf below k rows)."""
    best = _district_floor(scores, eligible, districts, k)
    if best is not None:
        return best
    values = scores[eligible]
    if len(values) < k:
        return -np.inf
    kth = float(np.partition(values, len(values) - k)[len(values) - k])
    return kth - max(strength, 0.0) * PENALTY_PER_REPEAT * (k - 1)


def _district_floor(scores: np.ndarray, eligible: np.ndarray, districts: np.ndarray, k: int) -> float | None:
    """The k-th best district's best eligible score; None when fewer than k districts hold eligible rows."""
    rows = np.flatnonzero(eligible)
    low = int(districts.min(initial=0))
    bests = np.full(int(districts.max(initial=0)) - low + 1, -np.inf)
    np.maximum.at(bests, districts[rows] - low, scores[rows])
    present = bests[bests > -np.inf]
    if len(present) < k:
        return None
    return float(np.partition(present, len(present) - k)[len(present) - k])


def _pool(
    scores: np.ndarray, eligible: np.ndarray, groups: Sequence[np.ndarray], districts: np.ndarray, k: int
) -> np.ndarray:
    """The eligible rows [m] that can be picked, holding with each row every better one of its district.

    When k districts or more hold eligible rows, those scoring at least the k-th best district's best
    (a row below it comes, even as its district's first, after k others); otherwise each group's k best.
    """
    best = _district_floor(scores, eligible, districts, k)
    if best is None:
        return np.concatenate(
            [np.zeros(0, dtype=np.int64), *(_best(group, scores, eligible, k) for group in groups)]
        )
    above: np.ndarray = np.flatnonzero(eligible & (scores >= best))
    return above


def pick(
    scores: np.ndarray,
    eligible: np.ndarray,
    groups: Sequence[np.ndarray],
    districts: np.ndarray,
    strength: float,
    k: int,
    ids: Callable[[np.ndarray], Sequence[str]],
) -> tuple[np.ndarray, np.ndarray]:
    """`spread_rerank` over the eligible rows of [n] arrays, ties going to the smaller id.

    `groups` hold the rows of each district (or, when nothing spreads, all rows in one group); only
    the k best eligible rows of each group enter the re-ranking. Returns rows [≤ k] and penalties [≤ k].
    `ids` is asked only when scores tie.
    """
    pool = _pool(scores, eligible, groups, districts, k)
    values = scores[pool]
    order = np.argsort(-values, kind="stable")
    if np.any(values[order[1:]] == values[order[:-1]]):
        keys = list(zip((-values).tolist(), ids(pool), strict=True))
        order = np.array(sorted(range(len(pool)), key=keys.__getitem__), dtype=np.int64)
    pool = pool[order]
    rows, penalties = spread_rerank(scores[pool], districts[pool], strength, k)
    return pool[rows], penalties
