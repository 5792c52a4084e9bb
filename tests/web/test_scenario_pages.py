"""The public scenario pages in the browser: browse anonymously, recommendations, details, escaping, staff."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import select

from models.catalogue import delete_record, upsert_records
from models.clock import china_today
from models.database import make_engine, make_session_factory
from models.enterprise import Enterprise
from models.enums import ScenarioStatus
from models.records import ScenarioRecord
from models.scenario import Scenario
from tests.web.conftest import LiveServer, login, no_overflow, shot

PROFILE = "我们开发工业互联网平台和设备预测性维护软件，服务汽车、摩托车制造企业的产线数字化改造。"
HOSTILE_ID = "XSS-WEB-1"
HOSTILE_TITLE = "<img src=x onerror=alert(2)>脚本测试场景"
HOSTILE_TEXT = "<script>alert(1)</script>"


def _ids(live_server: LiveServer, status: ScenarioStatus, expired: bool = False) -> str:
    """A stored scenario id of a status (for `open`: one whose deadline has or has not passed)."""
    engine = make_engine(live_server.database_url)
    today = china_today()
    query = select(Scenario.id).where(Scenario.status == status)
    if status == ScenarioStatus.open:
        query = query.where(Scenario.deadline < today if expired else Scenario.deadline >= today)
    with make_session_factory(engine)() as session:
        found = session.scalars(query.order_by(Scenario.id).limit(1)).one()
    engine.dispose()
    return found


def _firm(live_server: LiveServer) -> tuple[str, str]:
    """The id and name of a stored firm (a lead: never public)."""
    engine = make_engine(live_server.database_url)
    with make_session_factory(engine)() as session:
        row = session.execute(select(Enterprise.id, Enterprise.name).order_by(Enterprise.id).limit(1)).one()
    engine.dispose()
    return row.id, row.name


@pytest.fixture
def hostile_scenario(live_server: LiveServer) -> Iterator[str]:
    """An open scenario whose title and description are markup, written to the live server's database."""
    record = ScenarioRecord.model_validate(
        {
            "id": HOSTILE_ID,
            "title": HOSTILE_TITLE,
            "owner": "测试业主单位",
            "description": HOSTILE_TEXT,
            "scope": "<b>不应加粗</b>" + "长" * 80,
            "budget_wan_yuan": 120,
            "deadline": china_today() + timedelta(days=30),
            "domain": "smart_city",
            "batch": "collect",
        }
    )
    engine = make_engine(live_server.database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        upsert_records(session, "scenarios", [record])
    yield HOSTILE_ID
    with sessions.begin() as session:
        delete_record(session, "scenarios", HOSTILE_ID)
    engine.dispose()


def test_browse_scenarios_anonymously(page: Page) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="场景推荐").click()
    expect(page.get_by_role("heading", name="应用场景 · 场景推荐")).to_be_visible()
    expect(page.get_by_role("heading", name="按库中企业推荐")).to_have_count(0)
    cards = page.locator(".scenario-list > li")
    expect(cards).to_have_count(20)
    shot(page, "scenarios-list")

    page.get_by_label("场景方向").select_option(label="智慧名城")
    page.get_by_label("预算下限（万元）").fill("300")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"domain=smart_city.*budget_min=300"))
    expect(cards.first).to_be_visible()
    for card in cards.all():
        expect(card.locator(".scenario-tags")).to_contain_text("智慧名城")
        budget = card.locator(".facts strong").nth(1).inner_text()
        assert float(budget.removesuffix(" 万元").replace(",", "")) >= 300
    shot(page, "scenarios-filtered")

    page.get_by_label("搜索").fill("平台")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"q=%E5%B9%B3%E5%8F%B0"))
    for text in cards.all_text_contents():
        assert "平台" in text  # in the title, the owner or the description
    expect(page.get_by_label("场景方向")).to_have_value("smart_city")

    page.get_by_role("link", name="清除筛选").click()
    page.get_by_role("link", name="下一页").click()
    expect(page.locator("#result-count")).to_contain_text("第 2 /")

    first = cards.first
    title = first.locator("h3").inner_text()
    first.locator("h3 a").click()
    expect(page).to_have_url(re.compile(r"/scenarios/S\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    facts = page.locator(".detail-facts")
    for label in ("业主单位", "预算", "截止日期", "批次", "场景方向", "所需产业"):
        expect(facts).to_contain_text(label)
    expect(facts).to_contain_text(re.compile(r"还剩 \d+ 天|今天截止|长期征集"))
    expect(facts).to_contain_text("万元")
    expect(page.get_by_role("heading", name="适合承接的企业")).to_have_count(0)
    shot(page, "scenario-detail")

    page.get_by_role("link", name="← 返回场景列表").click()
    page.get_by_label("企业简介").fill(PROFILE)
    page.get_by_label("现有人数").fill("60")
    page.get_by_text("所属产业（可多选").click()
    page.get_by_label("工业互联网", exact=True).check()
    page.get_by_role("button", name="推荐适合我的场景").click()
    expect(page.get_by_role("heading", name="为您推荐的场景")).to_be_visible()
    results = page.locator(".scenario-list > li")
    expect(results.first).to_be_visible()
    assert 1 <= results.count() <= 10
    for result in results.all():
        expect(result.locator(".reasons li").first).to_be_visible()
        expect(result.locator(".facts")).to_contain_text("业主单位")
    expect(results.first.locator(".reasons")).to_contain_text("产业契合")
    results.first.get_by_text("得分构成").click()
    expect(results.first.locator(".components")).to_contain_text("语义匹配 +")
    shot(page, "scenarios-recommended")

    page.get_by_label("所在区").select_option("九龙坡区")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_role("heading", name="为您推荐的场景")).to_be_visible()
    expect(page.get_by_label("企业简介")).to_have_value(PROFILE)
    expect(page.get_by_label("工业互联网", exact=True)).to_be_checked()
    for tags in results.locator(".scenario-tags").all():
        expect(tags).to_contain_text("九龙坡区")


def test_markup_in_a_scenario_is_shown_as_text(page: Page, phone: Page, hostile_scenario: str) -> None:
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        """Note and close any dialog a script opened."""
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.goto(f"/scenarios/{hostile_scenario}")
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_TITLE)
    expect(page.locator(".prose").first).to_have_text(HOSTILE_TEXT)
    expect(page.locator("main img, main b, main script")).to_have_count(0)
    shot(page, "scenario-detail-markup")
    page.goto("/scenarios?q=脚本测试场景")
    expect(page.locator(".scenario-list h3")).to_have_text([HOSTILE_TITLE])
    expect(page.locator(".scenario-list .excerpt")).to_have_text([HOSTILE_TEXT])
    page.get_by_label("企业简介").fill("脚本测试场景 " + HOSTILE_TEXT)
    page.get_by_role("button", name="推荐适合我的场景").click()
    expect(page.get_by_label("企业简介")).to_have_value("脚本测试场景 " + HOSTILE_TEXT)
    phone.on("dialog", dismiss)
    phone.goto(f"/scenarios/{hostile_scenario}")
    no_overflow(phone)
    assert dialogs == []


