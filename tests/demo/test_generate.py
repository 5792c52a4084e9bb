"""Tests of the deterministic Chinese demo data generator."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from functools import cache

import pytest

from demo.generate import (
    DEMO_REFERENCE_DATE,
    DEMO_SEED,
    DEMO_SIZES,
    GENERATORS,
    demo_catalogue,
    generate_buildings,
    generate_enterprises,
    generate_enterprises_with_industries,
    generate_scenarios,
)
from models.credit_code import ALPHABET, check_character
from models.enums import District, FitOut, Industry, ScenarioStatus
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, ScenarioRecord

Records = list[dict[str, object]]

BUILDING_KEYS = {
    "id",
    "name",
    "district",
    "address",
    "lat",
    "lon",
    "vacant_area_m2",
    "min_unit_m2",
    "rent_yuan_m2_month",
    "fit_out",
    "grade",
    "focus_industries",
    "amenities",
    "incentives",
    "description",
    "available_from",
}
ENTERPRISE_KEYS = {
    "id",
    "name",
    "credit_code",
    "description",
    "industries",
    "headcount",
    "required_area_m2",
    "max_rent_yuan_m2_month",
    "preferred_districts",
    "needs_move_in_ready",
    "origin",
    "tags",
}
SCENARIO_KEYS = {
    "id",
    "title",
    "owner",
    "owner_type",
    "level",
    "district",
    "domain",
    "description",
    "scope",
    "industries",
    "budget_wan_yuan",
    "deadline",
    "batch",
    "status",
}
AMENITIES = {
    "incubator",
    "canteen",
    "talent_apartment",
    "metro",
    "parking",
    "gym",
    "meeting_center",
    "data_center",
    "shuttle_bus",
}


@cache
def _catalogue() -> dict[str, Records]:
    """The demo catalogue, generated once for the whole module."""
    return demo_catalogue()


def _number(record: dict[str, object], key: str) -> float:
    """Return a numeric field of a record, failing the test when it is not a number."""
    value = record[key]
    assert isinstance(value, int | float), (key, value)
    return float(value)


def _text(record: dict[str, object], key: str) -> str:
    """Return a text field of a record, failing the test when it is not a string."""
    value = record[key]
    assert isinstance(value, str), (key, value)
    return value


def test_same_seed_gives_identical_output() -> None:
    """Generation is a pure function of count and seed."""
    assert generate_buildings(60, seed=7) == generate_buildings(60, seed=7)
    assert generate_enterprises(200, seed=7) == generate_enterprises(200, seed=7)
    first = generate_scenarios(60, seed=7, reference_date=DEMO_REFERENCE_DATE)
    assert first == generate_scenarios(60, seed=7, reference_date=DEMO_REFERENCE_DATE)
    assert json.dumps(demo_catalogue(), ensure_ascii=False) == json.dumps(_catalogue(), ensure_ascii=False)


def test_different_seed_gives_different_output() -> None:
    """Another seed gives another data set."""
    assert generate_buildings(60, seed=7) != generate_buildings(60, seed=8)
    assert generate_enterprises(200, seed=7) != generate_enterprises(200, seed=8)
    first = generate_scenarios(60, seed=7, reference_date=DEMO_REFERENCE_DATE)
    assert first != generate_scenarios(60, seed=8, reference_date=DEMO_REFERENCE_DATE)


def test_demo_sizes() -> None:
    """The demo catalogue has the documented sizes, large enough for a convincing demo."""
    catalogue = _catalogue()
    assert set(catalogue) == {"buildings", "enterprises", "scenarios"}
    for kind, size in DEMO_SIZES.items():
        assert len(catalogue[kind]) == size
    assert len(catalogue["buildings"]) >= 300
    assert len(catalogue["enterprises"]) >= 1000
    assert len(catalogue["scenarios"]) >= 300


def test_generators_match_the_functions() -> None:
    """The `gen` command's mapping calls the generators with the demo reference date."""
    assert set(GENERATORS) == {"buildings", "enterprises", "scenarios"}
    assert GENERATORS["buildings"](5, 3) == generate_buildings(5, seed=3)
    assert GENERATORS["enterprises"](5, 3) == generate_enterprises(5, seed=3)
    assert GENERATORS["scenarios"](5, 3) == generate_scenarios(5, seed=3, reference_date=DEMO_REFERENCE_DATE)
    assert GENERATORS["enterprises"](0, 3) == []


