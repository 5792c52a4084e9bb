"""Firms packed into buildings by area for the largest total score, with HiGHS (`scipy.optimize.milp`).

The programme: one binary x per candidate pair; Σ x <= 1 over each firm's pairs; Σ need · x <= available
over each building's; with a district share, one more column T = Σ x (the number assigned) and a row
Σ x (the district's pairs) - share · T <= 0 per district, so that every row stays sparse.

This is a generalised assignment problem, which HiGHS proves slowly: a contested 445-pair instance took
it 7.6 s, and on the demo's 22,196 pairs it stops at a 10 s limit 3 % from its bound with a worse answer
than relax-and-fix finds in under a second (bench/README.md). So the LP relaxation comes first (its
optimum bounds every assignment). Past `EXACT_PAIRS` pairs, the firms the LP assigns whole are kept
there (relax-and-fix) and HiGHS solves the rest, which is small: the LP leaves about one fractional firm
per full building; it leaves the district share out (with the share's rows HiGHS's cut rounds overran
its time limit eight-fold at 10,000 × 3,000), and the answer is trimmed to it: the lowest-scored pairs
of a district over its share go. Up to `EXACT_PAIRS`, HiGHS gets the whole problem, share and all.
Either way, any firm still unplaced then takes, best score first, a candidate with room left (and
within the share); should HiGHS's answer
score less than the LP's whole assignments so filled (or should it find none in its time), those are the
answer. The bound reported is the LP's, or HiGHS's own when it had the whole problem; it is never claimed
tighter than proven.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

if TYPE_CHECKING:  # scipy.optimize is imported where a problem is solved (see `_programme`)
    from scipy.optimize import OptimizeResult

from matcher.pairs import incidence

EXACT_PAIRS = 2_000
"""Up to this many candidate pairs HiGHS gets the whole problem; past it, relax-and-fix (bench/README.md)."""
RESIDUAL_GAP = 0.01
"""HiGHS's relative gap on what relax-and-fix leaves open (when looser than the problem's): that part
holds a small share of the score (the demo: an eighth), so 1 % of it is about 0.1 % of the total, well
under the 2-4 % the fixing leaves against the LP bound; proving it tighter took HiGHS 10 s and more."""
MIN_MIP_SECONDS = 0.5
"""The integer phase's time when the LP has used up the time limit."""
INTEGRAL = 1e-6
"""An LP value within this of 1 counts as a whole assignment."""
AREA_TOLERANCE_M2 = 1e-6
"""Areas equal within this count as fitting (sums of floats)."""


@dataclass(frozen=True, eq=False)
class Packing:
    """Candidate pairs that fit their building, with the firms' needs and the buildings' room."""

    firm: np.ndarray
    """[n] int: each pair's firm."""
    building: np.ndarray
    """[n] int: each pair's building."""
    score: np.ndarray
    """[n] float64 0..1."""
    need: np.ndarray
    """[F] float64 m²."""
    available: np.ndarray
    """[B] float64 m²."""
    group: np.ndarray
    """[n] int 0..G-1: each pair's district group."""
    share: float | None
    """At most this share of the assignments per group; None: no such rule."""


@dataclass(frozen=True)
class Packed:
    """The pairs chosen and what is proven about them."""

    chosen: np.ndarray
    """Indices of the chosen pairs."""
    upper_bound: float
    """No assignment scores more."""


def solve(packing: Packing, time_limit_s: float, rel_gap: float) -> Packed:
    """The best assignment HiGHS finds in the time limit (the LP phase is not cut short), and a bound."""
    started = time.perf_counter()
    everything = np.arange(len(packing.score))
    relaxed = _programme(packing, everything, packing.available, integer=False)
    bound = -float(relaxed.fun)
    values = relaxed.x[: len(everything)]
    if (np.minimum(values, 1 - values) <= INTEGRAL).all():
        return Packed(everything[values > 0.5], bound)
    whole = everything[values >= 1 - INTEGRAL]
    fixed = _within_share(packing, whole) if len(everything) > EXACT_PAIRS else everything[:0]
    room, placed = _left(packing, fixed)
    free = everything[
        ~placed[packing.firm] & (packing.need[packing.firm] <= room[packing.building] + AREA_TOLERANCE_M2)
    ]
    seconds = max(time_limit_s - (time.perf_counter() - started), MIN_MIP_SECONDS)
    starts = [whole]  # the LP rounded down: an answer whatever HiGHS does in its time
    if len(free):
        whole_problem = not len(fixed)
        # relax-and-fix leaves the share to the trimming below: HiGHS's cuts on its rows overran the limit
        posed = packing if whole_problem else dataclasses.replace(packing, share=None)
        gap = rel_gap if whole_problem else max(rel_gap, RESIDUAL_GAP)
        result = _programme(posed, free, room, integer=True, options=(seconds, gap))
        if result.x is not None:
            starts.append(np.concatenate([fixed, free[result.x[: len(free)] > 0.5]]))
        if whole_problem and result.mip_dual_bound is not None and np.isfinite(result.mip_dual_bound):
            bound = min(bound, -float(result.mip_dual_bound))
    filled = [_fill(packing, _within_share(packing, start)) for start in starts]
    return Packed(max(filled, key=lambda chosen: float(packing.score[chosen].sum())), bound)


