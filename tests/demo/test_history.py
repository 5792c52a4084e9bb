"""The demo's follow-up history: deterministic, legal, within dates and capacity, drawn from its model."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from statistics import mean, median

import pytest
from scipy.stats import spearmanr
from sqlalchemy import func, select

from demo import preference
from demo.bundle import demo_records, load_demo_catalogue
from demo.history import (
    HISTORY_DAYS,
    WEIGHTS_VERSION,
    HistoryLead,
    HistorySize,
    shown_pairs,
    simulate,
)
from demo.history_store import write_history
from demo.preference import TRUE_WEIGHTS, PreferenceModel
from demo.shown import SHOWN, ShownPair
from demo.staff import STAFF
from matcher.directions import for_firm
from matcher.hashing import HashingEncoder
from matcher.outcomes import factor_values
from matcher.recommender import Recommender
from matcher.registry import factor_names
from matcher.weights import Weights
from migrations import migrate
from models.capacity import CAPACITY_STAMP, load_capacity
from models.catalogue_stamp import CatalogueStamp
from models.clock import china_date
from models.database import make_engine, make_session_factory
from models.lead import FACTS, Lead, LeadEvent, LeadKind, Stage, refusal, stages_of
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, ScenarioRecord

TODAY = date(2026, 12, 6)
"""A fixed day, so that the history does not depend on when the tests run."""


@pytest.fixture(scope="module")
def recommender() -> Recommender:
    """The demo catalogue under the default weights, with the model-free encoder."""
    return Recommender(HashingEncoder(), weights=Weights(), today=TODAY).load(demo_records())


@pytest.fixture(scope="module")
def shown(recommender: Recommender) -> list[ShownPair]:
    """What the recommender shows the demo's sample of firms."""
    return shown_pairs(recommender)


@pytest.fixture(scope="module")
def history(shown: list[ShownPair]) -> list[HistoryLead]:
    """The demo history, drawn from the true model."""
    return simulate(shown, today=TODAY)


@pytest.fixture(scope="module")
def noise(shown: list[ShownPair]) -> list[HistoryLead]:
    """A history of the same pairs whose outcomes are pure noise."""
    return simulate(shown, today=TODAY, model=PreferenceModel(pure_noise=True))


@pytest.fixture(scope="module")
def records() -> dict[str, CatalogueRecord]:
    """Every demo record by id."""
    return {record.id: record for kind in demo_records().values() for record in kind}


def progress(lead: HistoryLead) -> int:
    """How far along its pipeline a lead got (0 at `recommended`), whatever ended it."""
    order = stages_of(lead.kind)
    return max(
        order.index(event.stage) for event in lead.events if event.stage not in {Stage.lost, Stage.not_won}
    )


def took_first_step(lead: HistoryLead) -> bool:
    """Whether the firm went beyond `recommended` (contacted, or applied)."""
    return progress(lead) >= 1


def within_rank_correlation(leads: Sequence[HistoryLead]) -> tuple[float, float]:
    """Spearman's ρ of true utility with progress among leads of the same kind and rank, pooled by size.

    Returns ρ and the size a ρ of pure chance stays within (four standard errors, 4 / √n).
    """
    strata: dict[tuple[LeadKind, int], list[HistoryLead]] = defaultdict(list)
    for lead in leads:
        strata[lead.kind, lead.rank].append(lead)
    total = sum(len(group) for group in strata.values())
    rho = sum(
        len(group) * float(spearmanr([lead.utility for lead in group], [progress(lead) for lead in group])[0])
        for group in strata.values()
    )
    return rho / total, 4 / math.sqrt(total)


def rate(leads: Sequence[HistoryLead], ranks: range, outcome: Callable[[HistoryLead], bool]) -> float:
    """The share of building leads shown at one of `ranks` with the outcome."""
    chosen = [outcome(lead) for lead in leads if lead.kind == LeadKind.building and lead.rank in ranks]
    return mean(chosen)


