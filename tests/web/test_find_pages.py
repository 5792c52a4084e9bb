"""为企业找楼, 为楼宇找企业 and 加入跟进 in the browser: the staff journeys end to end."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete

from api.auth import create_user
from models.database import make_engine, make_session_factory
from models.user import Role, User
from tests.web.conftest import LiveServer, no_overflow, shot

DESCRIPTION = "专注工业视觉质检算法和机器视觉平台，为汽车零部件和电子制造企业提供缺陷检测系统。"


@pytest.fixture
def staff_token(live_server: LiveServer) -> Iterator[str]:
    """A staff user of this test alone; deleted afterwards."""
    engine = make_engine(live_server.database_url)
    sessions = make_session_factory(engine)
    name = f"staff-{uuid.uuid4().hex[:10]}"
    with sessions.begin() as session:
        _, token = create_user(session, name=name, role=Role.staff, password=None)
    yield token
    with sessions.begin() as session:
        session.execute(delete(User).where(User.name == name))
    engine.dispose()


def _signed_in(page: Page, live_server: LiveServer, token: str) -> Page:
    """The page with the token's session cookie."""
    page.context.add_cookies([{"name": "xingpei_session", "value": token, "url": live_server.url}])
    return page


@pytest.fixture
def desk(page: Page, live_server: LiveServer, staff_token: str) -> Page:
    """A 1280 px page signed in as this test's own staff user."""
    return _signed_in(page, live_server, staff_token)


@pytest.fixture
def mobile(phone: Page, live_server: LiveServer, staff_token: str) -> Page:
    """A 390 px page signed in as this test's own staff user."""
    return _signed_in(phone, live_server, staff_token)


def _type_profile(page: Page, name: str) -> None:
    """Fill in a prospective firm that moves within the city and submit."""
    page.goto("/find/buildings")
    page.get_by_label("企业名称", exact=True).fill(name)
    page.get_by_label("企业简介（必填）").fill(DESCRIPTION)
    page.get_by_label("需求面积（㎡）").fill("600")
    page.get_by_label("租金上限（元/㎡·月）").fill("90")
    page.get_by_label("企业来源").select_option("in_city_relocation")
    page.locator("fieldset", has_text="意向区域").get_by_label("渝北区").check()
    page.get_by_role("button", name="匹配楼宇").click()


def test_typed_in_firm_to_followup(desk: Page) -> None:
    page = desk
    page.goto("/find/buildings")
    expect(page.get_by_role("heading", name="意向企业画像")).to_be_visible()
    shot(page, "find-buildings-form")
    _type_profile(page, "云启视觉科技")
    expect(page.get_by_role("heading", name="为「云启视觉科技」推荐的楼宇")).to_be_visible()
    results = page.locator("ol.results > li")
    expect(results).to_have_count(10)
    first = results.first
    expect(first.locator(".scorebar")).to_be_visible()
    expect(first.locator(".reasons li").first).to_be_visible()
    expect(first.locator(".components")).to_contain_text("产业契合")
    expect(first.locator(".cost")).to_contain_text(re.compile(r"元/㎡·月 × 600 ㎡（需求面积）= [\d,]+ 元/月"))
    expect(page.get_by_text("该企业为市内迁移企业")).to_be_visible()
    expect(
        page.locator(".tag.bad", has_text="不适用：市内迁移企业不享受新引进企业入驻政策").first
    ).to_be_visible()
    expect(page.locator(".tag.good", has_text="可享受")).to_have_count(0)
    expect(page.locator(".map svg g.district")).to_have_count(12)
    expect(page.locator(".map svg a")).to_have_count(10)
    expect(page.get_by_role("button", name="加入跟进")).to_have_count(10)
    shot(page, "find-buildings-results")

    for rank in range(1, 4):
        page.locator(f"#result-{rank}").get_by_role("button", name="加入跟进").click()
        expect(page.get_by_role("status").filter(has_text="已加入跟进（编号")).to_be_visible()
        expect(page.locator(f"#result-{rank}").get_by_role("link", name="跟进中（推介）")).to_be_visible()
    expect(page.locator(".firm-card")).to_contain_text(re.compile(r"企业编号 QY\d{8}"))
    expect(page.get_by_role("button", name="加入跟进")).to_have_count(7)
    expect(page.get_by_role("link", name="打印推介函 →")).to_be_visible()


