"""分配建议 (issue 14 §2): pool firms to buildings within their available area, and scenario invitations.

Each firm's own top 10 ignores the other firms; here the pool's candidates are solved together
(`matcher.allocation`): the most total match score such that no building receives more area than it
has available, each firm gets at most one building and (optionally, set by an administrator) no
district receives more than a share of the assignments. Beside it, the greedy answer (every firm
takes its own first choice) with its over-booked buildings. Open scenarios get invited firms: at
least three qualified candidates each, no firm pushed to more than three scenarios.

Candidates come from the live recommender: each pool firm's best `CANDIDATES` buildings (buildings
as matched, with their available area after signed leads; placed firms are not in the pool) and each
open scenario's best `QUALIFIED` firms. Pairs are scored without the spread penalty (the spread of a
results list is no property of a pair; the district share plays its part here). Matching 1,200 firms
takes seconds, so the candidates and answers are kept per recommender, keyed on everything they
depend on: the catalogue stamps, the capacity stamp, the weights version, the matching day, the
district and the share. Open-lead marks are read on every call (starting a lead moves no stamp).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Hashable
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.services import leads, matching
from api.services.write import Actor, Forbidden, Refused
from api.state import AppState
from matcher.allocation import (
    Allocation,
    AllocationProblem,
    Infeasible,
    Invitation,
    InvitationProblem,
    allocate,
    check_share_reachable,
    invite,
)
from matcher.directions import DIRECTIONS, for_firm
from matcher.factors import firm_need_m2
from matcher.recommender import Recommender
from matcher.weights import Weights
from models.enums import District
from models.lead import LeadKind, Stage
from models.records import BuildingRecord, EnterpriseRecord, ScenarioRecord
from models.scenario import takes_applications
from models.user import Role

CANDIDATES = 20
"""How many of its best buildings each pool firm is considered for."""
QUALIFIED = 10
"""How many of an open scenario's best firms count as qualified candidates for it."""
SHARE_FIELD = "max_district_share"
KEPT = 8
"""Answers (and candidate sets) kept per recommender, the most recently used."""
CITY = "全市"

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# ---- what the answer reads as ----------------------------------------------------------------


class LeadMark(BaseModel):
    """An open lead of the pair: the suggestion is already being followed up."""

    id: int
    stage: Stage


class AssignmentOut(BaseModel):
    """One firm's suggested building, against the firm's own first choice."""

    enterprise_id: str
    enterprise_name: str
    building_id: str
    building_name: str
    district: str
    area_m2: float = Field(description="企业所需面积（㎡），计入该楼宇的可用面积")
    score: float = Field(description="该企业与该楼宇的匹配度（不含满天星分散扣分）")
    first_choice_id: str = Field(description="企业自己的首选楼宇")
    first_choice_name: str
    first_choice_score: float
    loss: float = Field(description="相对首选的匹配度损失")
    lead: LeadMark | None = Field(description="该企业与该楼宇正在跟进的记录（跟进中），没有则为 null")


class OverbookedOut(BaseModel):
    """A building that the greedy answer gives more area than it has: one floor wanted by N firms."""

    building_id: str
    building_name: str
    district: str
    available_m2: float
    wanted_m2: float
    enterprise_ids: list[str]
    enterprise_names: list[str]


class GreedyOut(BaseModel):
    """Every firm takes its own first choice, regardless of the others."""

    total_score: float = Field(description="每家企业都取首选时的匹配度合计（可能超订）")
    feasible_total_score: float = Field(description="首选按匹配度依次落位、放不下即放弃时的匹配度合计")
    overbooked_buildings: list[OverbookedOut]


class InvitationOut(BaseModel):
    """An open scenario and the firms suggested for invitation, best first."""

    scenario_id: str
    scenario_title: str
    district: str | None
    enterprise_ids: list[str]
    enterprise_names: list[str]
    scores: list[float]
    shortfall: int = Field(description="距每个场景至少邀请的企业数还差几家")
    qualified: int = Field(description="该场景的合格候选企业数")


