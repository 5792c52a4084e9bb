"""The public scenario pages over HTTP: what anonymous visitors see, filters, forms, CSRF and bad input."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from models import clock
from tests.api.conftest import Api
from tests.files import scenario

PROFILE = "我们开发工业互联网平台和设备预测性维护软件，也做政务数据治理与城市运行监测系统。"
IDS = re.compile(r'<li class="card scenario[^"]*" data-id="([^"]+)"')


def _csrf(client: TestClient) -> str:
    """This client's CSRF token, read from a page (which sets the cookie)."""
    page = client.get("/scenarios")
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match
    return match.group(1)


def _staff(api: Api) -> TestClient:
    """A second browser over the same app, signed in as staff through the login form."""
    client = TestClient(api.client.app)
    answer = client.post(
        "/login",
        data={"csrf_token": _csrf(client), "name": "staff", "password": "招商密码"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return client


def _all_scenarios(api: Api) -> list[dict[str, Any]]:
    """Every stored scenario, whatever its status (read by staff through the API)."""
    answer = api.client.get("/api/v1/scenarios", params={"limit": 100}, headers=api.staff)
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def _public(api: Api) -> list[dict[str, Any]]:
    """The scenarios anyone may see: open, deadline not passed."""
    today = clock.china_today().isoformat()
    return [
        item
        for item in _all_scenarios(api)
        if item["status"] == "open" and (item["deadline"] is None or item["deadline"] >= today)
    ]


def _listed(client: TestClient, **params: str) -> list[str]:
    """The scenario ids the list page shows over all its pages."""
    ids: list[str] = []
    for page in range(1, 20):
        answer = client.get("/scenarios", params={**params, "page": str(page)})
        assert answer.status_code == 200, answer.text
        found = IDS.findall(answer.text)
        ids += found
        if 'rel="next"' not in answer.text:
            return ids
    raise AssertionError("翻页没有结束")


def _recommend(client: TestClient, **fields: Any) -> Any:
    """Post the 'describe your firm' form with this client's CSRF token."""
    data = {"csrf_token": _csrf(client), "description": PROFILE, **fields}
    return client.post("/scenarios", data=data)


def test_anonymous_list_shows_exactly_the_current_open_scenarios(api: Api) -> None:
    public = _public(api)
    assert len(public) < len(_all_scenarios(api))
    listed = _listed(api.client)
    assert sorted(listed) == sorted(item["id"] for item in public)
    first = api.client.get("/scenarios").text
    assert f"共 <strong>{len(public)}</strong> 个征集中的场景" in first
    assert "按库中企业推荐" not in first


def test_list_is_sorted_by_deadline_or_budget(api: Api) -> None:
    by_id = {item["id"]: item for item in _public(api)}
    deadlines = [by_id[i]["deadline"] or "9999" for i in _listed(api.client)]
    assert deadlines == sorted(deadlines)
    budgets = [by_id[i]["budget_wan_yuan"] for i in _listed(api.client, sort="budget")]
    assert budgets == sorted(budgets, reverse=True)


def test_filters_narrow_the_list(api: Api) -> None:
    public = _public(api)
    word = public[0]["title"][:4]
    cases: list[tuple[dict[str, str], Any]] = [
        ({"domain": "smart_city"}, lambda s: s["domain"] == "smart_city"),
        ({"domain": "智造重镇"}, lambda s: s["domain"] == "smart_manufacturing"),
        ({"district": "巴南区"}, lambda s: s["district"] == "巴南区"),
        ({"industry": "info_security"}, lambda s: "info_security" in s["industries"]),
        ({"budget_min": "200", "budget_max": "600"}, lambda s: 200 <= s["budget_wan_yuan"] <= 600),
        ({"q": word}, lambda s: word in s["title"] + s["description"] + s["owner"]),
    ]
    for params, keep in cases:
        expected = sorted(item["id"] for item in public if keep(item))
        assert expected, params
        assert sorted(_listed(api.client, **params)) == expected, params


def test_paging_is_forgiving(api: Api) -> None:
    last = api.client.get("/scenarios", params={"page": "999"})
    assert last.status_code == 200
    assert "第 2 / 2 页" in last.text
    assert api.client.get("/scenarios", params={"page": "abc"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"budget_min": "-5"}, "预算下限（万元）：不能为负数"),
        ({"budget_min": "abc"}, "预算下限（万元）：请输入数字，实际为「abc」"),
        ({"budget_max": "1e400"}, "预算上限（万元）：数值过大"),
        ({"budget_min": "500", "budget_max": "100"}, "预算上限（万元）：应不小于预算下限 500"),
        ({"domain": "nonsense"}, "场景方向：未知的选项「nonsense」"),
        ({"district": "北京市"}, "所在区：未知的选项「北京市」"),
        ({"q": "平台\x00"}, "搜索：含有不可见的控制字符"),
        ({"q": "长" * 101}, "搜索：不能超过 100 个字符"),
    ],
)
def test_bad_filters_name_the_field(api: Api, params: dict[str, str], message: str) -> None:
    answer = api.client.get("/scenarios", params=params)
    assert answer.status_code == 422
    assert message in html.unescape(answer.text)
    assert IDS.findall(answer.text), "the list is still shown, without the bad filter"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"headcount": "abc"}, "现有人数：应为整数，实际为「abc」"),
        ({"headcount": "-3"}, "现有人数：应不小于 0"),
        ({"description": "  "}, "企业简介：必填项缺失"),
        ({"description": "长" * 10_001}, "企业简介：长度不能超过 10,000 个字符"),
        ({"industries": ["bogus"]}, "所属产业：未知的产业代码「bogus」"),
        ({"preferred_districts": ["北京市"]}, "意向区域：未知的区「北京市」"),
        ({"budget_min": "-1"}, "预算下限（万元）：不能为负数"),
    ],
)
def test_bad_profile_names_the_field(api: Api, fields: dict[str, Any], message: str) -> None:
    answer = _recommend(api.client, **fields)
    assert answer.status_code == 422
    assert message in html.unescape(answer.text)


