"""为企业找楼 and 为楼宇找企业 over HTTP: costs, incentives, CSRF, escaping (compare, export: leads pages)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from api.state import AppState
from api.web.district_map import MapMark, district_map
from api.web.pages_find import monthly_cost
from models.enums import Amenity, Industry
from models.records import BuildingRecord, EnterpriseRecord
from tests.api.conftest import Api

PROFILE = {
    "name": "测试视觉科技",
    "description": "专注工业视觉质检算法和机器视觉平台，为汽车零部件企业提供缺陷检测系统",
    "required_area_m2": "300",
}
BUILDING_IDS = re.compile(r'name="building_id" value="([^"]+)"')


def _sign_in(client: TestClient, name: str, password: str) -> None:
    """Put a session cookie for the user on the client."""
    answer = client.post("/api/v1/auth/login", json={"name": name, "password": password})
    client.cookies.set("xingpei_session", answer.json()["token"])


@pytest.fixture
def staff(api: Api) -> TestClient:
    """The client signed in as staff through the session cookie, with a CSRF cookie."""
    _sign_in(api.client, "staff", "招商密码")
    api.client.get("/find/buildings")
    return api.client


def _state(client: TestClient) -> AppState:
    """The app's state (the recommender holds the catalogue)."""
    state: AppState = client.app.state.xingpei  # type: ignore[attr-defined]
    return state


def _building(client: TestClient, building_id: str) -> BuildingRecord:
    """A stored building."""
    record = _state(client).recommender.stored("buildings", building_id)
    assert isinstance(record, BuildingRecord)
    return record


def _find(client: TestClient, **fields: Any) -> str:
    """The 为企业找楼 page for a profile (lists are repeated fields); asserts a 200."""
    answer = client.get("/find/buildings", params={**PROFILE, **fields})
    assert answer.status_code == 200, answer.text
    return answer.text


def _text(html: str) -> str:
    """The page's text without tags."""
    return re.sub(r"<[^>]+>", "", html)


def _csrf(client: TestClient) -> str:
    """This client's CSRF token."""
    token = client.cookies.get("xingpei_csrf")
    assert token
    return token


@pytest.mark.parametrize(
    "path",
    [
        "/find/buildings",
        "/find/firms?building=B00001",
        "/shortlist",
        "/shortlist/compare?ids=1",
        "/shortlist/export.xlsx",
    ],
)
def test_anonymous_visitors_are_sent_to_login(api: Api, path: str) -> None:
    answer = api.client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def _follow(client: TestClient, building_id: str, back: str, **extra: str) -> Any:
    """Post a typed-in firm's 加入跟进 form as the results page does."""
    form = {"page": "buildings", "enterprise_id": "adhoc", "building_id": building_id, "back": back, **extra}
    return client.post("/find/follow", data={"csrf_token": _csrf(client), **form}, follow_redirects=False)


def test_anonymous_post_is_refused(api: Api) -> None:
    api.client.get("/login")
    answer = _follow(api.client, "B00001", urlencode(PROFILE), new_id="QY20260101ABCDEF")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_typed_in_profile_gets_ranked_buildings_with_costs_and_a_map(staff: TestClient) -> None:
    html = _find(staff)
    assert "为「测试视觉科技」推荐的楼宇" in html
    ids = BUILDING_IDS.findall(html)
    assert len(ids) == 10
    assert html.count('class="district"') == 12
    assert html.count('href="#result-') == 10
    first = _building(staff, ids[0])
    rent, area = first.rent_yuan_m2_month, max(300, first.min_unit_m2 or 0)
    basis = "需求面积" if area == 300 else "最小分割面积"
    assert f"{rent:g} 元/㎡·月 × {area:,.0f} ㎡（{basis}）= {rent * area:,.0f} 元/月" in _text(html)
    for label in ("语义匹配", "产业契合", "面积匹配", "满天星分散"):
        assert label in html
    assert "临时画像 · 未保存" in html