class AllocationOut(BaseModel):
    """分配建议: the suggested assignment, the greedy answer beside it, and the scenario invitations."""

    scope: str = Field(description="全市，或所限的区")
    district: District | None
    max_district_share: float | None = Field(description="单区分配占比上限（管理员设置），null 为不限")
    weights_version: int
    pool_firms: int = Field(description="参与分配的企业数（已签约或入驻楼宇的企业不在其中）")
    placed_firms: int = Field(description="已签约或入驻楼宇、不参与分配的企业数")
    candidates_per_firm: int
    assignments: list[AssignmentOut] = Field(description="建议分配，按匹配度从高到低")
    unassigned: list[str] = Field(description="未分到楼宇的企业编号")
    total_score: float
    optimality_gap: float = Field(description="与最优解的相对差距上界（0 即已证明最优）")
    optimal: bool
    upper_bound: float = Field(description="任何分配的匹配度合计都不超过此数")
    solve_seconds: float
    candidate_seconds: float = Field(description="计算候选（匹配）所用秒数；取自缓存时为当时所用")
    greedy: GreedyOut
    scenario_invitations: list[InvitationOut]


# ---- inputs --------------------------------------------------------------------------------


def check_share(share: float | None, actor: Actor, district: District | None) -> None:
    """Only an administrator sets a district share; it lies in (0, 1], and at least 1 / the districts an
    answer can reach (one when limited to a district), which no candidate needs computing to tell."""
    if share is None:
        return
    if actor.role != Role.admin:
        raise Forbidden(f"只有管理员可以设置单区分配占比上限（{SHARE_FIELD}）")
    if not 0 < share <= 1:
        raise Refused(f"单区分配占比上限应大于 0 且不超过 1（如 0.3），实际为 {share:g}", SHARE_FIELD)
    try:
        check_share_reachable(share, 1 if district else len(District))
    except Infeasible as infeasible:
        raise Refused(str(infeasible), SHARE_FIELD) from None


@dataclass(frozen=True)
class Candidates:
    """The pool's candidate pairs (the problem without a share), the invitations, and the names to show."""

    problem: AllocationProblem
    invitations: tuple[Invitation, ...]
    firm_names: dict[str, str]
    buildings: dict[str, BuildingRecord]
    scenarios: dict[str, ScenarioRecord]
    placed: int
    seconds: float


def _in(district: District | None, where: District | None) -> bool:
    """Whether a record of district `where` is in scope."""
    return district is None or where == district


def _pair_weights(weights: Weights) -> Weights:
    """The weights with no spread: a pair's score, not its place in one firm's list."""
    return weights.model_copy(update={"spread": 0.0})


def pool_problem(
    recommender: Recommender, weights: Weights, district: District | None
) -> tuple[AllocationProblem, dict[str, BuildingRecord]]:
    """Each pool firm's best buildings that can hold it, scored without spread, and those buildings."""
    scored = _pair_weights(weights)
    pool = sorted(
        (
            firm
            for firm in recommender.records["enterprises"].values()
            if isinstance(firm, EnterpriseRecord) and firm.id not in recommender.placed
        ),
        key=lambda firm: firm.id,
    )
    buildings: dict[str, BuildingRecord] = {}
    pairs: list[tuple[int, str, float]] = []
    only = [district.value] if district else []
    for row, firm in enumerate(pool):
        need = firm_need_m2(firm)
        found = recommender.match(
            for_firm("buildings"), firm, CANDIDATES, weights=scored, districts=only, reasons=False
        )
        for match in found.results:
            building = match.record
            if isinstance(building, BuildingRecord) and need <= building.vacant_area_m2:
                buildings[building.id] = building
                pairs.append((row, building.id, match.score))
    building_ids = tuple(sorted(buildings))
    column = {building_id: at for at, building_id in enumerate(building_ids)}
    problem = AllocationProblem(
        firm_ids=tuple(firm.id for firm in pool),
        need_m2=np.array([firm_need_m2(firm) for firm in pool], dtype=np.float64),
        building_ids=building_ids,
        available_m2=np.array([buildings[i].vacant_area_m2 for i in building_ids], dtype=np.float64),
        building_districts=tuple(buildings[i].district.value for i in building_ids),
        pair_firm=np.array([row for row, _, _ in pairs], dtype=np.int64),
        pair_building=np.array([column[building_id] for _, building_id, _ in pairs], dtype=np.int64),
        pair_score=np.array([score for _, _, score in pairs], dtype=np.float64),
    )
    return problem, buildings


def open_scenarios(
    recommender: Recommender, district: District | None, today: date
) -> dict[str, ScenarioRecord]:
    """The scenarios taking applications on `today` (in `district` when one is given), by id."""
    return {
        s.id: s
        for s in sorted(recommender.records["scenarios"].values(), key=lambda s: s.id)
        if isinstance(s, ScenarioRecord)
        and takes_applications(s.status, s.deadline, today)
        and _in(district, s.district)
    }


