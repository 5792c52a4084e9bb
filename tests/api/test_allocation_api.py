"""GET /api/v1/allocation (分配建议): the JSON shape, capacity after signed leads, roles and bad input."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any
from unittest.mock import patch

import pytest
from fastapi import FastAPI

from api.services.allocation import CANDIDATES
from matcher.factors import firm_need_m2
from models.records import BuildingRecord
from tests.api.conftest import Api
from tests.users import district_staff

V1 = "/api/v1"
URL = f"{V1}/allocation"
TOLERANCE = 1e-6


def _app(api: Api) -> FastAPI:
    """The app under test."""
    app = api.client.app
    assert isinstance(app, FastAPI)
    return app


def _live(api: Api) -> Any:
    """The app's recommender (buildings as matched: their available area)."""
    return _app(api).state.xingpei.recommender


def _allocation(api: Api, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    """A successful answer."""
    answer = api.client.get(URL, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _area_by_building(found: dict[str, Any]) -> dict[str, float]:
    """The area the suggestion gives each building."""
    given: dict[str, float] = defaultdict(float)
    for item in found["assignments"]:
        given[item["building_id"]] += item["area_m2"]
    return given


def test_the_answer_has_the_documented_shape_and_keeps_every_building_within_its_available_area(
    api: Api,
) -> None:
    found = _allocation(api, api.staff)
    assert {
        "assignments",
        "total_score",
        "optimality_gap",
        "greedy",
        "scenario_invitations",
    } <= found.keys()
    assert {"total_score", "overbooked_buildings", "feasible_total_score"} <= found["greedy"].keys()
    assignments = found["assignments"]
    assert assignments, "the small catalogue places some firms"
    for item in assignments:
        assert {"enterprise_id", "building_id", "area_m2", "score"} <= item.keys()
        assert item["score"] <= item["first_choice_score"] + TOLERANCE
        assert item["loss"] == pytest.approx(item["first_choice_score"] - item["score"])
    recommender = _live(api)
    buildings = recommender.records["buildings"]
    firms = recommender.records["enterprises"]
    for building_id, area in _area_by_building(found).items():
        assert isinstance(buildings[building_id], BuildingRecord)
        assert area <= buildings[building_id].vacant_area_m2 + TOLERANCE, building_id
    for item in assignments:
        assert item["area_m2"] == pytest.approx(firm_need_m2(firms[item["enterprise_id"]]))
    assert max(Counter(item["enterprise_id"] for item in assignments).values()) == 1
    assert [item["score"] for item in assignments] == sorted(
        (item["score"] for item in assignments), reverse=True
    )
    assert found["total_score"] == pytest.approx(sum(item["score"] for item in assignments))
    assert found["pool_firms"] == len(assignments) + len(found["unassigned"]) == len(firms)
    assert found["candidates_per_firm"] == CANDIDATES
    assert found["greedy"]["total_score"] >= found["total_score"] - TOLERANCE, (
        "first choices are an upper bound"
    )
    assert found["total_score"] >= found["greedy"]["feasible_total_score"] - TOLERANCE
    for over in found["greedy"]["overbooked_buildings"]:
        assert over["wanted_m2"] > over["available_m2"]
        assert over["available_m2"] == pytest.approx(buildings[over["building_id"]].vacant_area_m2)
        assert over["wanted_m2"] == pytest.approx(sum(firm_need_m2(firms[i]) for i in over["enterprise_ids"]))
    assert found["optimal"] is True
    assert found["scenario_invitations"]


def test_each_open_scenario_gets_invitations_and_no_firm_more_than_three(api: Api) -> None:
    found = _allocation(api, api.staff)
    scenarios = _live(api).records["scenarios"]
    invited: Counter[str] = Counter()
    for item in found["scenario_invitations"]:
        assert scenarios[item["scenario_id"]].status == "open"
        assert len(item["enterprise_ids"]) + item["shortfall"] >= 3
        assert len(item["scores"]) == len(item["enterprise_ids"]) == len(item["enterprise_names"])
        invited.update(item["enterprise_ids"])
    assert invited
    assert max(invited.values()) <= 3


def test_a_building_filled_by_signed_leads_is_not_given_more_than_is_left(api: Api) -> None:
    before = _allocation(api, api.staff)
    on: dict[str, list[float]] = defaultdict(list)
    for item in before["assignments"]:
        on[item["building_id"]].append(item["area_m2"])
    building_id = max(on, key=lambda i: len(on[i]))
    smallest = sorted(on[building_id])[:2]
    assert len(smallest) == 2, "the small catalogue puts two firms in one building"
    left = sum(smallest) - 1  # each of the two still fits, both together no longer do
    available = _live(api).records["buildings"][building_id].vacant_area_m2
    elsewhere = [
        item["enterprise_id"] for item in before["assignments"] if item["building_id"] != building_id
    ]
    signer = (before["unassigned"] or elsewhere)[0]
    lead = api.client.post(
        f"{V1}/leads", json={"enterprise_id": signer, "building_id": building_id}, headers=api.staff
    )
    assert lead.status_code == 201, lead.text
    signed = api.client.post(
        f"{V1}/leads/{lead.json()['id']}/stage",
        json={
            "stage": "signed",
            "expected_version": 1,
            "signed_area_m2": available - left,
            "rent_yuan_m2_month": 60,
            "expected_headcount": 20,
        },
        headers=api.staff,
    )
    assert signed.status_code == 200, signed.text
    after = _allocation(api, api.staff)
    assert _live(api).records["buildings"][building_id].vacant_area_m2 == pytest.approx(left)
    assert 0 < _area_by_building(after).get(building_id, 0.0) <= left + TOLERANCE
    firms_after = {item["enterprise_id"] for item in after["assignments"]} | set(after["unassigned"])
    assert signer not in firms_after, "a placed firm leaves the pool"
    assert (after["pool_firms"], after["placed_firms"]) == (
        before["pool_firms"] - 1,
        before["placed_firms"] + 1,
    )


def test_an_open_lead_of_a_suggested_pair_is_marked_on_the_next_answer(api: Api) -> None:
    first = _allocation(api, api.staff)
    pair = first["assignments"][0]
    assert pair["lead"] is None
    body = {"enterprise_id": pair["enterprise_id"], "building_id": pair["building_id"]}
    lead = api.client.post(f"{V1}/leads", json=body, headers=api.staff)
    assert lead.status_code == 201, lead.text
    again = _allocation(api, api.staff)
    assert again["candidate_seconds"] == first["candidate_seconds"], "kept: no capacity or catalogue moved"
    marked = {(a["enterprise_id"], a["building_id"]): a["lead"] for a in again["assignments"]}
    assert marked[pair["enterprise_id"], pair["building_id"]] == {
        "id": lead.json()["id"],
        "stage": "recommended",
    }
    assert sum(mark is not None for mark in marked.values()) == 1


def test_a_district_keeps_buildings_and_scenarios_of_that_district(api: Api) -> None:
    found = _allocation(api, api.staff, district="渝北区")
    assert (found["scope"], found["district"]) == ("渝北区", "渝北区")
    assert {item["district"] for item in found["assignments"]} <= {"渝北区"}
    assert {item["district"] for item in found["greedy"]["overbooked_buildings"]} <= {"渝北区"}
    assert {item["district"] for item in found["scenario_invitations"]} <= {"渝北区"}
    whole = _allocation(api, api.staff)
    assert len(found["assignments"]) < len(whole["assignments"])


def test_an_admins_district_share_caps_every_district(api: Api) -> None:
    share = 0.12
    unlimited = _allocation(api, api.admin)
    crowded = max(Counter(item["district"] for item in unlimited["assignments"]).values())
    assert crowded > share * len(unlimited["assignments"]), "the unlimited answer crowds a district"
    found = _allocation(api, api.admin, max_district_share=share)
    assert found["max_district_share"] == share
    per_district = Counter(item["district"] for item in found["assignments"])
    assert max(per_district.values()) <= share * len(found["assignments"]) + TOLERANCE
    assert found["total_score"] <= unlimited["total_score"] + TOLERANCE


def test_anonymous_callers_get_401_and_staff_setting_a_share_get_403(api: Api) -> None:
    anonymous = api.client.get(URL)
    assert (anonymous.status_code, anonymous.json()) == (401, {"detail": "需要登录"})
    for headers in (
        api.staff,
        {"Authorization": f"Bearer {district_staff(_app(api).state.xingpei.sessions)}"},
    ):
        refused = api.client.get(URL, params={"max_district_share": 0.5}, headers=headers)
        assert refused.status_code == 403, refused.text
        assert set(refused.json()) == {"detail"}
        assert "max_district_share" in refused.json()["detail"]


@pytest.mark.parametrize("share", ["0", "-0.2", "1.5", "abc", "nan"])
def test_a_bad_share_is_a_422_naming_the_field(api: Api, share: str) -> None:
    answer = api.client.get(URL, params={"max_district_share": share}, headers=api.admin)
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == ["max_district_share"]


@pytest.mark.parametrize(
    ("params", "least"),
    [({"max_district_share": 0.05}, "0.09"), ({"max_district_share": 0.5, "district": "渝中区"}, "1.00")],
)
def test_a_share_no_answer_can_meet_is_refused_before_any_candidate_is_matched(
    api: Api, params: dict[str, Any], least: str
) -> None:
    # 12 districts (one when limited to one): a share below 1 / 12 (below 1) leaves only the empty answer.
    with patch("api.services.allocation.candidates", side_effect=AssertionError("candidates matched")):
        answer = api.client.get(URL, params=params, headers=api.admin)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert [error["field"] for error in errors] == ["max_district_share"]
    assert errors[0]["message"].endswith(f"上限至少应为 {least}")


def test_an_infeasible_share_is_a_422_saying_what_would_make_it_feasible(api: Api) -> None:
    answer = api.client.get(URL, params={"max_district_share": 0.01}, headers=api.admin)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert [error["field"] for error in errors] == ["max_district_share"]
    assert "上限至少应为" in errors[0]["message"]
    assert "max_district_share" in answer.json()["detail"]


def test_an_unknown_district_is_a_422_naming_the_field(api: Api) -> None:
    answer = api.client.get(URL, params={"district": "火星区"}, headers=api.staff)
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == ["district"]


def test_the_openapi_document_describes_the_answer(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    operation = document["paths"][URL]["get"]
    assert {"401", "403", "422"} <= operation["responses"].keys()
    schema = document["components"]["schemas"]["AllocationOut"]
    assert {"assignments", "total_score", "optimality_gap", "greedy", "scenario_invitations"} <= set(
        schema["required"]
    )
