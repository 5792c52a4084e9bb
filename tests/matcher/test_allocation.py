"""Allocation and scenario invitations: every rule kept, the brute-force optimum, the greedy baselines."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from matcher.allocation import (
    Allocation,
    AllocationProblem,
    Infeasible,
    Invitation,
    InvitationProblem,
    Overbooking,
    allocate,
    invite,
)
from matcher.packing import EXACT_PAIRS
from matcher.pairs import incidence

Pair = tuple[int, int, float]
PERCENT = st.integers(0, 100).map(lambda score: score / 100)
"""Scores as the pages show them: HiGHS's tolerances (1e-9 and so) cannot tell apart closer ones."""


def _problem(
    needs: Sequence[float] | np.ndarray,
    available: Sequence[float] | np.ndarray,
    districts: Sequence[str | None],
    pairs: Sequence[Pair],
    share: float | None = None,
) -> AllocationProblem:
    """Firms F0.. and buildings B0.. from plain lists; (firm, building, score) pairs; solved exactly."""
    return AllocationProblem(
        firm_ids=tuple(f"F{row}" for row in range(len(needs))),
        need_m2=np.array(needs, dtype=np.float64),
        building_ids=tuple(f"B{row}" for row in range(len(available))),
        available_m2=np.array(available, dtype=np.float64),
        building_districts=tuple(districts),
        pair_firm=np.array([firm for firm, _, _ in pairs], dtype=np.int64),
        pair_building=np.array([building for _, building, _ in pairs], dtype=np.int64),
        pair_score=np.array([score for _, _, score in pairs], dtype=np.float64),
        max_district_share=share,
        rel_gap=0.0,
    )


def _respects(problem: AllocationProblem, choice: Sequence[int]) -> bool:
    """Whether the pairs `choice` (at most one per firm) fit every building's area and the district share."""
    taken = np.zeros(len(problem.building_ids))
    for pair in choice:
        taken[problem.pair_building[pair]] += problem.need_m2[problem.pair_firm[pair]]
    if (taken > problem.available_m2 + 1e-9).any():
        return False
    share = problem.max_district_share
    counts = Counter(problem.building_districts[problem.pair_building[pair]] for pair in choice)
    return share is None or all(count <= share * len(choice) + 1e-9 for count in counts.values())


def _brute_force(problem: AllocationProblem) -> tuple[float, bool]:
    """The best total over every assignment, and whether any non-empty assignment is allowed."""
    options = [
        [None, *np.flatnonzero(problem.pair_firm == firm).tolist()] for firm in range(len(problem.firm_ids))
    ]
    best, non_empty = 0.0, False
    for combination in itertools.product(*options):
        choice = [pair for pair in combination if pair is not None]
        if choice and _respects(problem, choice):
            best, non_empty = max(best, float(problem.pair_score[choice].sum())), True
    return best, non_empty


def _feasible_greedy(problem: AllocationProblem) -> float:
    """Firms by descending best score take their best candidate with room left, written out plainly."""
    candidates = {
        firm: sorted(np.flatnonzero(problem.pair_firm == firm), key=lambda pair: -problem.pair_score[pair])
        for firm in range(len(problem.firm_ids))
    }
    order = sorted(
        (firm for firm in candidates if candidates[firm]),
        key=lambda firm: -problem.pair_score[candidates[firm][0]],
    )
    room, total = problem.available_m2.copy(), 0.0
    for firm in order:
        for pair in candidates[firm]:
            building = problem.pair_building[pair]
            if problem.need_m2[firm] <= room[building]:
                room[building] -= problem.need_m2[firm]
                total += problem.pair_score[pair]
                break
    return total


