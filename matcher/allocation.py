"""Capacity-aware allocation: firms to buildings for the largest total match score, beside the greedy answers.

Each firm's own top list ignores the others, so one good floor is everyone's first choice. `allocate`
solves the whole set at once (`matcher.packing`, HiGHS): each firm in at most one building, its whole
need there (never split), no building given more than its available area and, optionally, no district
given more than a share of the assignments (the 满天星 spread rule, Σ x over a district's buildings <=
share · Σ x). Buildings without a district form one group of their own under that rule, so missing data
cannot escape it. Scenario invitations (`invite`) live in `matcher.invitations` and are exported here too.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import maximum_bipartite_matching

from matcher.invitations import Invitation, InvitationProblem, invite
from matcher.packing import AREA_TOLERANCE_M2, Packing, solve
from matcher.pairs import check_ids, check_pairs, check_vector

__all__ = [
    "Allocation",
    "AllocationProblem",
    "Assignment",
    "Greedy",
    "Infeasible",
    "Invitation",
    "InvitationProblem",
    "Overbooking",
    "allocate",
    "invite",
]

REL_GAP = 1e-4
"""HiGHS's default: the integer phase stops once its answer is proven within this fraction of its bound."""
SCORE_TOLERANCE = 1e-7
"""HiGHS's optimality tolerance: a bound this close to the total (relative) proves it optimal."""


class Infeasible(ValueError):
    """No assignment but the empty one is allowed; the message (Chinese) says why and what would do."""


@dataclass(frozen=True, eq=False)
class AllocationProblem:
    """Prospective firms with their candidate buildings and scores, and every building's available area."""

    firm_ids: tuple[str, ...]
    need_m2: np.ndarray
    """[F] float64 > 0: the area each firm needs, all of it in one building."""
    building_ids: tuple[str, ...]
    available_m2: np.ndarray
    """[B] float64 >= 0."""
    building_districts: tuple[str | None, ...]
    """[B]; None buildings form one group under the share rule."""
    pair_firm: np.ndarray
    """[P] int: firm index of each candidate pair."""
    pair_building: np.ndarray
    """[P] int: building index of each candidate pair."""
    pair_score: np.ndarray
    """[P] float64 0..1."""
    max_district_share: float | None = None
    """0 < share <= 1: no district gets more than this share of the assignments; None: no such rule."""
    time_limit_s: float = 10.0
    """Seconds for the solve: the LP relaxation runs to its end (about 5 s at 200,000 pairs on 2 cores) and
    HiGHS's integer phase gets what is left, at least half a second."""
    rel_gap: float = REL_GAP
    """HiGHS stops once its answer is proven within this fraction of its bound (0: exactly optimal)."""

    def __post_init__(self) -> None:
        """ValueError naming the field when the arrays disagree (a programming error of the caller)."""
        firms, buildings = len(self.firm_ids), len(self.building_ids)
        check_ids("firm_ids", self.firm_ids)
        check_ids("building_ids", self.building_ids)
        check_vector("need_m2", self.need_m2, firms)
        if (self.need_m2 <= 0).any():
            raise ValueError("need_m2: every firm needs a positive area")
        check_vector("available_m2", self.available_m2, buildings)
        if (self.available_m2 < 0).any():
            raise ValueError("available_m2: areas must not be negative")
        if len(self.building_districts) != buildings:
            raise ValueError(f"building_districts: expected {buildings}, got {len(self.building_districts)}")
        check_pairs(
            ("pair_firm", self.pair_firm, firms),
            ("pair_building", self.pair_building, buildings),
            self.pair_score,
        )
        share = self.max_district_share
        if share is not None and not 0 < share <= 1:
            raise ValueError(f"max_district_share: must lie in (0, 1], got {share}")
        if not self.time_limit_s > 0 or not 0 <= self.rel_gap < 1:
            raise ValueError("time_limit_s must be positive and rel_gap in [0, 1)")


@dataclass(frozen=True)
class Assignment:
    """One firm placed in one building, beside the firm's own first choice."""

    enterprise_id: str
    building_id: str
    area_m2: float
    score: float
    first_choice_id: str
    first_choice_score: float

    @property
    def loss(self) -> float:
        """What the firm gives up against its own best candidate (>= 0)."""
        return self.first_choice_score - self.score


@dataclass(frozen=True)
class Overbooking:
    """A building that more firms take as their first choice than its available area holds."""

    building_id: str
    available_m2: float
    wanted_m2: float
    enterprise_ids: tuple[str, ...]


