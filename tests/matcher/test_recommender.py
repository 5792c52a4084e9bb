"""The recommender end to end on a generated catalogue, with a small deterministic encoder."""

from __future__ import annotations

from datetime import date

import pytest

from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher.directions import DIRECTIONS
from matcher.encoder import CachedEncoder, MemoryVectorStore
from matcher.hashing import HashingEncoder
from matcher.industry import infer_industries
from matcher.recommender import MatchResult, Recommender
from matcher.text import record_text
from matcher.weights import BUILDING_FACTORS, Weights
from models.enums import FitOut, ScenarioStatus
from models.records import BuildingRecord, EnterpriseRecord, ScenarioRecord
from tests.files import building, enterprise

TODAY = date(2026, 12, 1)
FIRM_BUILDINGS, FIRM_SCENARIOS = DIRECTIONS["firm_buildings"], DIRECTIONS["firm_scenarios"]
BUILDING_FIRMS, SCENARIO_FIRMS = DIRECTIONS["building_firms"], DIRECTIONS["scenario_firms"]


@pytest.fixture(scope="module")
def catalogue() -> dict[str, list]:  # type: ignore[type-arg]
    """A generated catalogue of 240 buildings, 120 firms and 160 scenarios."""
    return {
        "buildings": [BuildingRecord.model_validate(r) for r in generate_buildings(240, seed=5)],
        "enterprises": [EnterpriseRecord.model_validate(r) for r in generate_enterprises(120, seed=5)],
        "scenarios": [
            ScenarioRecord.model_validate(r) for r in generate_scenarios(160, seed=5, reference_date=TODAY)
        ],
    }


@pytest.fixture(scope="module")
def recommender(catalogue: dict[str, list]) -> Recommender:  # type: ignore[type-arg]
    """A recommender over the generated catalogue."""
    return Recommender(HashingEncoder(), today=TODAY).load(catalogue)  # type: ignore[arg-type]


def breaks_building_constraint(firm: EnterpriseRecord, item: BuildingRecord) -> bool:
    """SPEC section 4, written out plainly."""
    return bool(
        (firm.required_area_m2 is not None and item.vacant_area_m2 < firm.required_area_m2)
        or (firm.max_rent_yuan_m2_month is not None and item.rent_yuan_m2_month > firm.max_rent_yuan_m2_month)
        or (firm.needs_move_in_ready and item.fit_out != FitOut.move_in_ready)
    )


def breaks_scenario_constraint(item: ScenarioRecord) -> bool:
    """Not open, or past its deadline."""
    return item.status != ScenarioStatus.open or (item.deadline is not None and item.deadline < TODAY)


def check_answer(result: MatchResult, k: int) -> None:
    """Shape rules every answer keeps: ranks, order, sums, reasons, shortfall note."""
    assert len(result.results) <= k
    assert [m.rank for m in result.results] == list(range(1, len(result.results) + 1))
    scores = [m.score for m in result.results]
    assert scores == sorted(scores, reverse=True)
    for match in result.results:
        assert sum(match.components.values()) == pytest.approx(match.score, abs=1e-9)
        assert 2 <= len(match.reasons) <= 5, match.reasons
    assert (result.note is not None) == (len(result.results) < k)


def test_firm_to_buildings_never_breaks_a_hard_constraint(recommender: Recommender, catalogue: dict) -> None:  # type: ignore[type-arg]
    buildings = {b.id: b for b in catalogue["buildings"]}
    for firm in catalogue["enterprises"]:
        result = recommender.match(FIRM_BUILDINGS, firm, k=10)
        check_answer(result, 10)
        for match in result.results:
            assert not breaks_building_constraint(firm, buildings[match.id]), (firm.id, match.id)
        eligible = sum(not breaks_building_constraint(firm, b) for b in buildings.values())
        assert result.eligible == eligible
        assert len(result.results) == min(10, eligible)