def _left(packing: Packing, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[B] the m² each building has left once the `chosen` pairs are in, and [F] which firms they place."""
    taken = np.bincount(
        packing.building[chosen], weights=packing.need[packing.firm[chosen]], minlength=len(packing.available)
    )
    placed = np.zeros(len(packing.need), dtype=bool)
    placed[packing.firm[chosen]] = True
    return packing.available - taken, placed


def _programme(
    packing: Packing,
    pairs: np.ndarray,
    room: np.ndarray,
    *,
    integer: bool,
    options: tuple[float, float] | None = None,
) -> OptimizeResult:
    """HiGHS's result for `pairs` in buildings with `room` m² left.

    `options`: (time limit in seconds, relative gap) for the integer phase; the LP runs to its end.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp  # 0.23 s to import: not at every start-up

    firm = packing.firm[pairs]
    blocks = [
        incidence(firm, len(packing.need)),
        incidence(packing.building[pairs], len(room), packing.need[firm]),
    ]
    lower, upper = (
        [np.full(len(packing.need), -np.inf), np.full(len(room), -np.inf)],
        [np.ones(len(packing.need)), np.maximum(room, 0)],
    )
    columns = np.full(len(pairs), float(integer)), np.ones(len(pairs))
    share = packing.share
    if share is not None:  # the column T = Σ x: Σ x - T = 0, and Σ x (a district) - share · T <= 0
        groups = int(packing.group.max()) + 1
        blocks = [sparse.hstack([block, sparse.csr_matrix((block.shape[0], 1))]) for block in blocks]
        spread = incidence(packing.group[pairs], groups)
        blocks += [
            sparse.hstack([spread, sparse.csr_matrix(np.full((groups, 1), -share))]),
            sparse.csr_matrix(np.append(np.ones(len(pairs)), -1.0)[np.newaxis, :]),
        ]
        lower += [np.full(groups, -np.inf), np.zeros(1)]
        upper += [np.zeros(groups), np.zeros(1)]
        columns = np.append(columns[0], 0.0), np.append(columns[1], np.inf)
    settings = {} if options is None else {"time_limit": options[0], "mip_rel_gap": options[1]}
    return milp(
        np.append(-packing.score[pairs], np.zeros(len(columns[0]) - len(pairs))),
        integrality=columns[0],
        bounds=Bounds(0, columns[1]),
        constraints=LinearConstraint(
            sparse.vstack(blocks, format="csr"), np.concatenate(lower), np.concatenate(upper)
        ),
        options=settings,
    )


def _within_share(packing: Packing, pairs: np.ndarray) -> np.ndarray:
    """`pairs` (best first) less the lowest-scored of any district over its share, until none is."""
    kept = pairs[np.argsort(-packing.score[pairs], kind="stable")]
    while True:
        group = packing.group[kept]
        allowed = math.floor((packing.share or 1.0) * len(kept) + 1e-9)
        over = np.bincount(group, minlength=int(packing.group.max()) + 1) > allowed
        if not over[group].any():
            return kept
        order = np.argsort(group, kind="stable")  # best first within each district
        rank = np.empty(len(kept), dtype=np.int64)
        rank[order] = np.arange(len(kept)) - np.searchsorted(group[order], group[order])
        kept = kept[~over[group] | (rank < allowed)]


def _fill(packing: Packing, chosen: np.ndarray) -> np.ndarray:
    """`chosen` plus, best score first, any pair whose firm is unplaced and which fits (room and share)."""
    room, placed = _left(packing, chosen)
    counts = np.bincount(packing.group[chosen], minlength=int(packing.group.max()) + 1).tolist()
    share = 1.0 if packing.share is None else packing.share
    rest = np.flatnonzero(~placed[packing.firm])
    rest = rest[np.argsort(-packing.score[rest], kind="stable")]
    room_left, placed_now, need = room.tolist(), placed.tolist(), packing.need.tolist()
    added: list[int] = []
    columns = (packing.firm[rest].tolist(), packing.building[rest].tolist(), packing.group[rest].tolist())
    for pair, firm, building, group in zip(rest.tolist(), *columns, strict=True):
        fits = need[firm] <= room_left[building] + AREA_TOLERANCE_M2
        if (
            not placed_now[firm]
            and fits
            and counts[group] + 1 <= share * (len(chosen) + len(added) + 1) + 1e-9
        ):
            room_left[building] -= need[firm]
            placed_now[firm] = True
            counts[group] += 1
            added.append(pair)
    return np.concatenate([chosen, np.array(added, dtype=np.int64)])