def _check_answer(problem: AllocationProblem, found: Allocation) -> None:
    """Every rule and every reported figure of an allocation, recomputed from the problem."""
    firm_row = {firm: row for row, firm in enumerate(problem.firm_ids)}
    building_row = {building: row for row, building in enumerate(problem.building_ids)}
    pair_of = {
        (firm, building): pair
        for pair, (firm, building) in enumerate(zip(problem.pair_firm, problem.pair_building, strict=True))
    }
    choice = [pair_of[firm_row[a.enterprise_id], building_row[a.building_id]] for a in found.assignments]
    assert len({a.enterprise_id for a in found.assignments}) == len(found.assignments)  # one building a firm
    assert _respects(problem, choice)
    assert found.total_score == pytest.approx(problem.pair_score[choice].sum())
    scores = [a.score for a in found.assignments]
    assert scores == sorted(scores, reverse=True)
    for assigned, pair in zip(found.assignments, choice, strict=True):
        firm = problem.pair_firm[pair]
        assert assigned.score == problem.pair_score[pair]
        assert assigned.area_m2 == problem.need_m2[firm]
        assert assigned.first_choice_score == problem.pair_score[problem.pair_firm == firm].max()
        first = pair_of[firm, building_row[assigned.first_choice_id]]
        assert problem.pair_score[first] == assigned.first_choice_score
        assert assigned.loss >= 0
    placed = {a.enterprise_id for a in found.assignments}
    assert found.unassigned == tuple(firm for firm in problem.firm_ids if firm not in placed)
    assert found.upper_bound >= found.total_score - 1e-9
    assert found.optimality_gap == pytest.approx(
        (found.upper_bound - found.total_score) / found.upper_bound if found.upper_bound > 0 else 0.0,
        abs=1e-12,
    )
    assert found.optimal == (found.optimality_gap <= problem.rel_gap)
    assert found.greedy.feasible_total_score == pytest.approx(_feasible_greedy(problem))
    first_total, overbooked = _first_choices(problem)
    assert found.greedy.total_score == pytest.approx(first_total)
    assert found.greedy.overbooked == overbooked


def _first_choices(problem: AllocationProblem) -> tuple[float, tuple[Overbooking, ...]]:
    """Every firm on its best candidate (the first listed among equals): the total, the over-booked."""
    best: dict[int, int] = {}
    for pair, firm in enumerate(problem.pair_firm.tolist()):
        if firm not in best or problem.pair_score[pair] > problem.pair_score[best[firm]]:
            best[firm] = pair
    wanted: dict[int, list[int]] = {}
    for firm, pair in sorted(best.items()):
        wanted.setdefault(int(problem.pair_building[pair]), []).append(firm)
    over = [
        Overbooking(
            building_id=problem.building_ids[building],
            available_m2=float(problem.available_m2[building]),
            wanted_m2=float(sum(problem.need_m2[firm] for firm in firms)),
            enterprise_ids=tuple(problem.firm_ids[firm] for firm in firms),
        )
        for building, firms in sorted(wanted.items())
        if sum(problem.need_m2[firm] for firm in firms) > problem.available_m2[building]
    ]
    over.sort(key=lambda item: item.available_m2 - item.wanted_m2)
    return float(sum(problem.pair_score[pair] for pair in best.values())), tuple(over)


@st.composite
def small_problems(draw: st.DrawFn) -> AllocationProblem:
    """Up to 5 firms and 3 buildings, any candidate pairs, sometimes a district share."""
    firms, buildings = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    needs = draw(st.lists(st.sampled_from([100.0, 200.0, 300.0, 500.0]), min_size=firms, max_size=firms))
    available = draw(
        st.lists(st.sampled_from([0.0, 200.0, 400.0, 700.0]), min_size=buildings, max_size=buildings)
    )
    districts = draw(
        st.lists(st.sampled_from(["渝中区", "江北区", None]), min_size=buildings, max_size=buildings)
    )
    cells = draw(st.sets(st.tuples(st.integers(0, firms - 1), st.integers(0, buildings - 1)), max_size=12))
    scores = draw(st.lists(PERCENT, min_size=len(cells), max_size=len(cells)))
    share = draw(st.sampled_from([None, None, 0.3, 0.5, 0.7, 1.0]))
    pairs = [(firm, building, score) for (firm, building), score in zip(sorted(cells), scores, strict=True)]
    return _problem(needs, available, districts, pairs, share)