def test_the_demo_history_has_about_3000_leads_keeping_their_match(
    history: list[HistoryLead], recommender: Recommender
) -> None:
    assert 2_700 <= len(history) <= 3_300
    kinds = {kind: [lead for lead in history if lead.kind == kind] for kind in LeadKind}
    assert len(kinds[LeadKind.building]) > 3 * len(kinds[LeadKind.scenario]) > 0
    for lead in history[::97]:
        firm = recommender.stored("enterprises", lead.enterprise_id)
        direction = for_firm("buildings" if lead.kind == LeadKind.building else "scenarios")
        match = recommender.match(direction, firm, k=SHOWN[lead.kind]).results[lead.rank - 1]
        assert (match.id, match.score, match.components) == (lead.offer_id, lead.score, lead.components)
        assert lead.weights_version == WEIGHTS_VERSION == 1


def test_the_same_seed_draws_the_same_history_and_another_seed_another(
    recommender: Recommender, shown: list[ShownPair]
) -> None:
    small = HistorySize(building_firms=30, scenario_firms=10)
    assert shown_pairs(recommender, size=small, seed=5) == shown_pairs(recommender, size=small, seed=5)
    assert shown_pairs(recommender, size=small, seed=5) != shown_pairs(recommender, size=small, seed=6)
    some = shown[:1_500]
    assert simulate(some, today=TODAY, seed=5) == simulate(some, today=TODAY, seed=5)
    assert simulate(some, today=TODAY, seed=5) != simulate(some, today=TODAY, seed=6)


def test_every_lead_moves_only_as_the_stage_rule_allows(history: list[HistoryLead]) -> None:
    stages = {stage for lead in history for event in lead.events for stage in [event.stage]}
    assert stages >= {Stage.visited, Stage.moved_in, Stage.won, Stage.not_won}
    skipped = 0
    for lead in history:
        assert lead.events[0].stage == Stage.recommended
        for before, after in zip(lead.events, lead.events[1:], strict=False):
            assert refusal(lead.kind, before.stage, after.stage) is None, (lead, before.stage, after.stage)
            skipped += (before.stage, after.stage) == (Stage.contacted, Stage.intent)
    assert skipped > 0  # a firm that knows a building states its intent without a visit


def test_facts_are_recorded_exactly_for_the_stages_that_need_them_and_are_plausible(
    history: list[HistoryLead], records: dict[str, CatalogueRecord]
) -> None:
    for lead in history:
        firm, offer = records[lead.enterprise_id], records[lead.offer_id]
        assert isinstance(firm, EnterpriseRecord)
        for event in lead.events:
            assert set(event.facts.given()) == set(FACTS.get(event.stage, ())), (lead, event)
        facts = lead.facts()
        if isinstance(offer, BuildingRecord) and "signed_area_m2" in facts:
            need = firm.required_area_m2 or (firm.headcount or 20) * 10
            assert 0 < facts["signed_area_m2"] <= offer.vacant_area_m2
            assert 0.4 * need <= facts["signed_area_m2"] <= 2 * max(need, offer.min_unit_m2 or 0)
            assert 0.85 * offer.rent_yuan_m2_month - 0.5 <= facts["rent_yuan_m2_month"]
            assert facts["rent_yuan_m2_month"] <= offer.rent_yuan_m2_month
        if "moved_in_on" in facts:
            signed, moved = (event for event in lead.events if event.stage in {Stage.signed, Stage.moved_in})
            assert facts["moved_in_on"] == china_date(moved.at) > china_date(signed.at)
            assert 1 <= facts["actual_headcount"] <= facts["expected_headcount"]
        if isinstance(offer, ScenarioRecord) and "contract_wan_yuan" in facts:
            assert 0 < facts["contract_wan_yuan"] <= (offer.budget_wan_yuan or 0)


