"""District spread: exact greedy re-ranking, no-op at strength zero."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.spread import PENALTY_PER_REPEAT, spread_rerank


def _brute_force(scores: np.ndarray, districts: np.ndarray, strength: float, k: int) -> list[int]:
    """The greedy rule applied to every row, with no pruning."""
    picked: list[int] = []
    counts: dict[int, int] = {}
    remaining = list(np.argsort(-scores, kind="stable"))
    for _ in range(min(k, len(scores))):
        adjusted = [
            scores[r] - strength * PENALTY_PER_REPEAT * counts.get(int(districts[r]), 0) for r in remaining
        ]
        row = remaining.pop(int(np.argmax(adjusted)))
        counts[int(districts[row])] = counts.get(int(districts[row]), 0) + 1
        picked.append(int(row))
    return picked


def test_strength_zero_is_plain_top_k() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    rows, penalties = spread_rerank(scores, np.zeros(4, dtype=np.int64), 0.0, 3)
    assert rows.tolist() == [0, 1, 2]
    assert penalties.tolist() == [0.0, 0.0, 0.0]


def test_comparable_options_elsewhere_are_brought_up() -> None:
    scores = np.array([0.80, 0.79, 0.78, 0.77])
    districts = np.array([0, 0, 0, 5])
    rows, penalties = spread_rerank(scores, districts, 1.0, 2)
    assert rows.tolist() == [0, 3]
    assert penalties.tolist() == [0.0, 0.0]


def test_a_much_better_item_is_not_pushed_out() -> None:
    rows, _ = spread_rerank(np.array([0.9, 0.85, 0.3]), np.array([0, 0, 1]), 1.0, 2)
    assert rows.tolist() == [0, 1]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1), st.integers(-1, 11)), min_size=1, max_size=60),
    st.floats(0.01, 1.0),
    st.integers(1, 15),
)
def test_pruned_rerank_equals_brute_force(items: list[tuple[float, int]], strength: float, k: int) -> None:
    scores = np.array([score for score, _ in items])
    districts = np.array([district for _, district in items], dtype=np.int64)
    rows, _ = spread_rerank(scores, districts, strength, k)
    assert rows.tolist() == _brute_force(scores, districts, strength, k)