def test_firm_to_scenarios_only_open_and_not_expired(recommender: Recommender, catalogue: dict) -> None:  # type: ignore[type-arg]
    scenarios = {s.id: s for s in catalogue["scenarios"]}
    for firm in catalogue["enterprises"][:40]:
        result = recommender.match(FIRM_SCENARIOS, firm, k=10)
        check_answer(result, 10)
        assert all(not breaks_scenario_constraint(scenarios[m.id]) for m in result.results)


def test_fewer_survivors_than_asked_are_not_padded(recommender: Recommender) -> None:
    firm = EnterpriseRecord.model_validate(
        enterprise(id="adhoc", required_area_m2=15000, max_rent_yuan_m2_month=40, needs_move_in_ready=True)
    )
    result = recommender.match(FIRM_BUILDINGS, firm, k=10)
    assert len(result.results) < 10
    assert result.note is not None
    assert "未凑满 10 个" in result.note
    assert "可租面积小于需求面积" in result.note


def test_excluded_counts_each_pair_once_and_add_up_to_the_pairs_removed(
    recommender: Recommender,
    catalogue: dict,  # type: ignore[type-arg]
) -> None:
    firm = EnterpriseRecord.model_validate(
        enterprise(id="adhoc", required_area_m2=3000, max_rent_yuan_m2_month=60, needs_move_in_ready=True)
    )
    result = recommender.match(FIRM_BUILDINGS, firm, k=10)
    buildings = catalogue["buildings"]
    removed = sum(breaks_building_constraint(firm, b) for b in buildings)
    several = sum(
        sum(
            (
                b.vacant_area_m2 < 3000,
                b.rent_yuan_m2_month > 60,
                b.fit_out != FitOut.move_in_ready,
            )
        )
        > 1
        for b in buildings
    )
    assert several > 0  # pairs that break more than one constraint are there to be double-counted
    assert sum(result.excluded.values()) == removed == len(buildings) - result.eligible
    assert result.excluded["area"] == sum(b.vacant_area_m2 < 3000 for b in buildings)  # first in order


def test_the_shortfall_note_names_the_district_filter(recommender: Recommender, catalogue: dict) -> None:  # type: ignore[type-arg]
    firm = EnterpriseRecord.model_validate(
        enterprise(id="adhoc", required_area_m2=None, max_rent_yuan_m2_month=None, needs_move_in_ready=False)
    )
    offered = [b for b in catalogue["buildings"] if b.vacant_area_m2 > 0]
    in_district = sum(b.district == "渝中区" for b in offered)
    result = recommender.match(FIRM_BUILDINGS, firm, k=in_district + 5, districts=["渝中区"])
    assert len(result.results) == result.eligible == in_district
    assert result.note is not None
    assert f"不在所选区域（渝中区）：{len(offered) - in_district} 个" in result.note


def test_ad_hoc_profile_is_matched_without_being_stored(recommender: Recommender) -> None:
    firm = EnterpriseRecord.model_validate(
        enterprise(id="phone-call", description="做机器视觉质检和工业大模型")
    )
    result = recommender.match(FIRM_BUILDINGS, firm, k=5)
    check_answer(result, 5)
    assert "phone-call" not in recommender.records["enterprises"]


def test_components_name_every_building_factor_and_spread(recommender: Recommender, catalogue: dict) -> None:  # type: ignore[type-arg]
    match = recommender.match(FIRM_BUILDINGS, catalogue["enterprises"][0], k=3).results[0]
    assert list(match.components) == [*BUILDING_FACTORS, "spread"]


def test_spread_brings_in_other_districts(recommender: Recommender, catalogue: dict) -> None:  # type: ignore[type-arg]
    firm = catalogue["enterprises"][3]
    plain = recommender.match(FIRM_BUILDINGS, firm, k=10, weights=Weights(spread=0.0))
    spread = recommender.match(FIRM_BUILDINGS, firm, k=10, weights=Weights(spread=1.0))
    assert len({m.district for m in spread.results}) >= len({m.district for m in plain.results})