def test_no_building_is_signed_beyond_its_vacancy_and_no_firm_or_scenario_twice(
    history: list[HistoryLead], records: dict[str, CatalogueRecord]
) -> None:
    changes: list[tuple[date, int, str, float]] = []
    """(day, 1 for a signing and 0 for giving back, building, area): givings back first on a day."""
    for lead in history:
        if "signed_area_m2" not in lead.facts():
            continue
        area, days = lead.facts()["signed_area_m2"], [china_date(event.at) for event in lead.events]
        at = [event.stage for event in lead.events].index(Stage.signed)
        changes.append((days[at], 1, lead.offer_id, area))
        if at + 1 < len(days):
            changes.append((days[at + 1], 0, lead.offer_id, -area))
    held: dict[str, float] = defaultdict(float)
    for _, _, building, area in sorted(changes):
        held[building] += area
        vacancy = records[building]
        assert isinstance(vacancy, BuildingRecord)
        assert held[building] <= vacancy.vacant_area_m2 + 1e-6, building
    assert sum(held.values()) > 0  # some area is signed and not moved in yet
    signers = [
        lead.enterprise_id
        for lead in history
        if lead.kind == LeadKind.building and "signed_area_m2" in lead.facts()
    ]
    assert len(signers) == len(set(signers)) > 100
    winners = [lead.offer_id for lead in history if lead.stage == Stage.won]
    assert len(winners) == len(set(winners)) > 5


def test_every_event_lies_in_the_18_months_before_today_in_order(history: list[HistoryLead]) -> None:
    first = TODAY - timedelta(days=HISTORY_DAYS)
    for lead in history:
        moments = [event.at for event in lead.events]
        assert moments == sorted(set(moments))
        assert first <= china_date(moments[0]) <= china_date(moments[-1]) < TODAY
    assert min(china_date(lead.events[0].at) for lead in history) < first + timedelta(days=31)
    assert {lead.stage for lead in history} >= {
        Stage.recommended,
        Stage.contacted,
        Stage.signed,
    }  # open ones too


def test_stages_take_realistic_times(history: list[HistoryLead]) -> None:
    waits: dict[tuple[Stage, Stage], list[int]] = defaultdict(list)
    for lead in history:
        for before, after in zip(lead.events, lead.events[1:], strict=False):
            waits[before.stage, after.stage].append((china_date(after.at) - china_date(before.at)).days)
    assert 5 <= median(waits[Stage.recommended, Stage.contacted]) <= 10
    assert 10 <= median(waits[Stage.contacted, Stage.visited]) <= 20
    assert 20 <= median(waits[Stage.intent, Stage.signed]) <= 45
    assert 30 <= median(waits[Stage.signed, Stage.moved_in]) <= 90


def test_conversion_falls_with_rank_and_pure_noise_has_no_position_bias(
    history: list[HistoryLead], noise: list[HistoryLead]
) -> None:
    top, bottom = range(1, 4), range(8, 11)
    assert rate(history, top, took_first_step) > 1.5 * rate(history, bottom, took_first_step)
    assert 0.85 < rate(noise, top, took_first_step) / rate(noise, bottom, took_first_step) < 1.18


def test_higher_true_utility_converts_more_and_under_pure_noise_not_at_all(
    history: list[HistoryLead], noise: list[HistoryLead]
) -> None:
    rho, chance = within_rank_correlation(history)
    assert rho > 2 * chance  # far beyond what chance gives: the check below cannot pass by accident
    rho, chance = within_rank_correlation(noise)
    assert abs(rho) < chance


def test_loss_reasons_follow_what_the_pair_lacks(history: list[HistoryLead]) -> None:
    by_reason: dict[str, list[dict[str, float]]] = defaultdict(list)
    for lead in history:
        reason = lead.facts().get("lost_reason")
        if lead.kind == LeadKind.building and reason is not None:
            by_reason[reason.value].append(factor_values(lead.components, Weights()))
    assert mean(x["rent"] for x in by_reason["cost"]) < mean(x["rent"] for x in by_reason["location"]) - 0.05
    assert (
        mean(x["district"] for x in by_reason["location"])
        < mean(x["district"] for x in by_reason["cost"]) - 0.1
    )
    assert mean(x["area"] for x in by_reason["space"]) < mean(x["area"] for x in by_reason["location"])