@dataclass(frozen=True)
class Greedy:
    """The baselines: every firm on its first choice (over-booking), and in turn while room is left."""

    total_score: float
    """Every firm on its own best candidate: no assignment scores more, but it over-books."""
    overbooked: tuple[Overbooking, ...]
    """Most area over first, then in the problem's order."""
    feasible_total_score: float
    """Firms by descending best score take their best candidate with room left (areas only, no share rule)."""


@dataclass(frozen=True)
class Allocation:
    """The solver's assignment and how far from optimal it is proven to be, beside the greedy answers."""

    assignments: tuple[Assignment, ...]
    """Best score first."""
    total_score: float
    optimality_gap: float
    """(upper_bound - total_score) / upper_bound: the answer scores at least 1 - gap of the optimum; 0 when
    proven optimal."""
    optimal: bool
    """optimality_gap <= the problem's rel_gap."""
    solve_seconds: float
    greedy: Greedy
    unassigned: tuple[str, ...]
    """Firm ids with no building in the answer, in the problem's order."""
    upper_bound: float
    """No assignment scores more: the LP relaxation's optimum, or HiGHS's bound on the whole problem."""


def allocate(problem: AllocationProblem) -> Allocation:
    """The assignment with the largest total score that no building's area or district share forbids.

    Raises Infeasible when the district share allows no assignment but the empty one.
    """
    first = _first_choices(problem)
    greedy = _greedy(problem, first)
    fits = (
        problem.need_m2[problem.pair_firm] <= problem.available_m2[problem.pair_building] + AREA_TOLERANCE_M2
    )
    pairs = np.flatnonzero(fits)
    group = _district_groups(problem, pairs)
    if len(pairs) and problem.max_district_share is not None:
        _check_share(problem.max_district_share, problem.pair_firm[pairs], group)
    started = time.perf_counter()
    chosen, bound = pairs, 0.0
    if len(pairs):
        packing = Packing(
            problem.pair_firm[pairs],
            problem.pair_building[pairs],
            problem.pair_score[pairs],
            problem.need_m2,
            problem.available_m2,
            group,
            problem.max_district_share,
        )
        packed = solve(packing, problem.time_limit_s, problem.rel_gap)
        chosen, bound = pairs[packed.chosen], packed.upper_bound
    seconds = time.perf_counter() - started
    chosen = chosen[np.lexsort((problem.pair_firm[chosen], -problem.pair_score[chosen]))]
    total = float(problem.pair_score[chosen].sum())
    slack = bound - total
    gap = slack / bound if slack > SCORE_TOLERANCE * max(bound, 1.0) else 0.0
    placed = np.zeros(len(problem.firm_ids), dtype=bool)
    placed[problem.pair_firm[chosen]] = True
    return Allocation(
        assignments=tuple(
            _assignment(problem, int(pair), int(first[problem.pair_firm[pair]])) for pair in chosen
        ),
        total_score=total,
        optimality_gap=gap,
        optimal=gap <= problem.rel_gap,
        solve_seconds=seconds,
        greedy=greedy,
        unassigned=tuple(problem.firm_ids[firm] for firm in np.flatnonzero(~placed)),
        upper_bound=max(bound, total),
    )


def _assignment(problem: AllocationProblem, pair: int, first: int) -> Assignment:
    """Candidate pair `pair` as an assignment, with the firm's first choice (pair `first`)."""
    firm = problem.pair_firm[pair]
    return Assignment(
        enterprise_id=problem.firm_ids[firm],
        building_id=problem.building_ids[problem.pair_building[pair]],
        area_m2=float(problem.need_m2[firm]),
        score=float(problem.pair_score[pair]),
        first_choice_id=problem.building_ids[problem.pair_building[first]],
        first_choice_score=float(problem.pair_score[first]),
    )


def _first_choices(problem: AllocationProblem) -> np.ndarray:
    """[F] the pair of each firm's best candidate (the first listed among equals), -1 for a firm with none."""
    order = np.lexsort((-problem.pair_score, problem.pair_firm))
    firms, starts = np.unique(problem.pair_firm[order], return_index=True)
    first = np.full(len(problem.firm_ids), -1, dtype=np.int64)
    first[firms] = order[starts]
    return first


