"""The follow-up pipeline over HTTP: start, advance, refuse, and capacity that matching follows."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api

V1 = "/api/v1"


def _first_building_match(api: Api, firm: str) -> dict[str, Any]:
    """The best building for a stored firm."""
    answer = api.client.get(f"{V1}/enterprises/{firm}/matches/buildings?k=10", headers=api.staff)
    assert answer.status_code == 200, answer.text
    return answer.json()["results"][0]


def _firm_with_buildings(api: Api) -> tuple[str, dict[str, Any]]:
    """A stored firm that has building matches, and its best one."""
    firms = api.client.get(f"{V1}/enterprises?limit=40", headers=api.staff).json()["items"]
    for firm in firms:
        answer = api.client.get(
            f"{V1}/enterprises/{firm['id']}/matches/buildings?k=10", headers=api.staff
        ).json()
        if answer["results"]:
            return firm["id"], answer["results"][0]
    raise AssertionError("no firm has a building match")


def test_a_lead_started_from_a_match_keeps_the_servers_match(api: Api) -> None:
    firm, best = _firm_with_buildings(api)
    created = api.client.post(
        f"{V1}/leads",
        json={"enterprise_id": firm, "building_id": best["id"], "note": "电话联系"},
        headers=api.staff,
    )
    assert created.status_code == 201, created.text
    lead = created.json()
    assert lead["stage"] == "recommended"
    assert lead["version"] == 1
    assert lead["match"]["rank"] == 1
    assert lead["match"]["score"] == best["score"]
    assert lead["match"]["components"] == best["components"]
    assert [event["stage"] for event in lead["history"]] == ["recommended"]