@settings(max_examples=150, deadline=None)
@given(small_problems())
def test_the_answer_is_the_brute_force_optimum(problem: AllocationProblem) -> None:
    best, non_empty = _brute_force(problem)
    fits = problem.need_m2[problem.pair_firm] <= problem.available_m2[problem.pair_building]
    if fits.any() and not non_empty:
        with pytest.raises(Infeasible):
            allocate(problem)
        return
    found = allocate(problem)
    _check_answer(problem, found)
    assert found.optimal
    assert found.total_score == pytest.approx(best, abs=1e-6)
    assert found.greedy.total_score >= found.total_score - 1e-9  # first choices bound every assignment
    if problem.max_district_share is None:
        assert found.total_score >= found.greedy.feasible_total_score - 1e-9


def _random_problem(seed: int, firms: int, buildings: int, candidates: int) -> AllocationProblem:
    """Log-normal needs and areas in three districts, the first the most wanted; random candidates."""
    rng = np.random.default_rng(seed)
    districts = [f"区{row % 3}" for row in range(buildings)]
    popularity = rng.uniform(0, 0.5, buildings) + 0.4 * (np.arange(buildings) % 3 == 0)
    pairs = [
        (firm, int(building), float(min(popularity[building] + rng.uniform(0, 0.3), 1.0)))
        for firm in range(firms)
        for building in rng.choice(buildings, candidates, replace=False)
    ]
    needs, available = rng.lognormal(5.5, 1.0, firms), rng.lognormal(7.0, 0.8, buildings)
    return dataclasses.replace(_problem(needs, available, districts, pairs), rel_gap=1e-4)


@pytest.mark.parametrize("share", [None, 0.4])
def test_past_the_exact_size_relax_and_fix_keeps_every_rule(share: float | None) -> None:
    # with the share, the LP's whole assignments crowd the first district: some are let go before fixing
    problem = dataclasses.replace(_random_problem(3, 300, 60, 12), max_district_share=share)
    assert len(problem.pair_score) > EXACT_PAIRS  # the LP relaxation fixes what it assigns whole
    found = allocate(problem)
    _check_answer(problem, found)
    assert found.total_score >= found.greedy.feasible_total_score
    assert 0 < found.optimality_gap < 0.1


def test_five_firms_wanting_one_floor_are_spread_over_their_next_choices() -> None:
    needs = [400.0, 500.0, 600.0, 700.0, 800.0]  # each fits the 1,200 m² floor B0 alone; together 3,000 m²
    second = [0.85, 0.6, 0.8, 0.5, 0.7]  # each firm's own second building B1..B5, with room to spare
    pairs = [(firm, 0, 0.9) for firm in range(5)] + [(firm, firm + 1, second[firm]) for firm in range(5)]
    problem = _problem(needs, [1_200.0] + [5_000.0] * 5, ["渝中区"] * 6, pairs)
    found = allocate(problem)
    assert found.greedy.overbooked == (Overbooking("B0", 1_200.0, 3_000.0, ("F0", "F1", "F2", "F3", "F4")),)
    _check_answer(problem, found)
    on_floor = {a.enterprise_id for a in found.assignments if a.building_id == "B0"}
    # the floor goes to the firms that lose most elsewhere and fit it together: F1 and F3 (500 + 700 m²)
    assert on_floor == {"F1", "F3"}
    assert not found.unassigned
    assert found.total_score == pytest.approx(_brute_force(problem)[0])


def test_district_share_caps_each_district() -> None:
    pairs = [(firm, building, 0.9 - 0.1 * building) for firm in range(5) for building in range(5)]
    districts = ["渝中区", "江北区", "南岸区", "渝北区", "九龙坡区"]
    problem = _problem([100.0] * 5, [1_000.0] * 5, districts, pairs, share=0.2)
    found = allocate(problem)
    _check_answer(problem, found)
    assert sorted(a.building_id for a in found.assignments) == ["B0", "B1", "B2", "B3", "B4"]
    unlimited = allocate(dataclasses.replace(problem, max_district_share=None))
    assert {a.building_id for a in unlimited.assignments} == {"B0"}


