"""计划指标看板 in the browser: from the navigation, charts drawn, tables equal the API, on a phone."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.web.conftest import PASSWORDS, login, no_overflow, shot
from tests.web.test_dashboard_page import TABLES

FIGURES = 13
"""Charts: 4 by district, 2 of new firms, 2 funnels and the loss reasons, 2 conversions, 2 trends."""
PAINTED = """() => Array.from(document.querySelectorAll('.dash-chart canvas')).map((canvas) => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) painted++; }
  return {id: canvas.id, painted: painted, width: canvas.getBoundingClientRect().width};
})"""


def _api_figures(page: Page) -> dict[str, Any]:
    """`GET /api/v1/indicators` with a staff token, as a script on the same site would fetch it."""
    login_answer = page.request.post(
        "/api/v1/auth/login", data={"name": "staff", "password": PASSWORDS["staff"]}
    )
    token = login_answer.json()["token"]
    answer = page.request.get("/api/v1/indicators", headers={"Authorization": f"Bearer {token}"})
    assert answer.ok, answer.text()
    figures: dict[str, Any] = answer.json()
    return figures


def _charts(page: Page) -> list[dict[str, Any]]:
    """Every chart's canvas, measured: axes and bars make painted pixels."""
    expect(page.locator(".dash-chart canvas")).to_have_count(FIGURES)
    canvases: list[dict[str, Any]] = page.evaluate(PAINTED)
    assert all(canvas["painted"] > 1000 for canvas in canvases), canvases
    return canvases


def test_staff_open_the_page_from_the_navigation_and_see_the_apis_figures(page: Page) -> None:
    login(page, "staff")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="计划指标").click()
    expect(page.get_by_role("heading", name="计划指标看板", level=1)).to_be_visible()
    for heading in (
        "全市目标进度",
        "各区目标进度",
        "跟进漏斗",
        "推荐名次与权重版本",
        "月度趋势（近 18 个月）",
    ):
        expect(page.get_by_role("heading", name=heading, level=2)).to_be_visible()
    _charts(page)
    expect(page.get_by_role("button", name="保存目标")).to_have_count(0)
    found = _api_figures(page)
    tables: dict[str, list[list[str]]] = page.evaluate(TABLES)
    assert {row[0]: row[1] for row in tables["district-area"]} == {
        district: f"{figures['area_used_m2']:,.0f}" for district, figures in found["by_district"].items()
    }
    assert {row[0]: row[1] for row in tables["district-jobs"]} == {
        district: f"{figures['jobs']:,.0f}" for district, figures in found["by_district"].items()
    }
    funnel = found["funnel"]["building"]["stages"]
    assert [row[1] for row in tables["funnel-building"]] == [f"{stage['reached']:,}" for stage in funnel]
    assert [row[1:4] for row in tables["monthly-leads"]] == [
        [f"{month['started']:,}", f"{month['signed']:,}", f"{month['moved_in']:,}"]
        for month in found["monthly"]
    ]
    kpis = page.get_by_role("list", name="主要指标")
    expect(kpis).to_contain_text(f"{found['area_used_m2']:,.0f} ㎡")
    expect(kpis).to_contain_text(f"{found['jobs']:,} 人")
    shot(page, "indicators-desktop")


def test_the_page_and_the_admins_targets_form_fit_a_phone(phone: Page) -> None:
    login(phone, "admin")
    phone.goto("/indicators")
    canvases = _charts(phone)
    assert all(canvas["width"] <= 390 for canvas in canvases)
    phone.get_by_text("修改全市目标（管理员）").click()
    expect(phone.get_by_label("盘活楼宇面积（㎡）")).to_have_value("2000000")
    expect(phone.get_by_role("progressbar", name="全市盘活楼宇面积目标完成进度")).to_be_visible()
    no_overflow(phone)
    shot(phone, "indicators-phone")