def candidates(
    recommender: Recommender, weights: Weights, district: District | None, today: date
) -> Candidates:
    """Each pool firm's best buildings (that can hold it) and each open scenario's best firms."""
    started = time.perf_counter()
    problem, buildings = pool_problem(recommender, weights, district)
    scenarios = open_scenarios(recommender, district, today)
    invitations = invite(invitation_problem(recommender, weights, scenarios.values()))
    firms = recommender.records["enterprises"].values()
    return Candidates(
        problem,
        invitations,
        {firm.id: firm.name for firm in firms if isinstance(firm, EnterpriseRecord)},
        buildings,
        scenarios,
        len(recommender.placed),
        time.perf_counter() - started,
    )


def invitation_problem(
    recommender: Recommender, weights: Weights, scenarios: Collection[ScenarioRecord]
) -> InvitationProblem:
    """Each open scenario's best `QUALIFIED` firms, scored without spread (placed firms included)."""
    weights = _pair_weights(weights)
    scenario_ids = tuple(scenario.id for scenario in scenarios)
    pairs: list[tuple[int, str, float]] = []
    for row, scenario in enumerate(scenarios):
        found = recommender.match(
            DIRECTIONS["scenario_firms"], scenario, QUALIFIED, weights=weights, reasons=False
        )
        pairs += [(row, match.id, match.score) for match in found.results]
    firm_ids = tuple(sorted({firm_id for _, firm_id, _ in pairs}))
    column = {firm_id: at for at, firm_id in enumerate(firm_ids)}
    return InvitationProblem(
        scenario_ids=scenario_ids,
        firm_ids=firm_ids,
        pair_scenario=np.array([row for row, _, _ in pairs], dtype=np.int64),
        pair_firm=np.array([column[firm_id] for _, firm_id, _ in pairs], dtype=np.int64),
        pair_score=np.array([score for _, _, score in pairs], dtype=np.float64),
    )


# ---- kept answers --------------------------------------------------------------------------


class Recent(Generic[K, V]):
    """The few most recently used values by key (thread-safe)."""

    def __init__(self) -> None:
        """Start empty."""
        self._lock = threading.Lock()
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value kept for `key`, marked as just used; None when there is none."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        """Keep a value, forgetting the least recently used beyond `KEPT`."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > KEPT:
                self._items.popitem(last=False)


@dataclass(frozen=True)
class Basis:
    """What a set of candidates depends on: the catalogue, capacity, weights, day and district."""

    catalogue: tuple[tuple[str, int], ...]
    capacity: int
    weights_version: int
    today: date
    district: District | None


Solved = tuple[Candidates, Allocation | Infeasible]
"""The candidates, and the allocation solved on them or why none exists."""


@dataclass
class Kept:
    """One recommender's kept candidate sets and answers, and the lock that computes one at a time."""

    candidates: Recent[Basis, Candidates] = dataclasses.field(default_factory=Recent)
    answers: Recent[tuple[Basis, float | None], Solved] = dataclasses.field(default_factory=Recent)
    computing: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    """Held while computing: a second request for the same answer waits for it instead of repeating it."""


_KEPT: WeakKeyDictionary[Recommender, Kept] = WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()


def _kept(recommender: Recommender) -> Kept:
    """The kept answers of a recommender (gone with it)."""
    with _KEPT_LOCK:
        return _KEPT.setdefault(recommender, Kept())


# ---- the answer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A solved allocation with its candidates, before the open-lead marks of this moment."""

    basis: Basis
    share: float | None
    candidates: Candidates
    allocation: Allocation


def _suggest(
    state: AppState, session: Session, actor: Actor, district: District | None, share: float | None
) -> Suggestion:
    """Catch up with writes saved elsewhere, then the kept or a freshly solved allocation."""
    check_share(share, actor, district)
    used = matching.catch_up(state=state, session=session)
    recommender = state.recommender
    today = recommender.day()  # the day the recommender judges deadlines on
    basis = Basis(
        tuple(sorted(state.catalogue_stamps.items())), state.capacity_stamp, used.version, today, district
    )
    kept = _kept(recommender)
    solved = kept.answers.get((basis, share))
    if solved is None:
        with kept.computing:
            solved = kept.answers.get((basis, share)) or _solve(kept, basis, share, used.weights, recommender)
    found, outcome = solved
    if isinstance(outcome, Infeasible):
        raise Refused(str(outcome), SHARE_FIELD)
    return Suggestion(basis, share, found, outcome)