def test_a_share_too_small_for_the_districts_is_infeasible_and_says_what_would_do() -> None:
    pairs = [(firm, building, 0.5) for firm in range(5) for building in range(5)]
    districts = ["渝中区", "江北区", "南岸区", "渝北区", "九龙坡区"]
    problem = _problem([100.0] * 5, [1_000.0] * 5, districts, pairs, share=0.1)
    with pytest.raises(Infeasible) as refused:
        allocate(problem)
    assert str(refused.value) == "区域上限 0.10 × 可分配区数 5 < 1：除全部不分配外无解；上限至少应为 0.20"
    assert allocate(dataclasses.replace(problem, max_district_share=0.2)).assignments


def test_a_share_needing_more_firms_than_can_spread_is_infeasible() -> None:
    # one firm with a building in each of three districts: whatever it gets is 100 % of one district
    problem = _problem(
        [100.0], [1_000.0] * 3, ["渝中区", "江北区", "南岸区"], [(0, 0, 0.9), (0, 1, 0.8), (0, 2, 0.7)]
    )
    with pytest.raises(Infeasible) as refused:
        allocate(dataclasses.replace(problem, max_district_share=0.5))
    assert "候选楼宇虽分布在 3 个区，企业最多只能分到其中 1 个区" in str(refused.value)
    assert str(refused.value).endswith("上限至少应为 1.00")
    assert len(allocate(dataclasses.replace(problem, max_district_share=1.0)).assignments) == 1


def test_buildings_without_a_district_share_one_group() -> None:
    pairs = [(firm, building, 0.9) for firm in range(3) for building in range(3)]
    problem = _problem([300.0] * 3, [300.0] * 3, ["渝中区", None, None], pairs, share=0.5)
    found = allocate(problem)
    _check_answer(problem, found)
    # one firm in 渝中区 and one in the no-district group; a third would make either group 2 of 3
    assert sorted(a.building_id for a in found.assignments)[0] == "B0"
    assert len(found.assignments) == 2


@pytest.mark.parametrize(
    ("needs", "available", "pairs"),
    [([], [], []), ([100.0, 200.0], [500.0], []), ([100.0, 200.0], [50.0], [(0, 0, 0.9), (1, 0, 0.8)])],
    ids=["nothing", "no pairs", "nothing fits"],
)
def test_a_problem_with_nothing_to_assign_gives_an_empty_answer(
    needs: list[float], available: list[float], pairs: list[Pair]
) -> None:
    problem = _problem(needs, available, ["渝中区"] * len(available), pairs, share=0.3)
    found = allocate(problem)
    assert (found.assignments, found.total_score, found.optimality_gap) == ((), 0.0, 0.0)
    assert found.optimal
    assert found.unassigned == problem.firm_ids
    _check_answer(problem, found)


BAD = {
    "need length": {"need_m2": np.array([100.0])},
    "need zero": {"need_m2": np.array([100.0, 0.0])},
    "need NaN": {"need_m2": np.array([100.0, np.nan])},
    "negative area": {"available_m2": np.array([-1.0, 500.0])},
    "districts length": {"building_districts": ("渝中区",)},
    "firm out of range": {"pair_firm": np.array([0, 2])},
    "building out of range": {"pair_building": np.array([-1, 1])},
    "float indices": {"pair_firm": np.array([0.0, 1.0])},
    "pair lengths": {"pair_building": np.array([0, 1, 1])},
    "score NaN": {"pair_score": np.array([0.5, np.nan])},
    "score over 1": {"pair_score": np.array([0.5, 1.5])},
    "pair twice": {"pair_firm": np.array([0, 0]), "pair_building": np.array([1, 1])},
    "share zero": {"max_district_share": 0.0},
    "share over 1": {"max_district_share": 1.5},
    "no time": {"time_limit_s": 0.0},
    "firm twice": {"firm_ids": ("F0", "F0")},
}


@pytest.mark.parametrize("change", BAD.values(), ids=BAD.keys())
def test_inconsistent_input_is_a_value_error(change: dict[str, Any]) -> None:
    problem = _problem([100.0, 200.0], [500.0, 500.0], ["渝中区", "江北区"], [(0, 0, 0.5), (1, 1, 0.5)])
    with pytest.raises(ValueError, match=next(iter(change)).split("_")[0]) as refused:
        dataclasses.replace(problem, **change)
    assert type(refused.value) is ValueError


# ---- scenario invitations ----------------------------------------------------------------------