def test_district_filter(recommender: Recommender, catalogue: dict) -> None:  # type: ignore[type-arg]
    result = recommender.match(FIRM_BUILDINGS, catalogue["enterprises"][1], k=10, districts=["渝中区"])
    assert result.results
    assert {m.district for m in result.results} == {"渝中区"}


def test_reverse_directions(recommender: Recommender, catalogue: dict) -> None:  # type: ignore[type-arg]
    firms = {f.id: f for f in catalogue["enterprises"]}
    target = catalogue["buildings"][0]
    result = recommender.match(BUILDING_FIRMS, target, k=10)
    check_answer(result, 10)
    assert all(not breaks_building_constraint(firms[m.id], target) for m in result.results)
    open_scenario = next(s for s in catalogue["scenarios"] if not breaks_scenario_constraint(s))
    check_answer(recommender.match(SCENARIO_FIRMS, open_scenario, k=10), 10)
    closed = next(s for s in catalogue["scenarios"] if s.status == ScenarioStatus.closed)
    refused = recommender.match(SCENARIO_FIRMS, closed, k=10)
    assert refused.results == []
    assert refused.note is not None
    assert "不可推荐" in refused.note


def test_results_without_reasons_are_the_same_results(recommender: Recommender, catalogue: dict) -> None:  # type: ignore[type-arg]
    """What allocation asks for (scores alone): the same items, scores and components, no reasons."""
    for direction, record in [
        (FIRM_BUILDINGS, catalogue["enterprises"][3]),
        (FIRM_SCENARIOS, catalogue["enterprises"][4]),
        (BUILDING_FIRMS, catalogue["buildings"][2]),
    ]:
        full = recommender.match(direction, record, k=10)
        bare = recommender.match(direction, record, k=10, reasons=False)
        assert all(match.reasons for match in full.results)
        assert [m.reasons for m in bare.results] == [[]] * len(full.results)
        assert [(m.id, m.score, m.components) for m in bare.results] == [
            (m.id, m.score, m.components) for m in full.results
        ]


def test_a_pair_scores_the_same_in_both_directions(recommender: Recommender, catalogue: dict) -> None:  # type: ignore[type-arg]
    firm = catalogue["enterprises"][5]
    forward = recommender.match(FIRM_BUILDINGS, firm, k=1, weights=Weights(spread=0.0)).results[0]
    assert forward.record == recommender.stored("buildings", forward.id)
    backward = recommender.match(BUILDING_FIRMS, forward.record, k=len(catalogue["enterprises"]))
    mirror = next(m for m in backward.results if m.id == firm.id)
    assert mirror.record == firm
    for name in BUILDING_FACTORS:
        if name != "semantic":  # calibrated against each direction's own table
            assert mirror.components[name] == pytest.approx(forward.components[name]), name


def test_firms_for_a_scenario_are_not_scored_by_its_deadline(
    recommender: Recommender,
    catalogue: dict,  # type: ignore[type-arg]
) -> None:
    scenario = next(s for s in catalogue["scenarios"] if s.deadline and not breaks_scenario_constraint(s))
    result = recommender.match(SCENARIO_FIRMS, scenario, k=10)
    assert result.results
    for match in result.results:
        assert "urgency" not in match.components  # the same for every firm: it would only shift the scores
        assert sum(match.components.values()) == pytest.approx(match.score)
        assert not any(reason.startswith("截止日期") for reason in match.reasons)
    forward = recommender.match(FIRM_SCENARIOS, catalogue["enterprises"][0], k=1).results[0]
    assert "urgency" in forward.components


def test_the_answer_names_the_query_industries_and_their_evidence(recommender: Recommender) -> None:
    firm = EnterpriseRecord.model_validate(
        enterprise(id="chips", description="模拟芯片设计，完成多次流片", industries=["ai"])
    )
    result = recommender.match(FIRM_BUILDINGS, firm, k=3)
    assert result.industries == tuple(infer_industries(record_text(firm), ["ai"]))
    assert [guess.code for guess in result.industries][:2] == ["ai", "ic_design"]
    assert "流片" in result.industries[1].evidence