def test_the_industries_seen_in_the_profile_and_the_amenities_are_shown(staff: TestClient) -> None:
    html = _find(staff, industries="software_dev")
    text = _text(html)
    firm = EnterpriseRecord.model_validate({**PROFILE, "id": "adhoc", "industries": ["software_dev"]})
    guesses = staff.app.state.xingpei.recommender.industries("enterprises", firm)  # type: ignore[attr-defined]
    assert guesses[0].declared
    assert len(guesses) > 1
    shown = "".join(
        Industry.parse(guess.code).label
        + ("" if guess.declared else f"（推断，{guess.certainty}{'：' if guess.evidence else ''}")
        + ("" if guess.declared else f"{'、'.join(guess.evidence[:3])}）")
        for guess in guesses
    )
    assert f"识别产业：{shown}" in re.sub(r"\s+", "", text)
    shown_buildings = [_building(staff, building_id) for building_id in BUILDING_IDS.findall(html)]
    equipped = [building for building in shown_buildings if building.amenities]
    assert equipped
    for building in equipped:
        assert f"配套：{'、'.join(Amenity.label_of(name) for name in building.amenities)}" in text


def test_hard_filters_and_district_filter_hold(staff: TestClient) -> None:
    buildings = _state(staff).recommender.records["buildings"].values()
    allowed = [
        b
        for b in buildings
        if isinstance(b, BuildingRecord)
        and b.fit_out.value == "move_in_ready"
        and b.rent_yuan_m2_month <= 80
        and b.vacant_area_m2 >= 300
    ]
    districts = sorted({b.district.value for b in allowed})[:2]
    expected = {b.id for b in allowed if b.district.value in districts}
    html = _find(staff, max_rent_yuan_m2_month="80", needs_move_in_ready="true", district=districts, k="20")
    ids = BUILDING_IDS.findall(html)
    assert set(ids) <= expected
    assert len(ids) == min(20, len(expected))
    if len(ids) < 20:
        assert f"仅有 {len(ids)} 个楼宇满足全部硬性条件且位于所选区域，未凑满 20 个" in html


def test_in_city_relocation_gets_no_incentives(staff: TestClient) -> None:
    moving = _find(staff, origin="in_city_relocation")
    assert "不适用：市内迁移企业不享受新引进企业入驻政策" in moving
    assert "可享受：" not in moving
    assert "该企业为市内迁移企业" in moving
    arriving = _find(staff, origin="outside_city")
    assert "可享受：市外引进企业" in arriving
    assert "不适用：" not in arriving
    unknown = _find(staff)
    assert "待核实：企业来源未填写" in unknown


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"required_area_m2": "-5"}, "需求面积：应大于 0，实际为 -5"),
        ({"max_rent_yuan_m2_month": "很多"}, "租金上限：应为数字，实际为「很多」"),
        ({"headcount": "3.5"}, "现有人数：应为整数"),
        ({"description": " "}, "企业简介：必填"),
        ({"preferred_districts": ["火星区"]}, "意向区域：未知的区「火星区」"),
        ({"district": ["火星区"]}, "只看这些区：未知的区「火星区」"),
        ({"k": "999"}, "结果数量：应为 5、10、20 之一"),
        ({"firm": "NO-SUCH-FIRM"}, "企业：编号「NO-SUCH-FIRM」不在企业库中"),
    ],
)
def test_bad_input_is_named_on_the_page(staff: TestClient, fields: dict[str, Any], message: str) -> None:
    answer = staff.get("/find/buildings", params={**PROFILE, **fields})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert message in answer.text
    assert 'name="building_id"' not in answer.text