def test_factor_values_read_back_from_the_components_give_back_the_score(shown: list[ShownPair]) -> None:
    defaults = Weights()
    as_scored = PreferenceModel(weights=defaults.factor_weights(tuple(TRUE_WEIGHTS)))
    for pair in shown[::50]:
        values = factor_values(pair.components, defaults)
        assert set(values) == set(
            factor_names("buildings" if pair.kind == LeadKind.building else "scenarios")
        )
        assert as_scored.utility(values) + pair.components["spread"] == pytest.approx(pair.score, abs=1e-9)
    assert TRUE_WEIGHTS.keys() == defaults.factor_weights(tuple(TRUE_WEIGHTS)).keys()
    assert defaults.factor_weights(tuple(TRUE_WEIGHTS)) != TRUE_WEIGHTS
    Weights(**TRUE_WEIGHTS)  # the true weights are weights an administrator could set


def test_the_preference_model_documents_its_true_weights_beside_the_defaults() -> None:
    documented = preference.__doc__ or ""
    defaults = Weights()
    for name, weight in TRUE_WEIGHTS.items():
        assert f"{name:<11} {weight:.2f}  {getattr(defaults, name):.2f}" in documented, name


def test_each_district_has_its_own_staff() -> None:
    names = [name for staff in STAFF.values() for name in staff]
    assert len(names) == len(set(names)) == 3 * len(STAFF)


def test_the_history_is_written_to_a_migrated_database_and_takes_capacity(
    fresh_database_url: str, history: list[HistoryLead]
) -> None:
    engine = make_engine(fresh_database_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        load_demo_catalogue(session)
        report, capacity = write_history(session, history)
    assert report.leads == len(history)
    expected: dict[str, float] = defaultdict(float)
    for lead in history:
        if lead.stage == Stage.signed:
            expected[lead.offer_id] += lead.facts()["signed_area_m2"]
    placed = {lead.enterprise_id for lead in history if lead.stage in {Stage.signed, Stage.moved_in}}
    with sessions() as session:
        stored = load_capacity(session)
        assert stored == capacity
        assert stored.taken == pytest.approx(dict(expected))
        assert stored.placed == placed
        assert (
            session.scalar(select(CatalogueStamp.version).where(CatalogueStamp.kind == CAPACITY_STAMP)) == 1
        )
        assert session.scalar(select(func.count()).select_from(Lead)) == len(history)
        events = session.scalar(select(func.count()).select_from(LeadEvent))
        assert events == sum(len(lead.events) for lead in history)
        row = session.scalars(select(Lead).where(Lead.stage == Stage.moved_in).order_by(Lead.id)).first()
        assert row is not None
        drawn = next(
            h for h in history if (h.enterprise_id, h.offer_id) == (row.enterprise_id, row.building_id)
        )
        assert [(e.stage, e.at, e.actor) for e in row.history] == [
            (e.stage, e.at, e.actor) for e in drawn.events
        ]
        assert [e.from_stage for e in row.history] == [None, *(e.stage for e in drawn.events[:-1])]
        assert (row.created_at, row.stage_at, row.version) == (
            drawn.events[0].at,
            drawn.events[-1].at,
            len(drawn.events),
        )
        assert {name: getattr(row, name) for name in drawn.facts()} == drawn.facts()
        assert row.signed_on == china_date(next(e.at for e in drawn.events if e.stage == Stage.signed))
        assert (row.match_weights_version, row.match_rank, row.match_components) == (
            1,
            drawn.rank,
            drawn.components,
        )
    engine.dispose()
