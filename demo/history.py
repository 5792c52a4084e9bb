"""An 18-month follow-up history for the demo catalogue, drawn from a hidden preference model.

`generate_history` samples demo firms and ranks, for each, the top 10 buildings (and for some firms the
top 5 open scenarios) with the recommender under the default weights, version 1 (`shown_pairs`); then
`simulate` turns the shown pairs into leads. Staff take a result up with a chance that falls with its
rank (`TAKE_UP`); the lead then moves on stage by stage as the preference model of `demo.preference`
says (TRUE_WEIGHTS; the position bias; or pure noise), with lognormal delays between stages (`DELAYS`:
about a week to contact, two weeks to visit, a month to sign, one to three months to move in), until it
ends or reaches today, when it stays open where it is. `demo.contention` then settles what leads do to
each other (one building per firm, never beyond a building's vacancy, one winner per scenario).

Every lead keeps the match exactly as `Recommender.match` gave it (rank, score, components, weights
version 1) and its true utility, so that learning from the outcomes can be checked against the truth.
The result is plain dataclasses, a pure function of the catalogue, the encoder, today and the seed;
`demo.history_store` writes it into a database.

Simplifications: every firm is matched against today's catalogue (as loaded, before any of these leads),
and scenario leads begin within the last six months (today's open calls were published recently).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from api.services.leads import main_industry
from demo.contention import AREA_STEP, settle
from demo.plan import Plan, Step, later
from demo.preference import NOISE_SD, TRUE_MODEL, PreferenceModel
from demo.shown import ShownPair, show
from demo.staff import owner, stage_note
from matcher.encoder import Encoder
from matcher.factors import M2_PER_HEAD, firm_need_m2
from matcher.outcomes import factor_values
from matcher.recommender import Recommender
from matcher.weights import Weights
from models.clock import CHINA
from models.lead import LeadKind, Stage
from models.lead_facts import StageFacts
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord

DEMO_HISTORY_SEED = 2026
HISTORY_DAYS = 548
"""Eighteen months: leads begin on one of the days before today back to this many days ago."""
SCENARIO_DAYS = 180
"""Scenario leads begin within this many days before today."""
GROWTH = 2.0
"""Matching sessions grow over the window: the last day has 1 + GROWTH times the first day's chance."""
DEFAULT_WEIGHTS = Weights()
WEIGHTS_VERSION = 1
"""The version the weights service stores the default weights as, which the history is ranked under."""


@dataclass(frozen=True)
class HistorySize:
    """How many firms are matched with buildings, and how many with scenarios (chosen at random)."""

    building_firms: int = 700
    scenario_firms: int = 250


DEMO_SIZE = HistorySize()
"""About 2,400 building leads and 600 scenario leads."""
TAKE_UP: dict[LeadKind, tuple[float, float]] = {LeadKind.building: (0.5, 0.93), LeadKind.scenario: (0.6, 0.9)}
"""Per kind, the chance staff take up the first result, and the factor it shrinks by at each rank below."""
LADDER: dict[LeadKind, tuple[Stage, ...]] = {
    LeadKind.building: (Stage.contacted, Stage.visited, Stage.intent, Stage.signed, Stage.moved_in),
    LeadKind.scenario: (Stage.applied, Stage.shortlisted, Stage.won),
}
"""The steps a lead tries in turn after `recommended`."""
DELAYS: dict[Stage, tuple[float, float]] = {
    Stage.contacted: (7.0, 0.5),
    Stage.visited: (14.0, 0.5),
    Stage.intent: (10.0, 0.5),
    Stage.signed: (30.0, 0.5),
    Stage.moved_in: (60.0, 0.35),
    Stage.applied: (10.0, 0.5),
    Stage.shortlisted: (30.0, 0.4),
    Stage.won: (30.0, 0.4),
    Stage.not_won: (30.0, 0.4),
    Stage.lost: (21.0, 0.6),
}
"""Median days from the previous stage to this one, and the log-spread."""
VISIT_SKIPPED = 0.1
"""The share of firms that know a building already and state their intent without a visit."""
AREA_SPREAD = 0.15
"""Log-spread of the signed area around the firm's need."""
OFFICE_HOURS = (9, 18)
"""Stage changes are recorded between these hours (Chongqing time)."""


@dataclass(frozen=True)
class HistoryEvent:
    """One stage change: the stage, when (aware, UTC), who, a note and the stage's facts."""

    stage: Stage
    at: datetime
    actor: str
    note: str
    facts: StageFacts