@pytest.mark.parametrize(
    ("kind", "keys"),
    [("buildings", BUILDING_KEYS), ("enterprises", ENTERPRISE_KEYS), ("scenarios", SCENARIO_KEYS)],
)
def test_records_use_exactly_the_spec_keys(kind: str, keys: set[str]) -> None:
    """Every record carries the SPEC's English keys and nothing else."""
    for record in _catalogue()[kind]:
        assert set(record) == keys


def test_records_are_json_with_iso_dates() -> None:
    """Records survive a JSON round trip unchanged; dates are ISO strings."""
    catalogue = _catalogue()
    assert json.loads(json.dumps(catalogue, ensure_ascii=False)) == catalogue
    dates = [record["available_from"] for record in catalogue["buildings"]]
    dates += [record["deadline"] for record in catalogue["scenarios"]]
    for value in dates:
        assert value is None or (isinstance(value, str) and date.fromisoformat(value).isoformat() == value)


@pytest.mark.parametrize(
    ("kind", "record_type"),
    [("buildings", BuildingRecord), ("enterprises", EnterpriseRecord), ("scenarios", ScenarioRecord)],
)
def test_records_pass_the_import_schema(kind: str, record_type: type[CatalogueRecord]) -> None:
    """Every demo record is a valid import row; open scenarios stay open."""
    for record in _catalogue()[kind]:
        parsed = record_type.model_validate(record)
        if isinstance(parsed, ScenarioRecord):
            assert parsed.status.value == record["status"]


def test_ids_are_unique_and_well_formed() -> None:
    """Ids follow B00001 / E000001 / S00001 and never repeat."""
    patterns = {"buildings": r"B\d{5}", "enterprises": r"E\d{6}", "scenarios": r"S\d{5}"}
    for kind, records in _catalogue().items():
        ids = [_text(record, "id") for record in records]
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(patterns[kind], value) for value in ids)
        assert ids[0] == patterns[kind][0] + "1".rjust(len(ids[0]) - 1, "0")


def test_every_district_has_buildings() -> None:
    """Buildings cover all twelve districts, weighted towards the core ones."""
    counts = Counter(_text(record, "district") for record in _catalogue()["buildings"])
    assert set(counts) == {district.value for district in District}
    assert counts["渝中区"] > counts["大渡口区"]
    assert counts["两江新区"] > counts["北碚区"]


def test_building_numbers_are_plausible() -> None:
    """Areas, units, rents, coordinates and fit-out mix are in their documented ranges."""
    buildings = _catalogue()["buildings"]
    for record in buildings:
        vacant = _number(record, "vacant_area_m2")
        assert 200 <= vacant <= 20_000
        if record["min_unit_m2"] is not None:
            assert 0 < _number(record, "min_unit_m2") <= vacant
        assert 30 <= _number(record, "rent_yuan_m2_month") <= 150
        assert (record["lat"] is None) == (record["lon"] is None)
        if record["lat"] is not None:
            assert 28.1 <= _number(record, "lat") <= 32.3
            assert 105.2 <= _number(record, "lon") <= 110.2
        amenities = record["amenities"]
        assert amenities is None or (isinstance(amenities, list) and set(amenities) <= AMENITIES)
    located = [record for record in buildings if record["lat"] is not None]
    assert len(located) > 0.9 * len(buildings)
    fit_outs = Counter(record["fit_out"] for record in buildings)
    assert set(fit_outs) == {fit_out.value for fit_out in FitOut}
    assert fit_outs[FitOut.move_in_ready.value] > fit_outs[FitOut.shell.value]
    declared = sum(record["focus_industries"] is not None for record in buildings)
    assert 0.3 * len(buildings) < declared < 0.7 * len(buildings)


def test_every_industry_is_represented() -> None:
    """Each industry has at least 40 firms in the demo; declared industries include the generating one."""
    rows = generate_enterprises_with_industries(DEMO_SIZES["enterprises"], seed=DEMO_SEED)
    assert [record for record, _ in rows] == _catalogue()["enterprises"]
    counts = Counter(industry for _, industry in rows)
    assert set(counts) == set(Industry)
    assert min(counts.values()) >= 40
    declared = 0
    for record, industry in rows:
        codes = record["industries"]
        if codes is not None:
            declared += 1
            assert isinstance(codes, list)
            assert codes[0] == industry.value
            assert 1 <= len(codes) <= 2
    assert 0.25 * len(rows) < declared < 0.45 * len(rows)