def test_forms_without_the_csrf_token_are_refused(api: Api) -> None:
    _csrf(api.client)
    missing = api.client.post("/scenarios", data={"description": PROFILE})
    assert missing.status_code == 403
    assert "CSRF" in missing.text
    wrong = api.client.post("/scenarios", data={"description": PROFILE, "csrf_token": "forged"})
    assert wrong.status_code == 403


def test_anonymous_recommendations_show_open_scenarios_and_no_firm_data(api: Api) -> None:
    answer = _recommend(api.client, headcount="60", industries=["industrial_internet"])
    assert answer.status_code == 200
    assert "为您推荐的场景" in answer.text
    public = {item["id"] for item in _public(api)}
    ids = IDS.findall(answer.text)
    assert 1 <= len(ids) <= 10
    assert set(ids) <= public
    assert answer.text.count('class="reasons"') == len(ids)
    firms = api.client.get("/api/v1/enterprises", params={"limit": 100}, headers=api.staff).json()["items"]
    for firm in firms:
        assert firm["name"] not in answer.text
        assert firm["id"] not in answer.text
    assert PROFILE in answer.text, "the form keeps what the firm typed"


def test_recommendations_respect_the_filters(api: Api) -> None:
    answer = _recommend(api.client, district="渝北区", domain="smart_city", budget_max="500")
    assert answer.status_code == 200
    by_id = {item["id"]: item for item in _public(api)}
    for scenario_id in IDS.findall(answer.text):
        item = by_id[scenario_id]
        assert (item["district"], item["domain"]) == ("渝北区", "smart_city")
        assert item["budget_wan_yuan"] <= 500


def test_anonymous_visitor_cannot_pick_a_stored_firm(api: Api) -> None:
    firm = api.client.get("/api/v1/enterprises", params={"limit": 1}, headers=api.staff).json()["items"][0]
    for text in (firm["id"], firm["name"], firm["name"][:4]):
        answer = api.client.get("/scenarios", params={"firm": text})
        assert answer.status_code == 200
        assert "仅供登录的招商人员使用" in answer.text
        assert firm["name"] not in answer.text
        assert firm["description"] not in answer.text
        assert "推荐的场景" not in answer.text


def test_staff_picks_a_stored_firm_by_id_or_name(api: Api) -> None:
    staff = _staff(api)
    firm = api.client.get("/api/v1/enterprises", params={"limit": 1}, headers=api.staff).json()["items"][0]
    by_id = staff.get("/scenarios", params={"firm": firm["id"]})
    assert f"为「{firm['name']}」推荐的场景" in by_id.text
    assert 1 <= len(IDS.findall(by_id.text)) <= 10
    by_name = staff.get("/scenarios", params={"firm": firm["name"]})
    assert f"为「{firm['name']}」推荐的场景" in by_name.text
    several = staff.get("/scenarios", params={"firm": "重庆"})
    assert "请选择" in several.text or "请输入更完整的名称" in several.text
    assert f"firm={firm['id']}" in several.text or "超过 10 家" in several.text
    unknown = staff.get("/scenarios", params={"firm": "没有这家企业"})
    assert "未找到编号或名称为「没有这家企业」的企业" in unknown.text


