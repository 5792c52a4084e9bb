"""Capacity-aware allocation (matcher.allocation): solve time, proven gap, total score beside greedy answers.

Usage: python bench/allocation.py [--cases demo,synthetic] [--shares 0.2,0.1] [--time-limit 10] [--whole]
(run from the repository root)

Two problems, each solved without a district share and with each of `--shares` (12 districts: 0.2 does
not bind, 0.1 does):
- demo: the bundled catalogue's 1,200 firms and 320 buildings, built exactly as the service builds its
  problems (`api.services.allocation.pool_problem`, `invitation_problem`) over the recommender with the
  model-free hashing encoder of matcher.hashing: each firm's top 20 buildings that can hold it, scored
  without the spread penalty; the need is `matcher.factors.firm_need_m2`. Also the scenario
  invitations: every open scenario's top 10 firms are its qualified candidates.
- synthetic: 10,000 firms × 3,000 buildings. Scores come from latent vectors (8-d, one per firm and per
  building) plus a popularity per building, so that popular buildings are everyone's candidates; areas are
  log-normal with the demo's parameters (fitted in the same run); each firm's candidates are its 20 best
  buildings with room for its need (the recommender's hard area rule).
For each: the solve time (allocate, greedy baselines included), the proven gap against the upper bound
(the LP relaxation, or HiGHS's own bound on the whole problem), the total score beside the greedy answers
(every firm on its first choice, over-booking; and the feasible greedy), and the over-booked buildings.
`--whole` gives HiGHS the whole problem whatever its size (no relax-and-fix), for comparison: expect the
time limit to stop it far from its bound. Goals: demo ≤ 2 s, 10,000 × 3,000 ≤ 30 s (on 2 cores), each
recorded in var/bench/results.jsonl (bench/results.py) unless `--whole`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Sequence

os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np
import results

from api.services.allocation import CANDIDATES, QUALIFIED, invitation_problem, open_scenarios, pool_problem
from demo.bundle import demo_records
from demo.generate import DEMO_REFERENCE_DATE
from matcher import packing
from matcher.allocation import (
    Allocation,
    AllocationProblem,
    InvitationProblem,
    allocate,
    invite,
)
from matcher.hashing import HashingEncoder
from matcher.recommender import Recommender

SYNTHETIC_FIRMS, SYNTHETIC_BUILDINGS = 10_000, 3_000
SYNTHETIC_SCENARIOS, SYNTHETIC_BIDDERS = 6_300, 200
LATENT_DIM = 8
DISTRICTS = 12
GOAL_SECONDS = {"demo": 2.0, "synthetic": 30.0}
BENCH = "allocation (bench/allocation.py)"


def demo_problems() -> tuple[AllocationProblem, InvitationProblem]:
    """The demo's allocation and invitations, built as the service builds them (`api.services.allocation`)."""
    recommender = Recommender(HashingEncoder(), today=DEMO_REFERENCE_DATE).load(demo_records())
    allocation, _ = pool_problem(recommender, recommender.weights, None)
    scenarios = open_scenarios(recommender, None, DEMO_REFERENCE_DATE)
    return allocation, invitation_problem(recommender, recommender.weights, scenarios.values())