@dataclass(frozen=True)
class HistoryLead:
    """A demo lead: the pair, the match as the server computed it, its true utility and its history."""

    kind: LeadKind
    enterprise_id: str
    offer_id: str
    enterprise_name: str
    offer_name: str
    district: str | None
    industry: str | None
    origin: str | None
    owner: str
    weights_version: int
    rank: int
    score: float
    components: dict[str, float]
    utility: float
    """The pair's utility under the preference model the history was drawn from (without the noise)."""
    events: tuple[HistoryEvent, ...]

    @property
    def stage(self) -> Stage:
        """The stage the lead has reached."""
        return self.events[-1].stage

    def facts(self) -> dict[str, Any]:
        """Every fact its stage changes recorded, by name."""
        return {name: value for event in self.events for name, value in event.facts.given().items()}


def shown_pairs(
    recommender: Recommender, *, size: HistorySize = DEMO_SIZE, seed: int = DEMO_HISTORY_SEED
) -> list[ShownPair]:
    """What the recommender shows a random sample of its firms, buildings first."""
    firms = [
        firm
        for _, firm in sorted(recommender.records["enterprises"].items())
        if isinstance(firm, EnterpriseRecord)
    ]
    rng = np.random.default_rng([seed, 0])
    shown = []
    for kind, count in ((LeadKind.building, size.building_firms), (LeadKind.scenario, size.scenario_firms)):
        chosen = sorted(rng.choice(len(firms), size=min(count, len(firms)), replace=False).tolist())
        shown += show(recommender, kind, [firms[at] for at in chosen])
    return shown


def generate_history(
    catalogue: Mapping[RecordKind, Sequence[CatalogueRecord]],
    encoder: Encoder,
    *,
    today: date,
    model: PreferenceModel = TRUE_MODEL,
    size: HistorySize = DEMO_SIZE,
    seed: int = DEMO_HISTORY_SEED,
) -> list[HistoryLead]:
    """The catalogue's follow-up history up to yesterday, its matches ranked under the default weights."""
    recommender = Recommender(encoder, weights=DEFAULT_WEIGHTS, today=today).load(catalogue)
    return simulate(shown_pairs(recommender, size=size, seed=seed), today=today, model=model, seed=seed)


def simulate(
    shown: Sequence[ShownPair],
    *,
    today: date,
    model: PreferenceModel = TRUE_MODEL,
    seed: int = DEMO_HISTORY_SEED,
    weights: Weights = DEFAULT_WEIGHTS,
) -> list[HistoryLead]:
    """Leads from pairs shown under `weights` (version 1), drawn from `model`, every event before `today`.

    Leads come in the order they began.
    """
    rng = np.random.default_rng([seed, 1])
    values = [factor_values(pair.components, weights) for pair in shown]
    utilities = [model.utility(pair_values) for pair_values in values]
    centres = {
        kind: float(
            np.mean([u for u, pair in zip(utilities, shown, strict=True) if pair.kind == kind] or [0.0])
        )
        for kind in LeadKind
    }
    began = _session_days(shown, today, rng)
    plans = []
    for pair, pair_values, utility in zip(shown, values, utilities, strict=True):
        first, shrink = TAKE_UP[pair.kind]
        if rng.random() < first * shrink ** (pair.rank - 1):
            start = began[pair.kind, pair.firm.id]
            plans.append(_plan(pair, pair_values, utility, centres[pair.kind], start, model, rng))
    for plan in plans:
        plan.steps = [step for step in plan.steps if step.day < today]
    settle(plans, today, rng)
    plans.sort(key=lambda plan: (plan.steps[0].day, plan.pair.kind.value, plan.pair.firm.id, plan.pair.rank))
    return [_lead(plan, rng) for plan in plans]


def _session_days(
    shown: Sequence[ShownPair], today: date, rng: np.random.Generator
) -> dict[tuple[LeadKind, str], date]:
    """The day each firm was matched, per kind: more sessions lately; scenarios in the last six months."""
    days: dict[tuple[LeadKind, str], date] = {}
    for pair in shown:
        key = (pair.kind, pair.firm.id)
        if key in days:
            continue
        span = HISTORY_DAYS if pair.kind == LeadKind.building else SCENARIO_DAYS
        chances = 1.0 + GROWTH * np.arange(span) / span
        back = span - int(rng.choice(span, p=chances / chances.sum()))
        days[key] = today - timedelta(days=back)
    return days