def test_script_in_a_profile_is_shown_as_text(staff: TestClient) -> None:
    fields = {"name": "<b>粗体</b>公司", "description": "<script>alert(1)</script>做软件开发和信息系统集成"}
    html = _find(staff, **fields)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "<b>粗体</b>" not in html
    building_id = BUILDING_IDS.findall(html)[0]
    new_id = re.search(r'name="new_id" value="([^"]+)"', html)
    assert new_id is not None
    followed = _follow(staff, building_id, urlencode({**PROFILE, **fields}), new_id=new_id.group(1))
    assert followed.status_code == 303
    shown = staff.get(followed.headers["location"]).text
    assert "已加入跟进" in shown
    assert "&lt;b&gt;粗体&lt;/b&gt;公司" in shown
    assert "<b>粗体</b>" not in shown


def test_stored_firm_is_found_by_name_and_can_be_adjusted(staff: TestClient) -> None:
    firm = next(iter(_state(staff).recommender.records["enterprises"].values()))
    assert isinstance(firm, EnterpriseRecord)
    search = staff.get("/find/buildings", params={"q": firm.name[2:6]}).text
    assert f'href="/find/buildings?firm={firm.id}"' in search
    html = staff.get("/find/buildings", params={"firm": firm.id}).text
    assert f"为「{firm.name}」推荐的楼宇" in html
    adjust = re.search(r'href="/find/buildings\?([^"]+)">按此画像修改条件', html)
    assert adjust is not None
    again = staff.get("/find/buildings?" + adjust.group(1).replace("&amp;", "&"))
    assert again.status_code == 200
    assert f"为「{firm.name}」推荐的楼宇" in again.text
    assert "临时画像 · 未保存" in again.text


def test_firms_for_a_vacant_floor(staff: TestClient) -> None:
    search = staff.get("/find/firms", params={"q": "B00001"}).text
    assert 'href="/find/firms?building=B00001"' in search
    html = staff.get(
        "/find/firms", params={"building": "B00001", "area": "250", "floor": "3 层", "k": "20"}
    ).text
    assert "3 层（250 ㎡）寻找企业" in html
    ids = re.findall(r"<span>编号 <strong>(E\d+)</strong>", html)
    assert ids
    for firm_id in ids:
        firm = _state(staff).recommender.stored("enterprises", firm_id)
        assert isinstance(firm, EnterpriseRecord)
        assert firm.required_area_m2 is None or firm.required_area_m2 <= 250
    too_big = staff.get("/find/firms", params={"building": "B00001", "area": "99999"})
    assert too_big.status_code == 422
    assert "空置面积：应大于 0 且不超过楼宇可用面积" in too_big.text
    unknown = staff.get("/find/firms", params={"building": "NOPE"})
    assert unknown.status_code == 422
    assert "楼宇：编号「NOPE」不在楼宇库中" in unknown.text


def test_monthly_cost_uses_the_smallest_unit_when_larger_than_the_need() -> None:
    building = BuildingRecord.model_validate(
        {
            "id": "b",
            "name": "楼",
            "district": "渝中区",
            "vacant_area_m2": 2000,
            "min_unit_m2": 500,
            "rent_yuan_m2_month": 50,
            "fit_out": "basic",
        }
    )
    small = EnterpriseRecord.model_validate(
        {"id": "e", "name": "企", "description": "软件", "required_area_m2": 200}
    )
    assert (monthly_cost(building, small).monthly, monthly_cost(building, small).basis) == (
        25_000,
        "最小分割面积",
    )
    large = small.model_copy(update={"required_area_m2": 800.0})
    assert monthly_cost(building, large).monthly == 40_000
    assert monthly_cost(building, None).area == 2000


def test_district_map_marks_results_and_escapes_names() -> None:
    svg = str(district_map([MapMark(1, "<楼>", "渝中区"), MapMark(2, "乙", "渝中区")], preferred=["江北区"]))
    assert svg.count('class="district"') == 12
    assert "&lt;楼&gt;" in svg
    assert "<楼>" not in svg
    assert 'stroke-dasharray="6 3"' in svg
    assert "渝中区 2 个" in svg