def synthetic_problem(like: AllocationProblem, seed: int = 7) -> AllocationProblem:
    """10,000 firms × 3,000 buildings with contested popular buildings and the demo's log-normal areas."""
    rng = np.random.default_rng(seed)
    firms, buildings = SYNTHETIC_FIRMS, SYNTHETIC_BUILDINGS
    firm_taste = rng.standard_normal((firms, LATENT_DIM))
    building_traits = rng.standard_normal((buildings, LATENT_DIM))
    popularity = rng.standard_normal(buildings)
    need = rng.lognormal(np.log(like.need_m2).mean(), np.log(like.need_m2).std(), firms)
    available = rng.lognormal(np.log(like.available_m2).mean(), np.log(like.available_m2).std(), buildings)
    district_weights = np.linspace(2.0, 1.0, DISTRICTS)
    districts = rng.choice(DISTRICTS, size=buildings, p=district_weights / district_weights.sum())
    firm_of, building_of, score = [], [], []
    for start in range(0, firms, 1_000):  # 1,000 × 3,000 scores at a time
        rows = np.arange(start, min(start + 1_000, firms))
        raw = firm_taste[rows] @ building_traits.T / np.sqrt(LATENT_DIM) + popularity
        raw[need[rows, np.newaxis] > available] = -np.inf
        top = np.argpartition(-raw, CANDIDATES, axis=1)[:, :CANDIDATES]
        picked = np.take_along_axis(raw, top, axis=1)
        room = np.isfinite(picked)
        firm_of.append(np.broadcast_to(rows[:, np.newaxis], top.shape)[room])
        building_of.append(top[room])
        score.append(1.0 / (1.0 + np.exp(-picked[room])))
    return AllocationProblem(
        firm_ids=tuple(f"F{row:05d}" for row in range(firms)),
        need_m2=need,
        building_ids=tuple(f"B{row:04d}" for row in range(buildings)),
        available_m2=available,
        building_districts=tuple(f"D{district:02d}" for district in districts),
        pair_firm=np.concatenate(firm_of),
        pair_building=np.concatenate(building_of),
        pair_score=np.concatenate(score),
    )


def synthetic_invitations(seed: int = 7) -> InvitationProblem:
    """6,300 open scenarios, each qualifying its top 10 of 200 firms (latent scores plus popularity)."""
    rng = np.random.default_rng(seed)
    scenarios, firms = SYNTHETIC_SCENARIOS, SYNTHETIC_BIDDERS
    raw = rng.standard_normal((scenarios, LATENT_DIM)) @ rng.standard_normal((LATENT_DIM, firms))
    raw = raw / np.sqrt(LATENT_DIM) + rng.standard_normal(firms)
    top = np.argpartition(-raw, QUALIFIED, axis=1)[:, :QUALIFIED]
    return InvitationProblem(
        scenario_ids=tuple(f"S{row:05d}" for row in range(scenarios)),
        firm_ids=tuple(f"F{row:03d}" for row in range(firms)),
        pair_scenario=np.repeat(np.arange(scenarios), QUALIFIED),
        pair_firm=top.ravel(),
        pair_score=1.0 / (1.0 + np.exp(-np.take_along_axis(raw, top, axis=1).ravel())),
    )


def _solve(problem: AllocationProblem, share: float | None, time_limit: float) -> tuple[Allocation, float]:
    """The allocation and the wall time of `allocate` in seconds."""
    started = time.perf_counter()
    found = allocate(dataclasses.replace(problem, max_district_share=share, time_limit_s=time_limit))
    return found, time.perf_counter() - started


def _row(case: str, problem: AllocationProblem, share: float | None, found: Allocation, wall: float) -> str:
    """One line of the table."""
    greedy = found.greedy
    return (
        f"{case:<10}{'-' if share is None else f'{share:g}':>6}{len(problem.firm_ids):>8,}"
        f"{len(problem.building_ids):>7,}{len(problem.pair_score):>9,}{wall:>8.2f}{found.solve_seconds:>8.2f}"
        f"{found.total_score:>10.1f}{found.upper_bound:>10.1f}{found.optimality_gap:>8.2%}{found.optimal!s:>6}"
        f"{len(found.assignments):>8,}{greedy.feasible_total_score:>10.1f}"
        f"{found.total_score / max(greedy.feasible_total_score, 1e-9) - 1:>+8.1%}"
        f"{greedy.total_score:>10.1f}{len(greedy.overbooked):>6,}"
    )