def _solve(
    kept: Kept, basis: Basis, share: float | None, weights: Weights, recommender: Recommender
) -> Solved:
    """Candidates (kept ones for another share, else matched now) and the allocation on them, kept."""
    found = kept.candidates.get(basis)
    if found is None:
        found = candidates(recommender, weights, basis.district, basis.today)
        kept.candidates.put(basis, found)
    try:
        outcome: Allocation | Infeasible = allocate(
            dataclasses.replace(found.problem, max_district_share=share)
        )
    except Infeasible as infeasible:
        outcome = infeasible
    kept.answers.put((basis, share), (found, outcome))
    return found, outcome


def report(
    *, state: AppState, session: Session, actor: Actor, district: District | None, share: float | None
) -> AllocationOut:
    """分配建议 as the API, the page and the command answer it; each assignment's open lead read now.

    Forbidden when a non-administrator sets a share; Refused (naming `max_district_share`) for a share
    out of range or one that makes the allocation infeasible, saying what would make it feasible.
    """
    return _out(session, _suggest(state, session, actor, district, share))


def _out(session: Session, suggestion: Suggestion) -> AllocationOut:
    """A suggestion as `AllocationOut`, each assignment marked with its pair's open lead (one query)."""
    found, allocation = suggestion.candidates, suggestion.allocation
    names, buildings = found.firm_names, found.buildings
    firm_ids = [a.enterprise_id for a in allocation.assignments]
    offer_ids = {a.building_id for a in allocation.assignments}
    following = leads.open_leads_of(session, LeadKind.building, firm_ids, offer_ids) if firm_ids else {}
    assignments = []
    for assigned in allocation.assignments:
        building = buildings[assigned.building_id]
        lead = following.get((assigned.enterprise_id, assigned.building_id))
        assignments.append(
            AssignmentOut(
                enterprise_id=assigned.enterprise_id,
                enterprise_name=names.get(assigned.enterprise_id, assigned.enterprise_id),
                building_id=building.id,
                building_name=building.name,
                district=building.district.value,
                area_m2=assigned.area_m2,
                score=assigned.score,
                first_choice_id=assigned.first_choice_id,
                first_choice_name=buildings[assigned.first_choice_id].name,
                first_choice_score=assigned.first_choice_score,
                loss=assigned.loss,
                lead=LeadMark(id=lead.id, stage=lead.stage) if lead else None,
            )
        )
    district = suggestion.basis.district
    greedy = allocation.greedy
    return AllocationOut(
        scope=district.value if district else CITY,
        district=district,
        max_district_share=suggestion.share,
        weights_version=suggestion.basis.weights_version,
        pool_firms=len(found.problem.firm_ids),
        placed_firms=found.placed,
        candidates_per_firm=CANDIDATES,
        assignments=assignments,
        unassigned=list(allocation.unassigned),
        total_score=allocation.total_score,
        optimality_gap=allocation.optimality_gap,
        optimal=allocation.optimal,
        upper_bound=allocation.upper_bound,
        solve_seconds=allocation.solve_seconds,
        candidate_seconds=found.seconds,
        greedy=GreedyOut(
            total_score=greedy.total_score,
            feasible_total_score=greedy.feasible_total_score,
            overbooked_buildings=[
                OverbookedOut(
                    building_id=over.building_id,
                    building_name=buildings[over.building_id].name,
                    district=buildings[over.building_id].district.value,
                    available_m2=over.available_m2,
                    wanted_m2=over.wanted_m2,
                    enterprise_ids=list(over.enterprise_ids),
                    enterprise_names=[names.get(i, i) for i in over.enterprise_ids],
                )
                for over in greedy.overbooked
            ],
        ),
        scenario_invitations=[_invitation(found, invitation) for invitation in found.invitations],
    )


def _invitation(found: Candidates, invitation: Invitation) -> InvitationOut:
    """One scenario's invitations with names."""
    scenario = found.scenarios[invitation.scenario_id]
    return InvitationOut(
        scenario_id=scenario.id,
        scenario_title=scenario.title,
        district=scenario.district.value if scenario.district else None,
        enterprise_ids=list(invitation.enterprise_ids),
        enterprise_names=[found.firm_names.get(i, i) for i in invitation.enterprise_ids],
        scores=list(invitation.scores),
        shortfall=invitation.shortfall,
        qualified=invitation.qualified,
    )
