"""加入跟进 on the scenario pages over HTTP: a firm's scenarios, a typed-in profile, a scenario's firms."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from models.clock import china_today
from tests.sql_log import statements_run
from tests.web.followup import (
    FIRMS,
    NEW_ID,
    PASSWORD,
    app_state,
    follow_form,
    leads_listed,
    page_html,
    staff_browser,
)

PROFILE = {
    "name": "渝智工联软件",
    "description": "开发工业互联网平台和设备预测性维护软件，也做政务数据治理与城市运行监测系统",
    "headcount": "45",
}
RECOMMENDED = re.compile(
    r'<li class="card scenario result" data-id="([^"]+)" id="result-(\d+)">(.*?)</li>\s*'
    r'(?=<li class="card scenario result"|</ol>)',
    re.S,
)
FITTING = re.compile(r'<li id="result-(\d+)">(.*?)</li>\s*(?=<li id="result-|</ol>)', re.S)
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture
def staff(fresh_database_url: str) -> Iterator[TestClient]:
    """The app over a small catalogue, signed in as staff through the session cookie."""
    with staff_browser(fresh_database_url, scenarios=30, first_page="/scenarios") as client:
        yield client


def _csrf(client: TestClient) -> str:
    """This browser's CSRF token, read from a page."""
    found = CSRF.search(client.get("/scenarios").text)
    assert found
    return found.group(1)


def _typed_in(client: TestClient, **extra: str) -> str:
    """The recommendations for the typed-in profile (the 'describe your firm' form); asserts a 200."""
    answer = client.post("/scenarios", data={"csrf_token": _csrf(client), **PROFILE, **extra})
    assert answer.status_code == 200, answer.text
    return answer.text


def _recommended(page: str) -> dict[int, tuple[str, str]]:
    """Each recommended scenario's id and HTML by its place on the page."""
    return {int(rank): (scenario_id, body) for scenario_id, rank, body in RECOMMENDED.findall(page)}


def _fitting(page: str) -> dict[int, str]:
    """Each firm fitting a scenario (its detail page), HTML by rank."""
    return {int(rank): body for rank, body in FITTING.findall(page)}


def _follow(client: TestClient, form: dict[str, str]) -> Any:
    """Post a 加入跟进 form as the browser does, without following the redirect."""
    return client.post("/scenarios/follow", data=form, follow_redirects=False)


def _scenario_matches(client: TestClient, firm: str) -> dict[str, Any]:
    """The API's scenarios for a stored firm, as many as a lead looks at."""
    answer = client.get(f"/api/v1/enterprises/{firm}/matches/scenarios", params={"k": 50})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _stored_firm(client: TestClient) -> str:
    """A stored firm with at least three scenarios recommended."""
    for firm_id in sorted(app_state(client).recommender.records["enterprises"]):
        if len(_scenario_matches(client, firm_id)["results"]) >= 3:
            return firm_id
    raise AssertionError("no firm with three matching scenarios")


def _scenarios(client: TestClient, status: str, *, expired: bool = False) -> list[str]:
    """The ids of the stored scenarios of a status (open ones: whose deadline has or has not passed)."""
    items = client.get("/api/v1/scenarios", params={"limit": 100}).json()["items"]
    today = china_today().isoformat()
    return [
        s["id"]
        for s in items
        if s["status"] == status and (status != "open" or ((s["deadline"] or "9999") < today) == expired)
    ]


def _enterprises(client: TestClient) -> int:
    """How many enterprises are stored."""
    total: int = client.get("/api/v1/enterprises", params={"limit": 1}).json()["total"]
    return total