def measure(
    case: str, problem: AllocationProblem, shares: Sequence[float | None], time_limit: float, *, record: bool
) -> None:
    """Solve the problem under each share and print a line each; `record` the goal line."""
    timings = []
    for share in shares:
        found, wall = _solve(problem, share, time_limit)
        timings.append((wall, found))
        print(_row(case, problem, share, found, wall), flush=True)
    if record:
        walls = [wall for wall, _ in timings]
        gaps = [found.optimality_gap for _, found in timings]
        plain = timings[0][1]
        results.record(
            BENCH,
            f"{case}: {len(problem.firm_ids):,} firms × {len(problem.building_ids):,} buildings, "
            f"top-{CANDIDATES} candidates",
            f"allocate {' / '.join(f'{wall:.2f}' for wall in walls)} s "
            f"(share {', '.join('none' if share is None else f'{share:g}' for share in shares)}); "
            f"gap to the bound {' / '.join(f'{gap:.1%}' for gap in gaps)}; total {plain.total_score:.1f} "
            f"against feasible greedy {plain.greedy.feasible_total_score:.1f}; "
            f"{len(plain.greedy.overbooked)} buildings over-booked by first choices",
            f"solve ≤ {GOAL_SECONDS[case]:g} s on 2 cores",
            max(walls) <= GOAL_SECONDS[case],
            "HiGHS's integer phase on what the LP relaxation leaves open; the LP itself grows with the pairs",
        )


def _invitations(case: str, problem: InvitationProblem) -> None:
    """Time a case's scenario invitations and print their shortfall."""
    started = time.perf_counter()
    found = invite(problem)
    seconds = time.perf_counter() - started
    invited = sum(len(item.enterprise_ids) for item in found)
    short = [item for item in found if item.shortfall]
    per_firm = np.bincount(
        [problem.firm_ids.index(firm) for item in found for firm in item.enterprise_ids],
        minlength=len(problem.firm_ids),
    )
    print(
        f"{case} invitations: {len(found):,} open scenarios × their top {QUALIFIED} firms "
        f"({len(problem.pair_score):,} qualified pairs): {seconds:.2f} s, {invited} invitations, "
        f"{len(short)} scenarios short (of {sum(item.shortfall for item in short)} firms), "
        f"busiest firm invited {per_firm.max()} times"
    )


def main() -> None:
    """Build the problems, solve each under each share, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", default="demo,synthetic", help="demo, synthetic or both (demo,synthetic)")
    parser.add_argument("--shares", default="0.2,0.1", help="district shares to solve with too (0.2,0.1)")
    parser.add_argument("--time-limit", type=float, default=10.0, help="allocate's time limit, seconds (10)")
    parser.add_argument("--whole", action="store_true", help="HiGHS on the whole problem, no relax-and-fix")
    arguments = parser.parse_args()
    if arguments.whole:
        packing.EXACT_PAIRS = np.iinfo(np.int64).max
    cases = arguments.cases.split(",")
    shares = (None, *(float(share) for share in arguments.shares.split(",") if share))
    print(
        f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f}; time limit {arguments.time_limit:g} s"
        f"{'; HiGHS on the whole problem' if arguments.whole else ''}"
    )
    started = time.perf_counter()
    demo, invitation = demo_problems()
    print(f"demo candidates from the recommender: {time.perf_counter() - started:.1f} s")
    print(
        f"{'case':<10}{'share':>6}{'firms':>8}{'bldgs':>7}{'pairs':>9}{'wall s':>8}{'solve s':>8}"
        f"{'total':>10}{'bound':>10}{'gap':>8}{'opt':>6}{'placed':>8}{'feasgrd':>10}{'vs fg':>8}"
        f"{'first':>10}{'over':>6}"
    )
    if "demo" in cases:
        measure("demo", demo, shares, arguments.time_limit, record=not arguments.whole)
    if "synthetic" in cases:
        measure(
            "synthetic", synthetic_problem(demo), shares, arguments.time_limit, record=not arguments.whole
        )
    print(
        "wall s: allocate (greedy baselines included); solve s: the solver alone; "
        "gap: (bound - total) / bound; feasgrd: feasible greedy total (areas only); vs fg: total against it; "
        "first: every firm on its first choice (over-books; no assignment scores more); "
        "over: buildings it over-books"
    )
    if "demo" in cases:
        _invitations("demo", invitation)
    if "synthetic" in cases:
        _invitations("synthetic", synthetic_invitations())


if __name__ == "__main__":
    main()
