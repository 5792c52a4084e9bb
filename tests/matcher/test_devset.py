"""The labelled development set: it imports cleanly, its labels are hidden, and its relevance rule holds."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any

import pytest

from matcher.devset import (
    DEVSET_DIR,
    REFERENCE_DATE,
    TRAP_KINDS,
    DevSet,
    ItemKind,
    broken_constraints,
    load_devset,
    relevance,
    relevance_judgements,
    semantic_grade,
    violates_hard_constraints,
)
from models.enums import District, FitOut, Industry, ScenarioStatus
from models.records import RECORD_TYPES, BuildingRecord, EnterpriseRecord, RecordKind, ScenarioRecord

HIDDEN_KINDS: dict[RecordKind, str] = {
    "enterprises": "enterprise",
    "buildings": "building",
    "scenarios": "scenario",
}
HIDDEN_KEYS = {"specialties", "focus", "industry", "_h"}


@pytest.fixture(scope="module")
def devset() -> DevSet:
    """The development set as loaded through the import rules."""
    return load_devset()


def raw_rows(kind: RecordKind) -> list[dict[str, Any]]:
    """The JSON objects of one import file, as written."""
    lines = (DEVSET_DIR / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def specialty_vocabulary(devset: DevSet) -> set[str]:
    """Every specialty tag used by the hidden labels."""
    return {tag for labels in devset.hidden.values() for tag in labels["specialties"]}


def test_loads_through_the_import_rules(devset: DevSet) -> None:
    assert len(devset.enterprises) >= 40
    assert len(devset.buildings) >= 60
    assert len(devset.scenarios) >= 60
    assert all(isinstance(record, EnterpriseRecord) for record in devset.enterprises)
    assert all(isinstance(record, BuildingRecord) for record in devset.buildings)
    assert all(isinstance(record, ScenarioRecord) for record in devset.scenarios)


def test_ids_are_numbered_and_unique(devset: DevSet) -> None:
    for prefix, records in (("DE", devset.enterprises), ("DB", devset.buildings), ("DS", devset.scenarios)):
        ids = [record.id for record in records]
        assert ids == [f"{prefix}{number:02d}" for number in range(1, len(ids) + 1)]


def test_all_industries_among_firms(devset: DevSet) -> None:
    industries = Counter(devset.hidden[("enterprise", firm.id)]["industry"] for firm in devset.enterprises)
    assert set(industries) == {industry.value for industry in Industry}
    assert min(industries.values()) >= 3


def test_all_districts_among_buildings(devset: DevSet) -> None:
    assert {building.district for building in devset.buildings} == set(District)


def test_declared_labels_are_partial_and_consistent(devset: DevSet) -> None:
    declared_firms = [firm for firm in devset.enterprises if firm.industries]
    assert 0.2 <= len(declared_firms) / len(devset.enterprises) <= 0.4
    for firm in declared_firms:
        assert devset.hidden[("enterprise", firm.id)]["industry"] in firm.industries, firm.id
    for building in devset.buildings:
        assert set(building.focus_industries) <= set(devset.hidden[("building", building.id)]["focus"])
    for scenario in devset.scenarios:
        assert set(scenario.industries) <= set(devset.hidden[("scenario", scenario.id)]["industries"])
    focused = [building for building in devset.buildings if devset.hidden[("building", building.id)]["focus"]]
    declared_buildings = [building for building in focused if building.focus_industries]
    assert 0.35 <= len(declared_buildings) / len(focused) <= 0.65
    declared_scenarios = [scenario for scenario in devset.scenarios if scenario.industries]
    assert 0.35 <= len(declared_scenarios) / len(devset.scenarios) <= 0.65


def test_every_record_has_one_hidden_entry(devset: DevSet) -> None:
    expected = {("enterprise", firm.id) for firm in devset.enterprises}
    expected |= {("building", building.id) for building in devset.buildings}
    expected |= {("scenario", scenario.id) for scenario in devset.scenarios}
    assert set(devset.hidden) == expected


def test_hidden_labels_follow_the_schema(devset: DevSet) -> None:
    industries = {industry.value for industry in Industry}
    vocabulary = specialty_vocabulary(devset)
    assert 30 <= len(vocabulary) <= 40
    for (kind, record_id), labels in devset.hidden.items():
        specialties = labels["specialties"]
        assert len(set(specialties)) == len(specialties), record_id
        if kind == "enterprise":
            assert set(labels) == {"industry", "specialties"}
            assert labels["industry"] in industries
            assert 1 <= len(specialties) <= 2, record_id
        elif kind == "building":
            assert set(labels) == {"focus", "specialties"}
            assert set(labels["focus"]) <= industries
            # a generalist building (no focus) has no specialty either
            assert (1 <= len(specialties) <= 4) if labels["focus"] else not specialties, record_id
        else:
            assert set(labels) == {"industries", "specialties"}
            assert labels["industries"], record_id
            assert set(labels["industries"]) <= industries
            assert 1 <= len(specialties) <= 3, record_id


@pytest.mark.parametrize("kind", ["enterprises", "buildings", "scenarios"])
def test_import_files_only_have_spec_keys(kind: RecordKind) -> None:
    allowed = set(RECORD_TYPES[kind].model_fields)
    for row in raw_rows(kind):
        assert set(row) <= allowed, row["id"]
        assert not set(row) & HIDDEN_KEYS, row["id"]


def test_import_files_do_not_echo_specialty_tags(devset: DevSet) -> None:
    vocabulary = specialty_vocabulary(devset)
    for kind in RECORD_TYPES:
        text = (DEVSET_DIR / f"{kind}.jsonl").read_text(encoding="utf-8")
        assert not [tag for tag in vocabulary if tag in text], kind


def test_open_scenarios_without_budget_become_drafts(devset: DevSet) -> None:
    asked_open = {row["id"] for row in raw_rows("scenarios") if row.get("status", "open") == "open"}
    drafts = [scenario for scenario in devset.scenarios if scenario.status == ScenarioStatus.draft]
    assert 2 <= len(drafts) <= 3
    for scenario in drafts:
        assert scenario.id in asked_open
        assert scenario.drafted
        assert scenario.budget_wan_yuan is None
    statuses = Counter(scenario.status for scenario in devset.scenarios)
    assert statuses[ScenarioStatus.closed] >= 2
    assert statuses[ScenarioStatus.awarded] >= 2


def test_traps_break_the_named_constraint_and_fit_their_firm(devset: DevSet) -> None:
    assert len(devset.traps) >= 15
    assert len({(trap.firm, trap.item) for trap in devset.traps}) == len(devset.traps)
    for trap in devset.traps:
        kind: ItemKind = "buildings" if trap.kind == "building" else "scenarios"
        firm = devset.enterprise(trap.firm)
        item = devset.item(kind, trap.item)
        assert trap.trap in broken_constraints(firm, item, REFERENCE_DATE), trap
        assert violates_hard_constraints(firm, item, REFERENCE_DATE), trap
        assert semantic_grade(devset, trap.firm, kind, trap.item) >= 2, trap
        assert relevance(devset, trap.firm, kind, trap.item) == 0, trap


def test_traps_cover_every_kind(devset: DevSet) -> None:
    kinds = Counter(trap.trap for trap in devset.traps)
    assert set(kinds) == set(TRAP_KINDS)


def test_every_firm_has_enough_relevant_items(devset: DevSet) -> None:
    for firm in devset.enterprises:
        buildings = relevance_judgements(devset, firm.id, "buildings")
        good_buildings = [key for key, grade in buildings.items() if grade >= 2]
        assert len(good_buildings) >= 3, firm.id
        districts = {devset.item("buildings", key).district for key in good_buildings}
        assert len(districts) >= 2, firm.id
        scenarios = relevance_judgements(devset, firm.id, "scenarios")
        assert len([key for key, grade in scenarios.items() if grade >= 2]) >= 2, firm.id


def test_relevant_items_satisfy_the_hard_constraints(devset: DevSet) -> None:
    for firm in devset.enterprises:
        for kind in ("buildings", "scenarios"):
            for item_id in relevance_judgements(devset, firm.id, kind):
                assert not violates_hard_constraints(firm, devset.item(kind, item_id), REFERENCE_DATE)


@pytest.mark.parametrize(
    ("firm", "kind", "item", "grade"),
    [
        ("DE01", "buildings", "DB31", 3),  # analog chips, a building of analog-chip designers
        ("DE02", "buildings", "DB34", 2),  # SoC firm, a sensor-chip building: same industry only
        ("DE01", "buildings", "DB27", 1),  # a generalist building that fits the area and rent
        ("DE01", "buildings", "DB58", 0),  # a generalist building, but 1,000 m² against 1,200 m²
        ("DE01", "buildings", "DB29", 0),  # a game studio building
        ("DE04", "buildings", "DB61", 0),  # analog chips, but 68 yuan against a 55 yuan ceiling
        ("DE13", "buildings", "DB11", 3),  # fire-safety sensors: the sensing building, not a security one
        ("DE13", "buildings", "DB03", 0),  # the cyber-security building is not for a fire-safety firm
        ("DE05", "buildings", "DB31", 0),  # chip distributors' ERP is software, not chip design
        ("DE05", "buildings", "DB43", 1),  # generalist, move-in ready and within budget
        ("DE05", "buildings", "DB04", 0),  # generalist, but not move-in ready
        ("DE15", "buildings", "DB49", 3),  # large-model firm, the large-model building
        ("DE15", "buildings", "DB19", 0),  # large-model building, but 1,100 m² against 1,500 m²
        ("DE15", "scenarios", "DS15", 3),  # hotline assistant on large models
        ("DE15", "scenarios", "DS14", 2),  # AI, but defect detection
        ("DE15", "scenarios", "DS18", 0),  # large models, but the call is closed
        ("DE18", "scenarios", "DS23", 0),  # digital twin, but open without budget: a draft
        ("DE07", "scenarios", "DS66", 0),  # low code, but the deadline was the day before the reference date
        ("DE29", "scenarios", "DS35", 2),  # the deadline is the reference date itself: still open
        ("DE33", "scenarios", "DS64", 3),  # game art resource library
        ("DE33", "scenarios", "DS60", 0),  # machine vision for city management is not for a game studio
    ],
)
def test_relevance_examples(devset: DevSet, firm: str, kind: ItemKind, item: str, grade: int) -> None:
    assert relevance(devset, firm, kind, item) == grade


def test_scenarios_are_never_generalist(devset: DevSet) -> None:
    empty = dict(devset.hidden[("scenario", "DS01")], industries=[], specialties=[])
    hidden = dict(devset.hidden)
    hidden[("scenario", "DS01")] = empty
    altered = DevSet(devset.enterprises, devset.buildings, devset.scenarios, hidden, devset.traps)
    assert semantic_grade(altered, "DE01", "scenarios", "DS01") == 0


def test_hard_constraints() -> None:
    firm = EnterpriseRecord(
        id="F",
        name="f",
        description="d",
        required_area_m2=500,
        max_rent_yuan_m2_month=60,
        needs_move_in_ready=True,
    )
    base: dict[str, Any] = {"id": "B", "name": "b", "district": "渝中区", "fit_out": FitOut.move_in_ready}
    fitting = BuildingRecord(**base, vacant_area_m2=500, rent_yuan_m2_month=60)
    assert not violates_hard_constraints(firm, fitting, REFERENCE_DATE)
    small = BuildingRecord(**base, vacant_area_m2=499, rent_yuan_m2_month=60)
    assert broken_constraints(firm, small, REFERENCE_DATE) == ["too_small"]
    dear = BuildingRecord(**base, vacant_area_m2=800, rent_yuan_m2_month=61)
    assert broken_constraints(firm, dear, REFERENCE_DATE) == ["too_dear"]
    shell = BuildingRecord(**(base | {"fit_out": FitOut.shell}), vacant_area_m2=800, rent_yuan_m2_month=40)
    assert broken_constraints(firm, shell, REFERENCE_DATE) == ["not_move_in_ready"]
    loose = EnterpriseRecord(id="G", name="g", description="d")
    assert not violates_hard_constraints(loose, shell, REFERENCE_DATE)

    def scenario(**values: Any) -> ScenarioRecord:
        fields = {
            "id": "S",
            "title": "t",
            "description": "d",
            "owner": "o",
            "scope": "s",
            "budget_wan_yuan": 10,
        }
        return ScenarioRecord(**(fields | values))

    assert not violates_hard_constraints(firm, scenario(deadline=date(2026, 12, 1)), REFERENCE_DATE)
    assert not violates_hard_constraints(firm, scenario(), REFERENCE_DATE)
    assert broken_constraints(firm, scenario(deadline=date(2026, 11, 30)), REFERENCE_DATE) == ["expired"]
    assert broken_constraints(firm, scenario(status="awarded"), REFERENCE_DATE) == ["awarded"]
    assert broken_constraints(firm, scenario(status="closed"), REFERENCE_DATE) == ["closed"]
    assert broken_constraints(firm, scenario(budget_wan_yuan=None), REFERENCE_DATE) == ["draft"]