def test_following_a_stored_firms_scenario_keeps_the_match_the_page_showed(staff: TestClient) -> None:
    firm = _stored_firm(staff)
    answer = _scenario_matches(staff, firm)
    page = page_html(staff, "/scenarios", firm=firm)
    shown = _recommended(page)
    assert [scenario_id for scenario_id, _ in shown.values()] == [m["id"] for m in answer["results"]][:10]
    expected = answer["results"][1]
    scenario_id, second = shown[2]
    form = follow_form(second)
    assert (form["page"], form["enterprise_id"], form["scenario_id"]) == ("scenarios", firm, expected["id"])
    assert f"匹配得分 <strong>{expected['score']:.2f}</strong>" in second

    moved = _follow(staff, form)
    assert moved.status_code == 303
    [lead] = leads_listed(staff, enterprise=firm)
    assert moved.headers["location"] == f"/scenarios?firm={firm}&followed={lead['id']}#result-2"
    assert (lead["kind"], lead["scenario_id"], lead["building_id"]) == ("scenario", scenario_id, None)
    assert lead["stage"] == "recommended"
    assert lead["match"]["rank"] == expected["rank"] == 2
    assert lead["match"]["score"] == expected["score"]
    assert lead["match"]["components"] == expected["components"]
    assert lead["match"]["weights_version"] == answer["weights_version"]
    assert lead["history"][0]["note"] == "从「场景推荐」匹配结果加入跟进"

    back = page_html(staff, "/scenarios", firm=firm, followed=str(lead["id"]))
    assert f"已加入跟进（编号 {lead['id']}）" in back
    marked = {rank: body for rank, (_, body) in _recommended(back).items()}
    assert f'href="/leads/{lead["id"]}">跟进中（推荐）</a>' in marked[2]
    assert all("加入跟进</button>" in body for rank, body in marked.items() if rank != 2)


def test_a_typed_in_profile_becomes_one_enterprise_and_later_clicks_reuse_it(staff: TestClient) -> None:
    page = _typed_in(staff, budget_min="0")
    results = _recommended(page)
    first, second, third = (follow_form(results[rank][1]) for rank in (1, 2, 3))
    assert first["enterprise_id"] == "adhoc"
    assert NEW_ID.fullmatch(first["new_id"])
    assert second["new_id"] == third["new_id"] == first["new_id"]
    score = re.search(r"匹配得分 <strong>([\d.]+)</strong>", results[1][1])
    assert score

    moved = _follow(staff, first)
    assert moved.status_code == 303
    new_id = first["new_id"]
    [lead] = leads_listed(staff, enterprise=new_id)
    link = f"/scenarios?firm={new_id}&budget_min=0&followed={lead['id']}#result-1"
    assert moved.headers["location"] == link
    assert (lead["enterprise_name"], lead["scenario_id"]) == (PROFILE["name"], results[1][0])
    assert lead["match"]["rank"] == 1
    assert f"{lead['match']['score']:.2f}" == score.group(1)
    stored = staff.get(f"/api/v1/enterprises/{new_id}").json()
    assert (stored["name"], stored["description"], stored["headcount"]) == (
        PROFILE["name"],
        PROFILE["description"],
        45,
    )

    now_stored = staff.get(moved.headers["location"]).text
    assert f"为「{PROFILE['name']}」推荐的场景" in now_stored
    assert f"企业编号 <strong>{new_id}</strong>" in now_stored
    again = follow_form(_recommended(now_stored)[2][1])
    assert again["enterprise_id"] == new_id
    assert "new_id" not in again
    assert _follow(staff, again).status_code == 303

    stale = _follow(staff, third)  # the typed-in page, reopened with the browser's back button
    assert stale.status_code == 303
    assert stale.headers["location"].startswith(f"/scenarios?firm={new_id}&budget_min=0&")
    assert _enterprises(staff) == FIRMS + 1
    assert sorted(lead["match"]["rank"] for lead in leads_listed(staff, enterprise=new_id)) == [1, 2, 3]