def _plan(
    pair: ShownPair,
    values: Mapping[str, float],
    utility: float,
    centre: float,
    start: date,
    model: PreferenceModel,
    rng: np.random.Generator,
) -> Plan:
    """One lead's steps as the preference model has them, ignoring every other lead and today."""
    plan = Plan(pair, owner(_district(pair.offer), pair.firm.id), utility)
    plan.steps.append(
        Step(Stage.recommended, start, StageFacts(), stage_note(Stage.recommended, pair.rank, rng))
    )
    taste = float(rng.normal(0.0, NOISE_SD))
    day, current = start, Stage.recommended
    for stage in LADDER[pair.kind]:
        if rng.random() >= model.step_probability(stage, utility, centre, taste, pair.rank):
            ending = (
                Stage.not_won
                if pair.kind == LeadKind.scenario and current != Stage.recommended
                else Stage.lost
            )
            day = later(day, *DELAYS[ending], rng)
            if ending == Stage.lost:
                plan.lose(day, date.max, model.loss_reason(pair.kind, current, values, rng))
            else:
                plan.steps.append(Step(ending, day, StageFacts(), stage_note(ending, pair.rank, rng)))
            return plan
        if stage == Stage.visited and rng.random() < VISIT_SKIPPED:
            continue
        day = later(day, *DELAYS[stage], rng)
        plan.steps.append(
            Step(stage, day, _facts(stage, pair, plan, day, rng), stage_note(stage, pair.rank, rng))
        )
        current = stage
    return plan


def _facts(stage: Stage, pair: ShownPair, plan: Plan, day: date, rng: np.random.Generator) -> StageFacts:
    """The facts of reaching `stage` (none for stages that record none)."""
    firm, offer = pair.firm, pair.offer
    if stage == Stage.signed and isinstance(offer, BuildingRecord):
        need = firm_need_m2(firm)
        wanted = max(need * float(rng.lognormal(0.0, AREA_SPREAD)), offer.min_unit_m2 or 0.0)
        area = max(AREA_STEP, round(wanted / AREA_STEP) * AREA_STEP)
        rent = round(offer.rent_yuan_m2_month * float(rng.uniform(0.85, 1.0)) * 2) / 2
        people = firm.headcount or area / M2_PER_HEAD
        headcount = max(1, round(people * float(rng.uniform(1.0, 1.3))))
        return StageFacts(signed_area_m2=area, rent_yuan_m2_month=rent, expected_headcount=headcount)
    if stage == Stage.moved_in:
        signed = plan.step(Stage.signed)
        expected = signed.facts.expected_headcount if signed is not None else None
        assert expected is not None, "a lead moves in after signing"
        actual = max(1, round(expected * float(rng.uniform(0.75, 1.0))))
        return StageFacts(moved_in_on=day, actual_headcount=actual)
    if stage == Stage.won and isinstance(offer, ScenarioRecord):
        budget = offer.budget_wan_yuan
        assert budget is not None, "an open scenario has a budget (ScenarioRecord)"
        return StageFacts(contract_wan_yuan=max(0.1, round(budget * float(rng.uniform(0.6, 0.95)), 1)))
    return StageFacts()


def _district(offer: BuildingRecord | ScenarioRecord) -> str | None:
    """The offer's district (None for a city-level scenario)."""
    return offer.district.value if offer.district is not None else None


def _lead(plan: Plan, rng: np.random.Generator) -> HistoryLead:
    """The plain record of a settled plan, each step at an office hour of its day."""
    pair = plan.pair
    offer = pair.offer
    events = tuple(
        HistoryEvent(step.stage, _moment(step.day, rng), plan.owner, step.note, step.facts)
        for step in plan.steps
    )
    return HistoryLead(
        kind=pair.kind,
        enterprise_id=pair.firm.id,
        offer_id=offer.id,
        enterprise_name=pair.firm.name,
        offer_name=offer.name if isinstance(offer, BuildingRecord) else offer.title,
        district=_district(offer),
        industry=main_industry(pair.firm),
        origin=pair.firm.origin.value if pair.firm.origin else None,
        owner=plan.owner,
        weights_version=WEIGHTS_VERSION,
        rank=pair.rank,
        score=pair.score,
        components=dict(pair.components),
        utility=plan.utility,
        events=events,
    )


def _moment(day: date, rng: np.random.Generator) -> datetime:
    """A moment of office hours on a day in Chongqing, in UTC."""
    minutes = int(rng.integers(OFFICE_HOURS[0] * 60, OFFICE_HOURS[1] * 60))
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=CHINA).astimezone(UTC)