def _invitations(
    scenarios: int, firms: int, pairs: Sequence[Pair], per_scenario: int = 3, per_firm: int = 3
) -> InvitationProblem:
    """Scenarios S0.., firms F0.., (scenario, firm, score) pairs."""
    return InvitationProblem(
        scenario_ids=tuple(f"S{row}" for row in range(scenarios)),
        firm_ids=tuple(f"F{row}" for row in range(firms)),
        pair_scenario=np.array([scenario for scenario, _, _ in pairs], dtype=np.int64),
        pair_firm=np.array([firm for _, firm, _ in pairs], dtype=np.int64),
        pair_score=np.array([score for _, _, score in pairs], dtype=np.float64),
        per_scenario=per_scenario,
        per_firm=per_firm,
    )


def _check_invitations(problem: InvitationProblem, found: Sequence[Invitation]) -> list[Pair]:
    """Caps, shortfall, qualified counts and order; the invited pairs as (scenario, firm, score)."""
    assert [item.scenario_id for item in found] == list(problem.scenario_ids)
    score = {
        (int(s), int(f)): float(v)
        for s, f, v in zip(problem.pair_scenario, problem.pair_firm, problem.pair_score, strict=True)
    }
    invited = []
    for scenario, item in enumerate(found):
        firms = [problem.firm_ids.index(firm) for firm in item.enterprise_ids]
        assert item.scores == tuple(score[scenario, firm] for firm in firms)  # qualified pairs only
        assert list(item.scores) == sorted(item.scores, reverse=True)
        assert len(set(firms)) == len(firms) <= problem.per_scenario
        assert item.shortfall == problem.per_scenario - len(firms)
        assert item.qualified == int((problem.pair_scenario == scenario).sum())
        invited += [(scenario, firm, score[scenario, firm]) for firm in firms]
    assert max(Counter(firm for _, firm, _ in invited).values(), default=0) <= problem.per_firm
    return invited


@st.composite
def small_invitations(draw: st.DrawFn) -> InvitationProblem:
    """Up to 3 scenarios and 4 firms, any qualified pairs, caps of 1 to 3."""
    scenarios, firms = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    cells = draw(st.sets(st.tuples(st.integers(0, scenarios - 1), st.integers(0, firms - 1)), max_size=12))
    scores = draw(st.lists(PERCENT, min_size=len(cells), max_size=len(cells)))
    pairs = [(scenario, firm, score) for (scenario, firm), score in zip(sorted(cells), scores, strict=True)]
    return _invitations(scenarios, firms, pairs, draw(st.integers(1, 3)), draw(st.integers(1, 3)))


@settings(max_examples=100, deadline=None)
@given(small_invitations())
def test_invitations_are_the_most_then_the_best(problem: InvitationProblem) -> None:
    invited = _check_invitations(problem, invite(problem))
    best = (0, 0.0)
    pairs = list(
        zip(
            problem.pair_scenario.tolist(),
            problem.pair_firm.tolist(),
            problem.pair_score.tolist(),
            strict=True,
        )
    )
    for size in range(len(pairs) + 1):
        for subset in itertools.combinations(pairs, size):
            per_scenario = Counter(scenario for scenario, _, _ in subset)
            per_firm = Counter(firm for _, firm, _ in subset)
            if max(per_scenario.values(), default=0) <= problem.per_scenario and (
                max(per_firm.values(), default=0) <= problem.per_firm
            ):
                best = max(best, (size, sum(score for _, _, score in subset)))
    assert len(invited) == best[0]
    assert sum(score for _, _, score in invited) == pytest.approx(best[1], abs=1e-6)


def test_each_scenario_gets_three_when_three_qualify_and_says_its_shortfall() -> None:
    qualified = {0: [0, 1, 2, 3, 4], 1: [2, 3, 5], 2: [4], 3: []}
    pairs = [(scenario, firm, 0.5 + 0.05 * firm) for scenario, firms in qualified.items() for firm in firms]
    found = invite(_invitations(4, 6, pairs))
    _check_invitations(_invitations(4, 6, pairs), found)
    assert [len(item.enterprise_ids) for item in found] == [
        min(3, len(firms)) for firms in qualified.values()
    ]
    assert [item.shortfall for item in found] == [3 - min(3, len(firms)) for firms in qualified.values()]
    assert found[0].enterprise_ids[0] == "F4"  # the best qualified firm first


