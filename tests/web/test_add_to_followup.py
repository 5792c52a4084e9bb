"""加入跟进 on match results over HTTP: the server's match kept, typed-in firms stored once, refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.sql_log import statements_run
from tests.web.followup import (
    NEW_ID,
    app_state,
    follow_form,
    leads_listed,
    page_html,
    staff_browser,
)

PROFILE = {
    "name": "云启视觉科技",
    "description": "专注工业视觉质检算法和机器视觉平台，为汽车零部件企业提供缺陷检测系统",
    "required_area_m2": "300",
    "origin": "outside_city",
}
RESULT = re.compile(
    r'<li class="card result" id="result-(\d+)">(.*?)</li>\s*(?=<li class="card result"|</ol>)', re.S
)


@pytest.fixture
def staff(fresh_database_url: str) -> Iterator[TestClient]:
    """The app over a small catalogue, signed in as staff through the session cookie."""
    with staff_browser(fresh_database_url, scenarios=20, first_page="/find/buildings") as client:
        yield client


def _results(page: str) -> dict[int, str]:
    """Each result's HTML by its rank."""
    return {int(rank): body for rank, body in RESULT.findall(page)}


def _follow(client: TestClient, form: dict[str, str]) -> Any:
    """Post a 加入跟进 form as the browser does, without following the redirect."""
    return client.post("/find/follow", data=form, follow_redirects=False)


def _stored_firm(client: TestClient) -> str:
    """A stored firm with at least five buildings to offer."""
    for firm_id in sorted(app_state(client).recommender.records["enterprises"]):
        answer = client.get(f"/api/v1/enterprises/{firm_id}/matches/buildings", params={"k": 10}).json()
        if len(answer["results"]) >= 5:
            return firm_id
    raise AssertionError("no firm with five matching buildings")


def test_following_a_stored_firms_result_keeps_the_match_the_page_showed(staff: TestClient) -> None:
    firm = _stored_firm(staff)
    page = page_html(staff, "/find/buildings", firm=firm)
    answer = staff.get(f"/api/v1/enterprises/{firm}/matches/buildings", params={"k": 10}).json()
    third = _results(page)[3]
    form = follow_form(third)
    assert form["enterprise_id"] == firm
    expected = answer["results"][2]
    assert form["building_id"] == expected["id"]
    assert f"匹配度 <strong>{expected['score']:.2f}</strong>" in third

    moved = _follow(staff, form)
    assert moved.status_code == 303
    [lead] = leads_listed(staff, enterprise=firm)
    assert moved.headers["location"].endswith(f"&followed={lead['id']}#result-3")
    assert lead["building_id"] == expected["id"]
    assert lead["stage"] == "recommended"
    assert lead["owner"] == "staff"
    assert lead["match"]["rank"] == 3
    assert lead["match"]["score"] == expected["score"]
    assert lead["match"]["components"] == expected["components"]
    assert lead["match"]["weights_version"] == answer["weights_version"]
    assert lead["history"][0]["note"] == "从「为企业找楼」匹配结果加入跟进"

    back = staff.get(moved.headers["location"])
    assert f"已加入跟进（编号 {lead['id']}）" in back.text
    assert f'<a href="/leads/{lead["id"]}">查看跟进 →</a>' in back.text
    shown = _results(back.text)
    assert f'href="/leads/{lead["id"]}">跟进中（推介）</a>' in shown[3]
    assert all("加入跟进</button>" in shown[rank] for rank in shown if rank != 3)


def test_a_typed_in_firm_becomes_one_enterprise_and_later_clicks_reuse_it(staff: TestClient) -> None:
    firms_before = len(app_state(staff).recommender.records["enterprises"])
    page = page_html(staff, "/find/buildings", **PROFILE, k="5")
    assert "临时画像 · 未保存" in page
    results = _results(page)
    first, second = follow_form(results[1]), follow_form(results[2])
    assert first["enterprise_id"] == "adhoc"
    assert NEW_ID.fullmatch(first["new_id"])
    assert second["new_id"] == first["new_id"]

    moved = _follow(staff, first)
    assert moved.status_code == 303
    new_id = first["new_id"]
    [lead] = leads_listed(staff, enterprise=new_id)
    assert lead["enterprise_name"] == "云启视觉科技"
    assert lead["match"]["rank"] == 1
    assert moved.headers["location"] == f"/find/buildings?firm={new_id}&k=5&followed={lead['id']}#result-1"
    stored = staff.get(f"/api/v1/enterprises/{new_id}").json()
    assert stored["name"] == PROFILE["name"]
    assert stored["required_area_m2"] == 300
    assert stored["origin"] == "outside_city"

    now_stored = staff.get(moved.headers["location"]).text
    assert f"企业编号 <strong>{new_id}</strong>" in now_stored
    assert "临时画像 · 未保存" not in now_stored
    again = follow_form(_results(now_stored)[2])
    assert again["enterprise_id"] == new_id
    assert "new_id" not in again
    assert _follow(staff, again).status_code == 303

    stale = _follow(
        staff, follow_form(results[3])
    )  # the typed-in page, reopened with the browser's back button
    assert stale.status_code == 303
    assert stale.headers["location"].startswith(f"/find/buildings?firm={new_id}&")
    assert len(app_state(staff).recommender.records["enterprises"]) == firms_before + 1
    assert staff.get("/api/v1/enterprises", params={"limit": 100}).json()["total"] == firms_before + 1
    assert sorted(lead["match"]["rank"] for lead in leads_listed(staff, enterprise=new_id)) == [1, 2, 3]