def test_detail_page_shows_what_a_firm_needs_to_know(api: Api) -> None:
    item = next(s for s in _public(api) if s["deadline"] and s["batch"] and s["domain"])
    answer = api.client.get(f"/scenarios/{item['id']}")
    assert answer.status_code == 200
    text = html.unescape(answer.text)
    days = (date.fromisoformat(item["deadline"]) - clock.china_today()).days
    assert item["title"] in text
    assert item["owner"] in text
    assert f"{item['budget_wan_yuan']:,g} 万元" in text
    assert f"{item['deadline']}（还剩 {days} 天）" in text
    labels = {"collect": "征集一批", "develop": "开发一批", "expand": "拓展一批"}
    assert labels[item["batch"]] in text
    assert {"smart_city": "智慧名城", "smart_manufacturing": "智造重镇", "other": "其他"}[
        item["domain"]
    ] in text
    assert item["scope"] in text
    assert "适合承接的企业" not in text


def test_unpublished_scenarios_are_404_for_anonymous_and_shown_to_staff(api: Api) -> None:
    today = clock.china_today().isoformat()
    hidden = {
        "draft": next(s for s in _all_scenarios(api) if s["status"] == "draft"),
        "closed": next(s for s in _all_scenarios(api) if s["status"] == "closed"),
        "awarded": next(s for s in _all_scenarios(api) if s["status"] == "awarded"),
        "expired": next(s for s in _all_scenarios(api) if s["status"] == "open" and s["deadline"] < today),
    }
    staff = _staff(api)
    for kind, item in hidden.items():
        answer = api.client.get(f"/scenarios/{item['id']}")
        assert answer.status_code == 404, kind
        assert item["title"] not in answer.text
        shown = staff.get(f"/scenarios/{item['id']}")
        assert shown.status_code == 200, kind
        assert "不对公众展示" in shown.text
        assert "适合承接的企业" in shown.text
        assert "该场景不可推荐" in shown.text
    for path in ("/scenarios/no-such-id", "/scenarios/" + "x" * 200, "/scenarios/%00"):
        assert api.client.get(path).status_code == 404


def test_staff_see_the_firms_that_fit_an_open_scenario(api: Api) -> None:
    item = _public(api)[0]
    answer = _staff(api).get(f"/scenarios/{item['id']}")
    assert "适合承接的企业" in answer.text
    assert answer.text.count('href="/scenarios?firm=') == 5


def test_markup_in_a_record_is_shown_as_text(api: Api) -> None:
    deadline = (clock.china_today() + timedelta(days=20)).isoformat()
    hostile = scenario(
        id="XSS1",
        title="<img src=x onerror=alert(2)>智慧停车",
        description="<script>alert(1)</script>",
        deadline=deadline,
    )
    created = api.client.post("/api/v1/scenarios", json=hostile, headers=api.admin)
    assert created.status_code == 201, created.text
    for page in (
        api.client.get("/scenarios/XSS1").text,
        api.client.get("/scenarios", params={"q": "智慧停车"}).text,
    ):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert(1)" not in page
        assert "<img src=x" not in page


@pytest.mark.parametrize(("utc", "shown"), [("15:59:59", True), ("16:00:01", False)])
def test_a_deadline_ends_at_midnight_in_china(
    api: Api, monkeypatch: pytest.MonkeyPatch, utc: str, shown: bool
) -> None:
    deadline = date(
        2031, 5, 20
    )  # 15:59:59 UTC that day is 23:59:59 in China, 16:00:01 is 00:00:01 the next day
    created = api.client.post(
        "/api/v1/scenarios",
        json=scenario(id="MIDNIGHT", title="午夜截止的智慧停车场景", deadline=deadline.isoformat()),
        headers=api.admin,
    )
    assert created.status_code == 201, created.text
    moment = datetime.fromisoformat(f"{deadline.isoformat()}T{utc}+00:00").astimezone(UTC)
    monkeypatch.setattr(clock, "utcnow", lambda: moment)
    assert ("MIDNIGHT" in _listed(api.client, q="午夜截止")) is shown
    assert api.client.get("/scenarios/MIDNIGHT").status_code == (200 if shown else 404)
    recommended = IDS.findall(_recommend(api.client, description="智慧停车 午夜截止的智慧停车场景").text)
    assert ("MIDNIGHT" in recommended) is shown
    listed = api.client.get("/api/v1/scenarios", params={"q": "午夜截止"}).json()["items"]
    assert ("MIDNIGHT" in [item["id"] for item in listed]) is shown
    assert api.client.get("/api/v1/scenarios/MIDNIGHT").status_code == (200 if shown else 404)


def test_anonymous_api_lists_the_scenarios_the_page_shows(api: Api) -> None:
    answer = api.client.get("/api/v1/scenarios", params={"limit": 100})
    listed = [item["id"] for item in answer.json()["items"]]
    assert sorted(listed) == sorted(_listed(api.client)) == sorted(item["id"] for item in _public(api))
    expired = next(
        s
        for s in _all_scenarios(api)
        if s["status"] == "open" and s["deadline"] < clock.china_today().isoformat()
    )
    assert api.client.get(f"/api/v1/scenarios/{expired['id']}").status_code == 404
