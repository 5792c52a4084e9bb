"""Scenario invitations: which qualified firms to invite to each open scenario, within per-scenario and
per-firm caps.

A b-matching on the qualified (scenario, firm) pairs: each scenario invites at most `per_scenario` firms,
no firm is invited to more than `per_firm` scenarios; first as many invitations as possible, then the
largest total score among those. Both are solved with HiGHS (`scipy.optimize.milp`, binaries); the
constraint matrix is a bipartite incidence matrix, totally unimodular, so the LP at its root is
already integral.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from matcher.pairs import check_ids, check_pairs, incidence

INTEGRAL_TOLERANCE = 1e-6
"""How far from 0 or 1 a linear program's value may lie and still be read as that binary."""


@dataclass(frozen=True, eq=False)
class InvitationProblem:
    """Open scenarios, firms, and the qualified pairs between them with their match scores."""

    scenario_ids: tuple[str, ...]
    firm_ids: tuple[str, ...]
    pair_scenario: np.ndarray
    """[P] int: scenario index of each qualified pair."""
    pair_firm: np.ndarray
    """[P] int: firm index."""
    pair_score: np.ndarray
    """[P] float64 0..1."""
    per_scenario: int = 3
    per_firm: int = 3

    def __post_init__(self) -> None:
        """ValueError naming the field when the arrays disagree (a programming error of the caller)."""
        check_ids("scenario_ids", self.scenario_ids)
        check_ids("firm_ids", self.firm_ids)
        check_pairs(
            ("pair_scenario", self.pair_scenario, len(self.scenario_ids)),
            ("pair_firm", self.pair_firm, len(self.firm_ids)),
            self.pair_score,
        )
        if self.per_scenario < 1 or self.per_firm < 1:
            raise ValueError(
                f"per_scenario and per_firm must be at least 1, got {self.per_scenario}, {self.per_firm}"
            )


@dataclass(frozen=True)
class Invitation:
    """The firms invited to one scenario, best score first, and how many short of `per_scenario` it falls."""

    scenario_id: str
    enterprise_ids: tuple[str, ...]
    scores: tuple[float, ...]
    shortfall: int
    """per_scenario - the firms invited: fewer qualified firms, or those there are already invited enough."""
    qualified: int
    """How many firms qualify for the scenario."""


def invite(problem: InvitationProblem) -> tuple[Invitation, ...]:
    """For each scenario (in the problem's order), the firms to invite: most invitations, then most score."""
    chosen = _b_matching(problem) if len(problem.pair_score) else np.zeros(0, dtype=np.int64)
    chosen = chosen[np.lexsort((-problem.pair_score[chosen], problem.pair_scenario[chosen]))]
    qualified = np.bincount(problem.pair_scenario, minlength=len(problem.scenario_ids))
    bounds = np.searchsorted(problem.pair_scenario[chosen], np.arange(len(problem.scenario_ids) + 1))
    invitations = []
    for scenario, scenario_id in enumerate(problem.scenario_ids):
        pairs = chosen[bounds[scenario] : bounds[scenario + 1]]
        invitations.append(
            Invitation(
                scenario_id=scenario_id,
                enterprise_ids=tuple(problem.firm_ids[firm] for firm in problem.pair_firm[pairs]),
                scores=tuple(float(score) for score in problem.pair_score[pairs]),
                shortfall=problem.per_scenario - len(pairs),
                qualified=int(qualified[scenario]),
            )
        )
    return tuple(invitations)


def _b_matching(problem: InvitationProblem) -> np.ndarray:
    """The chosen pairs: the most invitations the caps allow, and among those the largest total score.

    Solved as linear programs, whose basic solutions are already integral (above; the second program's
    feasible set is a face of the first one's polytope, so its vertices are too): 0.6 s at 6,306 scenarios
    × 200 firms (63,060 pairs), where HiGHS's integer machinery on the same binaries took 98 s. Should a
    solution come back fractional all the same (a numerical accident), the binaries are solved as such.
    """
    chosen = _most_then_best(problem, integral=False)
    if np.abs(chosen - np.round(chosen)).max() > INTEGRAL_TOLERANCE:
        chosen = _most_then_best(problem, integral=True)
    return np.flatnonzero(chosen > 0.5)


def _most_then_best(problem: InvitationProblem, *, integral: bool) -> np.ndarray:
    """[P] each pair's value in the two-stage program's solution (on binaries when `integral`)."""
    from scipy.optimize import Bounds, LinearConstraint, milp  # 0.23 s to import: not at every start-up

    pairs = len(problem.pair_score)
    caps = LinearConstraint(
        sparse.vstack(
            [
                incidence(problem.pair_scenario, len(problem.scenario_ids)),
                incidence(problem.pair_firm, len(problem.firm_ids)),
            ]
        ),
        ub=np.concatenate(
            [
                np.full(len(problem.scenario_ids), problem.per_scenario),
                np.full(len(problem.firm_ids), problem.per_firm),
            ]
        ),
    )
    kind, exact = np.full(pairs, int(integral)), {"mip_rel_gap": 0.0}
    most = milp(-np.ones(pairs), integrality=kind, bounds=Bounds(0, 1), constraints=caps, options=exact)
    count = round(-most.fun)
    at_least = LinearConstraint(sparse.csr_matrix(np.ones((1, pairs))), lb=count)
    best = milp(
        -problem.pair_score,
        integrality=kind,
        bounds=Bounds(0, 1),
        constraints=[caps, at_least],
        options=exact,
    )
    return np.asarray(best.x)