def test_a_second_click_is_a_409_and_refused_scenarios_write_nothing(staff: TestClient) -> None:
    firm = _stored_firm(staff)
    form = follow_form(_recommended(page_html(staff, "/scenarios", firm=firm))[1][1])
    assert _follow(staff, form).status_code == 303
    [lead] = leads_listed(staff, enterprise=firm)
    twice = _follow(staff, form)
    assert twice.status_code == 409
    assert f"已有进行中的跟进（编号 {lead['id']}）" in twice.text
    assert 'role="alert"' in twice.text
    assert f'href="/leads/{lead["id"]}">跟进中（推荐）</a>' in _recommended(twice.text)[1][1]

    for scenario, words in (
        (_scenarios(staff, "draft")[0], "当前为「草稿」，只有征集中的场景可以跟进"),
        (_scenarios(staff, "closed")[0], "当前为「已截止」，只有征集中的场景可以跟进"),
        (_scenarios(staff, "open", expired=True)[0], "截止，不能再跟进"),
    ):
        refused = _follow(staff, {**form, "scenario_id": scenario})
        assert refused.status_code == 422, words
        assert words in html.unescape(refused.text)
        assert f"为「{leads_listed(staff)[0]['enterprise_name']}」推荐的场景" in refused.text

    typed_in = follow_form(_recommended(_typed_in(staff))[1][1])
    closed = _follow(staff, {**typed_in, "scenario_id": _scenarios(staff, "closed")[0]})
    assert closed.status_code == 422
    assert "只有征集中的场景可以跟进" in html.unescape(closed.text)
    assert "为「渝智工联软件」推荐的场景" in closed.text, "the typed-in recommendations are shown again"
    assert "加入跟进</button>" in closed.text
    assert staff.get(f"/api/v1/enterprises/{typed_in['new_id']}").status_code == 404
    assert _enterprises(staff) == FIRMS
    assert len(leads_listed(staff)) == 1


def test_anonymous_visitors_see_no_lead_and_cannot_follow(staff: TestClient) -> None:
    firm = _stored_firm(staff)
    scenario = _scenario_matches(staff, firm)["results"][0]["id"]
    started = staff.post("/api/v1/leads", json={"enterprise_id": firm, "scenario_id": scenario})
    assert started.status_code == 201
    lead = started.json()
    form = follow_form(_recommended(_typed_in(staff))[1][1])
    fitting = follow_form(_fitting(page_html(staff, f"/scenarios/{scenario}"))[1])
    without_token = {name: value for name, value in form.items() if name != "csrf_token"}
    forged = _follow(staff, without_token)
    assert forged.status_code == 403
    assert "CSRF" in forged.text

    staff.cookies.delete("xingpei_session")
    del staff.headers["Authorization"]
    pages = [
        page_html(staff, "/scenarios", firm=firm, followed=str(lead["id"])),
        _typed_in(staff, followed=str(lead["id"])),
        page_html(staff, f"/scenarios/{scenario}", followed=str(lead["id"])),
    ]
    assert _recommended(pages[1]), "the typed-in profile still gets its recommendations"
    for page in pages:
        for never in ("加入跟进", "跟进中", "已加入跟进", "/leads/", "new_id", lead["enterprise_name"]):
            assert never not in page
    assert "适合承接的企业" not in pages[2]

    for posted in (form, fitting):
        anonymous = _follow(staff, posted)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/login")
    assert staff.get("/api/v1/leads").status_code == 401
    token = staff.post("/api/v1/auth/login", json={"name": "staff", "password": PASSWORD}).json()["token"]
    staff.headers["Authorization"] = f"Bearer {token}"
    assert [found["id"] for found in leads_listed(staff)] == [lead["id"]]
    assert _enterprises(staff) == FIRMS


def _pair_on_both_pages(client: TestClient) -> tuple[str, int, str, int]:
    """A firm, where it ranks among a scenario's five firms, the scenario, and where it ranks for the firm."""
    for scenario in _scenarios(client, "open"):
        fits = client.get(f"/api/v1/scenarios/{scenario}/matches/enterprises", params={"k": 5}).json()
        for fit in fits["results"]:
            ranked = [m["id"] for m in _scenario_matches(client, fit["id"])["results"]][:10]
            if scenario in ranked:
                return fit["id"], fit["rank"], scenario, ranked.index(scenario) + 1
    raise AssertionError("no firm and scenario recommended to each other")