def test_an_update_is_visible_to_the_next_query_and_a_removal_too() -> None:
    encoder = CachedEncoder(HashingEncoder(), MemoryVectorStore())
    near = BuildingRecord.model_validate(building(id="B1", description="重点引进芯片设计和流片验证企业"))
    far = BuildingRecord.model_validate(building(id="B2", description="重点引进动漫游戏和虚拟人企业"))
    firm = EnterpriseRecord.model_validate(enterprise(description="模拟芯片设计，完成多次流片"))
    recommender = Recommender(encoder, today=TODAY).load({"buildings": [near, far], "enterprises": [firm]})
    assert recommender.match(FIRM_BUILDINGS, firm, k=1, weights=Weights(spread=0)).results[0].id == "B1"
    recommender.upsert(
        "buildings",
        [
            far.model_copy(update={"description": "专门服务芯片设计、流片、封测企业"}),
            near.model_copy(update={"description": "重点引进动漫游戏和虚拟人企业"}),
        ],
    )
    assert recommender.match(FIRM_BUILDINGS, firm, k=1, weights=Weights(spread=0)).results[0].id == "B2"
    recommender.remove("buildings", ["B2"])
    assert [m.id for m in recommender.match(FIRM_BUILDINGS, firm, k=5).results] == ["B1"]


def test_unchanged_texts_are_never_encoded_again(catalogue: dict) -> None:  # type: ignore[type-arg]
    inner = HashingEncoder()
    encoder = CachedEncoder(inner, MemoryVectorStore())
    Recommender(encoder, today=TODAY).load(catalogue)
    first = len(inner.calls)
    Recommender(encoder, today=TODAY).load(catalogue)
    assert first == sum(len(v) for v in catalogue.values())
    assert len(inner.calls) == first


def test_scenario_reasons_cite_budget_and_deadline(recommender: Recommender, catalogue: dict) -> None:  # type: ignore[type-arg]
    firm = EnterpriseRecord.model_validate(enterprise(id="x", headcount=40))
    results = recommender.match(FIRM_SCENARIOS, firm, k=10, weights=Weights(budget=1.0, urgency=1.0)).results
    text = " ".join(reason for m in results for reason in m.reasons)
    assert "预算" in text
    assert "还剩" in text


def test_a_building_not_yet_available_says_when_it_can_be_entered(recommender: Recommender) -> None:
    cases: tuple[tuple[str, list[str]], ...] = (
        ("2027-09-01", ["尚不可入驻：可入驻日期 2027-09-01（约 9 个月后）"]),
        ("2026-12-21", ["尚不可入驻：可入驻日期 2026-12-21（20 天后）"]),
        ("2026-12-01", []),
    )
    for available_from, caveat in cases:
        item = BuildingRecord.model_validate(building(id="later", available_from=available_from))
        results = recommender.match(BUILDING_FIRMS, item, k=5).results
        assert results
        for match in results:
            assert [r for r in match.reasons if r.startswith("尚不可入驻")] == caveat
            assert 2 <= len(match.reasons) <= 5
            assert match.reasons[: len(caveat)] == caveat  # the caveat comes first


def test_reasons_state_checkable_area_and_rent(recommender: Recommender) -> None:
    firm = EnterpriseRecord.model_validate(
        enterprise(id="y", required_area_m2=800, max_rent_yuan_m2_month=120, needs_move_in_ready=False)
    )
    result = recommender.match(FIRM_BUILDINGS, firm, k=10, weights=Weights(area=1.0, rent=1.0))
    building_by_id = {b.id: b for b in recommender.records["buildings"].values()}
    for match in result.results:
        item = building_by_id[match.id]
        area = next(r for r in match.reasons if r.startswith("面积匹配"))
        assert f"需求 800㎡，可租 {item.vacant_area_m2:,.0f}㎡" in area  # type: ignore[attr-defined]