def test_scenario_pages_fit_a_phone(phone: Page) -> None:
    phone.goto("/scenarios")
    no_overflow(phone)
    shot(phone, "scenarios-list-phone")
    phone.locator(".scenario-list h3 a").first.click()
    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    no_overflow(phone)
    shot(phone, "scenario-detail-phone")
    phone.goto("/scenarios")
    phone.get_by_label("企业简介").fill(PROFILE)
    phone.get_by_role("button", name="推荐适合我的场景").click()
    expect(phone.get_by_role("heading", name="为您推荐的场景")).to_be_in_viewport()  # not below the form
    no_overflow(phone)
    shot(phone, "scenarios-recommended-phone")


def test_unpublished_scenarios_are_hidden_from_the_public(page: Page, live_server: LiveServer) -> None:
    hidden = [
        _ids(live_server, ScenarioStatus.draft),
        _ids(live_server, ScenarioStatus.closed),
        _ids(live_server, ScenarioStatus.awarded),
        _ids(live_server, ScenarioStatus.open, expired=True),
    ]
    for scenario_id in hidden:
        response = page.goto(f"/scenarios/{scenario_id}")
        assert response is not None
        assert response.status == 404
        expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    login(page, "staff")
    page.goto(f"/scenarios/{hidden[1]}")
    expect(page.locator(".scenario-tags .tag.bad").first).to_have_text("已截止")
    expect(page.get_by_role("status")).to_contain_text("不对公众展示")
    expect(page.get_by_role("heading", name="适合承接的企业")).to_be_visible()
    shot(page, "scenario-detail-closed-staff")


def test_staff_pick_a_stored_firm(page: Page, live_server: LiveServer) -> None:
    firm_id, firm_name = _firm(live_server)
    page.goto(f"/scenarios?firm={firm_id}")
    expect(page.get_by_role("status")).to_contain_text("仅供登录的招商人员使用")
    expect(page.get_by_text(firm_name)).to_have_count(0)

    login(page, "staff")
    page.goto("/scenarios")
    page.get_by_label("企业编号或名称").fill(firm_id)
    page.get_by_role("button", name="查看推荐").click()
    expect(page.get_by_role("heading", name=f"为「{firm_name}」推荐的场景")).to_be_visible()
    expect(page.locator(".scenario-list > li").first).to_be_visible()
    shot(page, "scenarios-staff-firm")

    page.get_by_label("企业编号或名称").fill("科技")
    page.get_by_role("button", name="查看推荐").click()
    candidates = page.get_by_role("status").get_by_role("link")
    expect(candidates.first).to_be_visible()
    chosen = candidates.first.inner_text()
    candidates.first.click()
    expect(page.get_by_role("heading", name=f"为「{chosen}」推荐的场景")).to_be_visible()

    page.locator(".scenario-list h3 a").first.click()
    firms = page.get_by_role("heading", name="适合承接的企业")
    expect(firms).to_be_visible()
    page.locator(".firm-list a").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^为「.+」推荐的场景$"))).to_be_visible()


def test_a_blank_profile_is_explained(page: Page) -> None:
    page.goto("/scenarios")
    page.get_by_label("企业简介").fill("   ")
    page.get_by_role("button", name="推荐适合我的场景").click()
    expect(page.get_by_role("alert")).to_contain_text("企业简介：必填项缺失")
    expect(page.locator("#description-error")).to_have_text("必填项缺失")
    expect(page.locator(".scenario-list > li").first).to_be_visible()
    shot(page, "scenarios-profile-error")


def test_recommendation_form_needs_the_csrf_token(page: Page) -> None:
    page.goto("/scenarios")
    response = page.request.post("/scenarios", form={"description": PROFILE})
    assert response.status == 403
    assert "CSRF" in response.text()