def test_descriptions_usually_do_not_name_the_industry() -> None:
    """Most firms describe what they do rather than naming their industry's label."""
    rows = generate_enterprises_with_industries(DEMO_SIZES["enterprises"], seed=DEMO_SEED)
    naming = sum(industry.label in _text(record, "description") for record, industry in rows)
    assert naming < 0.4 * len(rows)


def test_credit_codes_are_valid() -> None:
    """Credit codes, present on most firms, are Chongqing enterprise codes with a correct check character."""
    enterprises = _catalogue()["enterprises"]
    codes = [record["credit_code"] for record in enterprises if record["credit_code"] is not None]
    assert 0.6 * len(enterprises) < len(codes) < 0.8 * len(enterprises)
    for code in codes:
        assert isinstance(code, str)
        assert len(code) == 18
        assert set(code) <= set(ALPHABET)
        assert code.startswith("9150")
        assert code[:6] in {"915000", "915001", "915002"}
        assert check_character(code[:17]) == code[17]


def test_enterprise_fields_are_plausible() -> None:
    """Head counts, areas, rents, districts and tags follow the documented shapes."""
    enterprises = _catalogue()["enterprises"]
    districts = {district.value for district in District}
    for record in enterprises:
        headcount = _number(record, "headcount")
        assert 3 <= headcount <= 3000
        if record["required_area_m2"] is not None:
            assert _number(record, "required_area_m2") > 0
        if record["max_rent_yuan_m2_month"] is not None:
            assert 35 <= _number(record, "max_rent_yuan_m2_month") <= 160
        preferred = record["preferred_districts"]
        assert preferred is None or (isinstance(preferred, list) and 1 <= len(preferred) <= 3)
        assert preferred is None or set(preferred) <= districts
        assert isinstance(record["needs_move_in_ready"], bool)
        tags = record["tags"]
        if isinstance(tags, list) and "leading" in tags:
            assert headcount >= 500
    origins = Counter(record["origin"] for record in enterprises)
    assert 0.12 * len(enterprises) < origins["in_city_relocation"] < 0.3 * len(enterprises)
    untagged = sum(record["tags"] is None for record in enterprises)
    assert untagged > 0.7 * len(enterprises)


def test_open_scenarios_are_publishable() -> None:
    """Open scenarios have an owner, a scope and a budget; drafts lack at least one of them."""
    scenarios = _catalogue()["scenarios"]
    statuses = Counter(record["status"] for record in scenarios)
    assert set(statuses) == {status.value for status in ScenarioStatus}
    assert statuses[ScenarioStatus.open.value] > len(scenarios) / 2
    for record in scenarios:
        budget = record["budget_wan_yuan"]
        if budget is not None:
            assert 20 <= _number(record, "budget_wan_yuan") <= 5000
        publishable = bool(record["owner"]) and bool(record["scope"]) and budget is not None
        if record["status"] == ScenarioStatus.open.value:
            assert publishable
        if record["status"] == ScenarioStatus.draft.value:
            assert not publishable


def test_open_deadlines_are_mostly_ahead() -> None:
    """Most open calls close within a year after the reference date; some have already passed."""
    reference = DEMO_REFERENCE_DATE.isoformat()
    horizon = DEMO_REFERENCE_DATE.replace(year=DEMO_REFERENCE_DATE.year + 1).isoformat()
    open_deadlines = [
        _text(record, "deadline") for record in _catalogue()["scenarios"] if record["status"] == "open"
    ]
    ahead = [deadline for deadline in open_deadlines if reference < deadline <= horizon]
    assert len(ahead) > 0.7 * len(open_deadlines)
    assert any(deadline < reference for deadline in open_deadlines)


def test_texts_are_varied() -> None:
    """Descriptions rarely repeat and names and titles never do."""
    catalogue = _catalogue()
    for kind, name_key in (("buildings", "name"), ("enterprises", "name"), ("scenarios", "title")):
        records = catalogue[kind]
        assert len({record[name_key] for record in records}) == len(records)
        descriptions = {record["description"] for record in records}
        assert len(descriptions) > 0.97 * len(records)


def test_many_enterprises_stay_unique() -> None:
    """A large generated lead pool keeps unique ids, names and credit codes."""
    enterprises = generate_enterprises(20_000, seed=99)
    assert len(enterprises) == 20_000
    assert len({record["id"] for record in enterprises}) == 20_000
    assert len({record["name"] for record in enterprises}) == 20_000
    codes = [record["credit_code"] for record in enterprises if record["credit_code"] is not None]
    assert len(set(codes)) == len(codes)
    assert {industry for _, industry in generate_enterprises_with_industries(120, seed=99)} == set(Industry)