def _greedy(problem: AllocationProblem, first: np.ndarray) -> Greedy:
    """Every firm on its first choice, with the buildings that over-books; and the feasible greedy total."""
    firms = np.flatnonzero(first >= 0)
    best = first[firms]
    wanted = np.bincount(
        problem.pair_building[best], weights=problem.need_m2[firms], minlength=len(problem.building_ids)
    )
    over = np.flatnonzero(wanted > problem.available_m2 + AREA_TOLERANCE_M2)
    over = over[np.argsort(problem.available_m2[over] - wanted[over], kind="stable")]
    by_building = firms[np.argsort(problem.pair_building[best], kind="stable")]
    bounds = np.searchsorted(np.sort(problem.pair_building[best]), np.stack([over, over + 1]))
    overbooked = tuple(
        Overbooking(
            building_id=problem.building_ids[building],
            available_m2=float(problem.available_m2[building]),
            wanted_m2=float(wanted[building]),
            enterprise_ids=tuple(problem.firm_ids[firm] for firm in by_building[start:end]),
        )
        for building, start, end in zip(over, *bounds, strict=True)
    )
    return Greedy(float(problem.pair_score[best].sum()), overbooked, _feasible_greedy(problem, first))


def _feasible_greedy(problem: AllocationProblem, first: np.ndarray) -> float:
    """Total score when firms by descending best score take, in turn, their best candidate with room left."""
    best = np.zeros(len(first))
    best[first >= 0] = problem.pair_score[first[first >= 0]]
    order = np.lexsort((-problem.pair_score, problem.pair_firm, -best[problem.pair_firm]))
    remaining = problem.available_m2.tolist()
    need = problem.need_m2.tolist()
    placed = [False] * len(need)
    total = 0.0
    firms, buildings, scores = (
        problem.pair_firm[order].tolist(),
        problem.pair_building[order].tolist(),
        problem.pair_score[order].tolist(),
    )
    for firm, building, score in zip(firms, buildings, scores, strict=True):
        if not placed[firm] and need[firm] <= remaining[building] + AREA_TOLERANCE_M2:
            remaining[building] -= need[firm]
            placed[firm] = True
            total += score
    return total


def _district_groups(problem: AllocationProblem, pairs: np.ndarray) -> np.ndarray:
    """[len(pairs)] the district group of each pair's building, numbered 0.. over the groups present."""
    names = {name: code for code, name in enumerate(dict.fromkeys(problem.building_districts))}
    codes = np.array([names[name] for name in problem.building_districts], dtype=np.int64)
    return np.unique(codes[problem.pair_building[pairs]], return_inverse=True)[1].astype(np.int64)


def _share_text(share: float) -> str:
    """0.1 as 0.10; more digits only when the share has them."""
    return f"{share:.2f}" if abs(share * 100 - round(share * 100)) < 1e-9 else f"{share:g}"


def _check_share(share: float, firm: np.ndarray, group: np.ndarray) -> None:
    """Infeasible when the share rule leaves no assignment but the empty one.

    A non-empty assignment of n firms keeps each district at most share · n only when at least 1 / share
    districts get a firm each; taking one of them from each, that needs a matching of that many distinct
    firms to distinct districts. Conversely such a matching, one firm per district, is itself feasible.
    So the rule allows a non-empty answer exactly when share · (largest matching) >= 1.
    """
    groups = int(group.max()) + 1
    graph = sparse.csr_matrix((np.ones(len(firm)), (firm, group)), shape=(int(firm.max()) + 1, groups))
    matched = int((maximum_bipartite_matching(graph, perm_type="column") >= 0).sum())
    if share * matched >= 1 - 1e-9:
        return
    if matched == groups:
        raise _no_answer(f"区域上限 {_share_text(share)} × 可分配区数 {groups} < 1", matched)
    raise _no_answer(
        f"区域上限 {_share_text(share)} 要求至少 {math.ceil(1 / share - 1e-9)} 个区各分到一家不同的企业，"
        f"候选楼宇虽分布在 {groups} 个区，企业最多只能分到其中 {matched} 个区",
        matched,
    )


def check_share_reachable(share: float, districts: int) -> None:
    """Infeasible before any candidate is known: an answer reaches at most `districts` districts, so a share
    below 1 / districts leaves no assignment but the empty one, whatever the candidates (`_check_share`)."""
    if share * districts < 1 - 1e-9:
        raise _no_answer(f"区域上限 {_share_text(share)} × 可分配区数最多 {districts} < 1", districts)


def _no_answer(reason: str, districts: int) -> Infeasible:
    """The refusal of a share that allows only the empty answer when firms reach at most `districts`."""
    least = _share_text(math.ceil(100 / districts - 1e-9) / 100)
    return Infeasible(f"{reason}：除全部不分配外无解；上限至少应为 {least}")