def test_results_mark_pairs_in_an_open_lead_with_one_query(staff: TestClient) -> None:
    firm, firm_rank, scenario, rank = _pair_on_both_pages(staff)
    started = staff.post("/api/v1/leads", json={"enterprise_id": firm, "scenario_id": scenario})
    assert started.status_code == 201
    lead = started.json()
    link = f'href="/leads/{lead["id"]}">跟进中（推荐）</a>'

    with statements_run(app_state(staff).sessions.kw["bind"]) as statements:
        page = page_html(staff, "/scenarios", firm=firm)
        detail = page_html(staff, f"/scenarios/{scenario}")
    assert len([sql for sql in statements if re.search(r"\bFROM lead\b", sql)]) == 2, "one per page"
    shown = _recommended(page)
    assert link in shown[rank][1]
    assert [place for place, (_, body) in shown.items() if "跟进中" in body] == [rank]
    fitting = _fitting(detail)
    assert link in fitting[firm_rank]
    assert f"{firm} · 得分" in fitting[firm_rank]
    assert [place for place, body in fitting.items() if "跟进中" in body] == [firm_rank]

    staff.post(
        f"/api/v1/leads/{lead['id']}/stage",
        json={"stage": "applied", "expected_version": 1, "note": "已报名"},
    )
    assert "跟进中（报名揭榜）" in _recommended(page_html(staff, "/scenarios", firm=firm))[rank][1]
    lost = {"stage": "lost", "expected_version": 2, "lost_reason": "other", "note": "放弃"}
    assert staff.post(f"/api/v1/leads/{lead['id']}/stage", json=lost).status_code == 200
    assert "加入跟进</button>" in _recommended(page_html(staff, "/scenarios", firm=firm))[rank][1]
    assert "加入跟进</button>" in _fitting(page_html(staff, f"/scenarios/{scenario}"))[firm_rank]


def test_the_firms_fitting_a_scenario_can_be_followed_from_its_page(staff: TestClient) -> None:
    scenario = _scenarios(staff, "open")[0]
    page = page_html(staff, f"/scenarios/{scenario}")
    firms = staff.get(f"/api/v1/scenarios/{scenario}/matches/enterprises", params={"k": 5}).json()
    results = _fitting(page)
    assert len(results) == len(firms["results"]) >= 2
    form = follow_form(results[2])
    firm = firms["results"][1]["id"]
    assert (form["page"], form["enterprise_id"], form["scenario_id"]) == ("scenario", firm, scenario)

    moved = _follow(staff, form)
    assert moved.status_code == 303
    [lead] = leads_listed(staff, enterprise=firm)
    assert moved.headers["location"] == f"/scenarios/{scenario}?followed={lead['id']}#result-2"
    assert (lead["kind"], lead["scenario_id"]) == ("scenario", scenario)
    assert lead["history"][0]["note"] == "从场景详情「适合承接的企业」加入跟进"
    [seen] = [m for m in _scenario_matches(staff, firm)["results"] if m["id"] == scenario]
    # the lead keeps where the scenario ranks for the firm, as the firm's match answer has it
    assert (lead["match"]["rank"], lead["match"]["score"]) == (seen["rank"], seen["score"])

    back = staff.get(moved.headers["location"]).text
    assert f"已加入跟进（编号 {lead['id']}）" in back
    assert f'href="/leads/{lead["id"]}">跟进中（推荐）</a>' in _fitting(back)[2]
    twice = _follow(staff, form)
    assert twice.status_code == 409
    assert f"已有进行中的跟进（编号 {lead['id']}）" in twice.text
    assert "适合承接的企业" in twice.text
    assert len(leads_listed(staff)) == 1


def test_a_building_leads_page_links_to_the_firms_letter(staff: TestClient) -> None:
    firm = _stored_firm(staff)
    building = sorted(app_state(staff).recommender.records["buildings"])[0]
    scenario = _scenario_matches(staff, firm)["results"][0]["id"]
    by_building = staff.post("/api/v1/leads", json={"enterprise_id": firm, "building_id": building}).json()
    by_scenario = staff.post("/api/v1/leads", json={"enterprise_id": firm, "scenario_id": scenario}).json()
    letter = f'<a href="/letter/{firm}">打印推介函 →</a>'
    assert letter in page_html(staff, f"/leads/{by_building['id']}")
    assert letter not in page_html(staff, f"/leads/{by_scenario['id']}")
    assert staff.get(f"/letter/{firm}").status_code == 200