def test_no_firm_is_pushed_to_more_scenarios_than_its_cap() -> None:
    pairs = [(scenario, firm, 0.9) for scenario in range(4) for firm in range(3)]  # 12 wishes, 9 places
    problem = _invitations(4, 3, pairs)
    invited = _check_invitations(problem, invite(problem))
    assert len(invited) == 9
    assert sum(item.shortfall for item in invite(problem)) == 3


def test_invitations_with_nothing_to_invite() -> None:
    assert invite(_invitations(0, 2, [])) == ()
    found = invite(_invitations(2, 0, [], per_scenario=2))
    assert [(item.enterprise_ids, item.shortfall, item.qualified) for item in found] == [((), 2, 0)] * 2


@pytest.mark.parametrize(
    "change",
    [{"per_scenario": 0}, {"per_firm": 0}, {"pair_firm": np.array([5])}, {"pair_score": np.array([np.nan])}],
    ids=["per_scenario", "per_firm", "pair_firm", "pair_score"],
)
def test_inconsistent_invitations_are_a_value_error(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(change))):
        dataclasses.replace(_invitations(1, 2, [(0, 1, 0.5)]), **change)


def _random_invitations(seed: int, scenarios: int = 400, firms: int = 40) -> InvitationProblem:
    """Every scenario qualifying 10 of `firms` firms drawn at random, scores to the hundredth."""
    rng = np.random.default_rng(seed)
    pairs = [
        (scenario, int(firm), round(float(rng.random()), 2))
        for scenario in range(scenarios)
        for firm in rng.choice(firms, size=10, replace=False)
    ]
    return _invitations(scenarios, firms, pairs)


def _integer_optimum(problem: InvitationProblem) -> tuple[int, float]:
    """The most invitations, then the best total score, as HiGHS proves them on the binaries."""
    pairs, scenarios, firms = len(problem.pair_score), len(problem.scenario_ids), len(problem.firm_ids)
    caps = LinearConstraint(
        sparse.vstack([incidence(problem.pair_scenario, scenarios), incidence(problem.pair_firm, firms)]),
        ub=np.concatenate([np.full(scenarios, problem.per_scenario), np.full(firms, problem.per_firm)]),
    )
    most = milp(-np.ones(pairs), integrality=np.ones(pairs), bounds=Bounds(0, 1), constraints=caps)
    count = round(-most.fun)
    at_least = LinearConstraint(np.ones((1, pairs)), lb=count)
    best = milp(
        -problem.pair_score, integrality=np.ones(pairs), bounds=Bounds(0, 1), constraints=[caps, at_least]
    )
    return count, -best.fun


@pytest.mark.parametrize("seed", [1, 2])
def test_invitations_on_a_crowded_pool_match_the_integer_optimum(seed: int) -> None:
    problem = _random_invitations(seed)  # 4,000 pairs, 120 places: most scenarios go short
    invited = _check_invitations(problem, invite(problem))
    count, total = _integer_optimum(problem)
    assert len(invited) == count == 120
    assert sum(score for _, _, score in invited) == pytest.approx(total, abs=1e-6)


def test_a_fractional_linear_answer_is_solved_again_on_the_binaries(monkeypatch: pytest.MonkeyPatch) -> None:
    solved: list[bool] = []

    def halved(*args: Any, integrality: np.ndarray, **kwargs: Any) -> Any:
        """HiGHS's answer, its values halved when it was asked for no integers."""
        found = milp(*args, integrality=integrality, **kwargs)
        solved.append(bool(integrality.any()))
        if not integrality.any():
            found.x = found.x / 2
        return found

    monkeypatch.setattr(optimize, "milp", halved)
    problem = _random_invitations(3)
    invited = _check_invitations(problem, invite(problem))
    assert solved == [False, False, True, True]
    count, total = _integer_optimum(problem)
    assert len(invited) == count
    assert sum(score for _, _, score in invited) == pytest.approx(total, abs=1e-6)
