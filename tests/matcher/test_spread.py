"""District spread: exact greedy re-ranking, no-op at strength zero, no pick lost to the candidate pool."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.spread import PENALTY_PER_REPEAT, pick, spread_rerank


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


def _exhaustive(
    scores: np.ndarray, eligible: np.ndarray, districts: np.ndarray, strength: float, k: int, ids: list[str]
) -> list[int]:
    """The greedy rule over every eligible row, ties going to the smaller id: no candidate pool."""
    rows = sorted(np.flatnonzero(eligible).tolist(), key=lambda row: (-scores[row], ids[row]))
    chosen = _brute_force(scores[rows], districts[rows], strength, k)
    return [rows[i] for i in chosen]


def _groups(districts: np.ndarray, strength: float) -> list[np.ndarray]:
    """The rows of each district, as the tables give them (one group of all rows when nothing spreads)."""
    if strength == 0:
        return [np.arange(len(districts))]
    return [np.flatnonzero(districts == district) for district in np.unique(districts)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 40),
            st.one_of(st.just(0), st.integers(-1, 11)),
            st.booleans(),
            st.integers(0, 10**6),
        ),
        min_size=1,
        max_size=400,
        unique_by=lambda item: item[3],
    ),
    st.sampled_from([0.0, 0.01, 0.3, 0.5, 1.0]),
    st.integers(1, 25),
)
def test_the_candidate_pool_loses_no_pick(
    items: list[tuple[int, int, bool, int]], strength: float, k: int
) -> None:
    # Scores on a coarse grid, so that ties (broken by id) and equal penalised scores are common, and
    # half the rows in one district, so that the best rows often pile up there.
    scores = np.array([score / 40 for score, _, _, _ in items])
    districts = np.array([district for _, district, _, _ in items], dtype=np.int64)
    eligible = np.array([ok for _, _, ok, _ in items])
    ids = [f"X{number:07d}" for _, _, _, number in items]
    groups = _groups(districts, strength)
    rows, penalties = pick(
        scores, eligible, groups, districts, strength, k, lambda chosen: [ids[r] for r in chosen]
    )
    assert rows.tolist() == _exhaustive(scores, eligible, districts, strength, k, ids)
    counts: dict[int, int] = {}
    for row, penalty in zip(rows.tolist(), penalties.tolist(), strict=True):
        assert penalty == strength * PENALTY_PER_REPEAT * counts.get(int(districts[row]), 0)
        counts[int(districts[row])] = counts.get(int(districts[row]), 0) + 1


def test_rows_below_the_top_of_a_crowded_district_reach_other_districts() -> None:
    # The 100 best rows all lie in district 0: at full strength its 5th row already falls below the
    # other districts' best, so the picks come from the tops of all districts, not the top scores.
    scores = np.r_[0.9 - 0.001 * np.arange(100), np.full(100, 0.5)]
    districts = np.r_[np.zeros(100, dtype=np.int64), np.arange(100) % 12 + 1]
    eligible = np.ones(200, dtype=bool)
    ids = [f"X{row:03d}" for row in range(200)]
    groups = _groups(districts, 1.0)
    rows, _ = pick(scores, eligible, groups, districts, 1.0, 10, lambda chosen: [ids[r] for r in chosen])
    assert rows.tolist() == _exhaustive(scores, eligible, districts, 1.0, 10, ids)
    assert (districts[rows] != 0).sum() == 6
