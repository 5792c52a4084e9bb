"""Capacity in matching: buildings offer their available area, and placed firms leave the building pool."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher.directions import DIRECTIONS
from matcher.hashing import HashingEncoder
from matcher.recommender import Recommender
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord

TODAY = date(2026, 12, 1)
BUILDINGS = [BuildingRecord.model_validate(r) for r in generate_buildings(40, seed=5)]
FIRMS = [EnterpriseRecord.model_validate(r) for r in generate_enterprises(30, seed=5)]
SCENARIOS = [ScenarioRecord.model_validate(r) for r in generate_scenarios(30, seed=5, reference_date=TODAY)]


def _recommender() -> Recommender:
    """A recommender over the generated catalogue."""
    catalogue: dict[RecordKind, Sequence[CatalogueRecord]] = {
        "buildings": BUILDINGS,
        "enterprises": FIRMS,
        "scenarios": SCENARIOS,
    }
    return Recommender(HashingEncoder(), today=TODAY).load(catalogue)


def _firm_without_need() -> EnterpriseRecord:
    """A firm with no area need and no rent ceiling, so every building is eligible for it."""
    return FIRMS[0].model_copy(
        update={"required_area_m2": None, "max_rent_yuan_m2_month": None, "needs_move_in_ready": False}
    )


def test_taken_area_comes_off_the_vacancy_in_constraints_and_reasons() -> None:
    recommender = _recommender()
    firm = _firm_without_need()
    building = max(BUILDINGS, key=lambda b: b.vacant_area_m2)
    assert building.vacant_area_m2 > 1000
    recommender.set_capacity({building.id: 600.0}, ())
    offered = recommender.stored("buildings", building.id)
    assert isinstance(offered, BuildingRecord)
    assert offered.vacant_area_m2 == building.vacant_area_m2 - 600
    assert recommender.ledger[building.id] == building
    needy = firm.model_copy(update={"required_area_m2": building.vacant_area_m2 - 300})
    answer = recommender.match(DIRECTIONS["firm_buildings"], needy, 40)
    assert building.id not in [match.id for match in answer.results]
    assert answer.excluded["area"] >= 1
    smaller = needy.model_copy(update={"required_area_m2": building.vacant_area_m2 - 700})
    shown = next(
        m for m in recommender.match(DIRECTIONS["firm_buildings"], smaller, 40).results if m.id == building.id
    )
    assert f"可租 {building.vacant_area_m2 - 600:,.0f}㎡" in " ".join(shown.reasons)
    recommender.set_capacity({}, ())
    ids = [match.id for match in recommender.match(DIRECTIONS["firm_buildings"], needy, 40).results]
    assert building.id in ids


def test_a_full_building_is_offered_to_nobody_and_finds_nobody() -> None:
    recommender = _recommender()
    firm = _firm_without_need()
    building = recommender.match(DIRECTIONS["firm_buildings"], firm, 1).results[0].record
    recommender.set_capacity({building.id: 1e9}, ())
    answer = recommender.match(DIRECTIONS["firm_buildings"], firm, 40)
    assert building.id not in [match.id for match in answer.results]
    assert answer.excluded["full"] == 1
    full = recommender.stored("buildings", building.id)
    assert isinstance(full, BuildingRecord)
    assert full.vacant_area_m2 == 0
    assert recommender.match(DIRECTIONS["building_firms"], full, 10).results == []


def test_a_placed_firm_leaves_the_building_pool_only() -> None:
    recommender = _recommender()
    building = BUILDINGS[0]
    before = recommender.match(DIRECTIONS["building_firms"], building, 30).results
    placed = before[0].id
    recommender.set_capacity({}, {placed})
    after = [match.id for match in recommender.match(DIRECTIONS["building_firms"], building, 30).results]
    assert placed not in after
    assert after == [match.id for match in before if match.id != placed][: len(after)]
    firm = recommender.stored("enterprises", placed)
    assert isinstance(firm, EnterpriseRecord)
    assert recommender.match(DIRECTIONS["firm_buildings"], firm, 5).results, "a placed firm may still search"
    scenario_pool = set()
    for scenario in SCENARIOS:
        scenario_pool |= {m.id for m in recommender.match(DIRECTIONS["scenario_firms"], scenario, 30).results}
    assert placed in scenario_pool, "a placed firm is still offered for scenarios"