def test_phone_journey_has_no_overflow(mobile: Page) -> None:
    page = mobile
    page.goto("/find/buildings")
    no_overflow(page)
    shot(page, "find-buildings-form-phone")
    _type_profile(page, "掌上测试科技")
    expect(page.locator("ol.results > li")).to_have_count(10)
    no_overflow(page)
    shot(page, "find-buildings-results-phone")
    page.locator("#result-1").get_by_role("button", name="加入跟进").click()
    expect(page.locator("#result-1").get_by_role("link", name="跟进中（推介）")).to_be_visible()
    page.locator("#result-2").get_by_role("button", name="加入跟进").click()
    expect(page.locator("#result-2").get_by_role("link", name="跟进中（推介）")).to_be_visible()
    no_overflow(page)
    shot(page, "find-buildings-followed-phone")


def test_invalid_profile_names_the_field(desk: Page) -> None:
    page = desk
    page.goto("/find/buildings")
    page.get_by_label("企业简介（必填）").fill(DESCRIPTION)
    page.get_by_label("需求面积（㎡）").fill("-50")
    page.get_by_role("button", name="匹配楼宇").click()
    expect(page.get_by_role("alert")).to_contain_text("需求面积：应大于 0，实际为 -50")
    expect(page.get_by_label("企业简介（必填）")).to_have_value(DESCRIPTION)
    shot(page, "find-buildings-invalid")


def test_stored_firm_found_by_name_and_filtered_by_district(desk: Page) -> None:
    page = desk
    page.goto("/find/buildings")
    page.get_by_label("企业名称或编号").fill("E000001")
    page.get_by_role("button", name="查找").click()
    page.get_by_role("link", name="重庆弘澜安全科技有限公司").click()
    expect(page.get_by_role("heading", name="为「重庆弘澜安全科技有限公司」推荐的楼宇")).to_be_visible()
    page.get_by_text("只看部分区域").click()
    page.locator("form.filter").get_by_label("江北区").check()
    page.get_by_role("button", name="更新结果").click()
    tags = page.locator("ol.results > li .result-head .tag").filter(has_text=re.compile("区$"))
    expect(tags.first).to_be_visible()
    assert set(tags.all_inner_texts()) == {"江北区"}
    expect(page.locator('.map svg g.district[data-district="渝中区"] rect')).to_have_attribute(
        "fill", "#eef0f3"
    )
    shot(page, "find-buildings-stored")


def test_firms_for_a_vacant_floor(desk: Page, mobile: Page) -> None:
    page = desk
    page.goto("/find/firms")
    shot(page, "find-firms-form")
    page.get_by_label("楼宇名称、地址或编号").fill("B00001")
    page.get_by_role("button", name="查找").click()
    page.get_by_role("link", name="西永互联网产业园 7 号楼").click()
    expect(page.locator("ol.results > li")).to_have_count(10)
    page.get_by_label("楼层或位置").fill("12 层")
    page.get_by_label("空置面积（㎡）").fill("300")
    page.get_by_role("button", name="匹配企业").click()
    expect(page.get_by_role("heading", name=re.compile("12 层（300 ㎡）寻找企业"))).to_be_visible()
    results = page.locator("ol.results > li")
    expect(results.first.locator(".scorebar")).to_be_visible()
    for text in results.locator(".facts").all_inner_texts():
        need = re.search(r"需求面积 ([\d,]+) ㎡", text)
        assert need is None or float(need.group(1).replace(",", "")) <= 300
    shot(page, "find-firms-results")
    mobile.goto(page.url)
    expect(mobile.locator("ol.results > li").first).to_be_visible()
    no_overflow(mobile)
    shot(mobile, "find-firms-results-phone")