def test_a_second_click_is_a_409_on_the_results_page_and_writes_nothing(staff: TestClient) -> None:
    page = page_html(staff, "/find/buildings", **PROFILE)
    form = follow_form(_results(page)[2])
    assert _follow(staff, form).status_code == 303
    [lead] = leads_listed(staff, enterprise=form["new_id"])
    twice = _follow(staff, form)
    assert twice.status_code == 409
    assert f"已有进行中的跟进（编号 {lead['id']}）" in twice.text
    assert 'role="alert"' in twice.text
    assert f'href="/leads/{lead["id"]}">跟进中（推介）</a>' in _results(twice.text)[2]
    assert len(leads_listed(staff, enterprise=form["new_id"])) == 1

    gone = _follow(staff, {**form, "building_id": "NO-SUCH"})
    assert gone.status_code == 404
    assert "楼宇「NO-SUCH」不存在" in gone.text
    broken = _follow(staff, {**follow_form(_results(page)[3]), "new_id": "E000001"})
    assert broken.status_code == 422
    assert "意向企业的新编号缺失或格式不对" in broken.text
    assert len(leads_listed(staff)) == 1


def test_anonymous_and_forged_posts_start_no_lead(staff: TestClient) -> None:
    form = follow_form(_results(page_html(staff, "/find/buildings", **PROFILE))[1])
    without_token = {name: value for name, value in form.items() if name != "csrf_token"}
    refused = _follow(staff, without_token)
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    staff.cookies.delete("xingpei_session")
    anonymous = _follow(staff, form)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    assert staff.get("/find/buildings", follow_redirects=False).status_code == 303
    assert len(app_state(staff).recommender.records["enterprises"]) == 40
    assert leads_listed(staff) == []


def test_results_mark_pairs_in_an_open_lead_with_one_query(staff: TestClient) -> None:
    firm = _stored_firm(staff)
    answer = staff.get(f"/api/v1/enterprises/{firm}/matches/buildings", params={"k": 10}).json()
    building = answer["results"][1]["id"]
    started = staff.post("/api/v1/leads", json={"enterprise_id": firm, "building_id": building})
    assert started.status_code == 201
    lead = started.json()
    link = f'href="/leads/{lead["id"]}">跟进中（推介）</a>'

    with statements_run(app_state(staff).sessions.kw["bind"]) as statements:
        page = page_html(staff, "/find/buildings", firm=firm)
    assert len([sql for sql in statements if re.search(r"\bFROM lead\b", sql)]) == 1
    results = _results(page)
    assert len(results) == len(answer["results"])
    assert link in results[2]
    assert [rank for rank, body in results.items() if "跟进中" in body] == [2]

    firms = page_html(staff, "/find/firms", building=building, k="20")
    marked = [body for body in _results(firms).values() if "跟进中" in body]
    assert len(marked) <= 1
    if marked:  # the firm is among the building's 20 best
        assert link in marked[0]
        assert f"<strong>{firm}</strong>" in marked[0]

    staff.post(
        f"/api/v1/leads/{lead['id']}/stage",
        json={"stage": "contacted", "expected_version": 1, "note": "电话"},
    )
    assert "跟进中（接洽）" in _results(page_html(staff, "/find/buildings", firm=firm))[2]
    lost = {"stage": "lost", "expected_version": 2, "lost_reason": "cost", "note": "太贵"}
    assert staff.post(f"/api/v1/leads/{lead['id']}/stage", json=lost).status_code == 200
    assert "加入跟进</button>" in _results(page_html(staff, "/find/buildings", firm=firm))[2]


def test_following_a_firm_from_a_buildings_results(staff: TestClient) -> None:
    building = sorted(app_state(staff).recommender.records["buildings"])[0]
    page = page_html(staff, "/find/firms", building=building, area="", k="10")
    results = _results(page)
    assert results
    form = follow_form(results[1])
    assert form["building_id"] == building
    moved = _follow(staff, form)
    assert moved.status_code == 303
    [lead] = leads_listed(staff, enterprise=form["enterprise_id"])
    assert lead["building_id"] == building
    assert lead["history"][0]["note"] == "从「为楼宇找企业」匹配结果加入跟进"
    assert moved.headers["location"].startswith(f"/find/firms?building={building}&")
    back = staff.get(moved.headers["location"]).text
    assert f"已加入跟进（编号 {lead['id']}）" in back
    assert f'href="/leads/{lead["id"]}">跟进中（推介）</a>' in _results(back)[1]
