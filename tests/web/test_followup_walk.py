"""A browser walks a lead: typed-in firm → 加入跟进 → 签约 600 ㎡ → less offered → 入驻 → plan figures."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from models.clock import china_today
from tests.web.conftest import login, shot

FIRM = "星途走查视觉科技"
DESCRIPTION = "专注工业视觉质检算法和机器视觉平台，为汽车零部件和电子制造企业提供缺陷检测系统。"
SIGNED_M2 = 600
EXPECTED_HEADCOUNT = 40
ACTUAL_HEADCOUNT = 45
AREA = re.compile(r"可租面积 ([\d,]+) ㎡")


def _number(text: str) -> int:
    """The first whole number of a text (thousands separators allowed)."""
    found = re.search(r"\d[\d,]*", text)
    assert found is not None, text
    return int(found.group().replace(",", ""))


def _figures(page: Page) -> dict[str, int]:
    """The city's 盘活楼宇面积 (㎡), 新增就业 and 新落地企业 on the indicators page."""
    page.goto("/indicators")
    kpis = page.locator(".dash-kpis > li")
    return {
        label: _number(kpis.filter(has_text=label).locator(".plan-bar-head span").first.inner_text())
        for label in ("盘活楼宇面积", "新增就业", "新落地企业")
    }


def _match(page: Page) -> None:
    """Type the prospect's profile into 为企业找楼 and ask for the best 20 buildings."""
    page.goto("/find/buildings")
    page.get_by_label("企业名称", exact=True).fill(FIRM)
    page.get_by_label("企业简介（必填）").fill(DESCRIPTION)
    page.get_by_label("需求面积（㎡）").fill(str(SIGNED_M2))
    page.get_by_label("企业来源").select_option("outside_city")
    page.locator("#profile").get_by_label("结果数量").select_option("20")
    page.get_by_role("button", name="匹配楼宇").click()
    expect(page.get_by_role("heading", name=f"为「{FIRM}」推荐的楼宇")).to_be_visible()


def _advance(page: Page, stage: str, facts: dict[str, str], note: str) -> None:
    """Move the lead on through the lead page's form."""
    page.get_by_label("新阶段").select_option(label=stage)
    for label, value in facts.items():
        page.get_by_label(label).fill(value)
    page.get_by_label("备注").fill(note)
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text(f"已更新为「{stage}」。")


def test_typed_in_firm_signs_moves_in_and_the_plan_counts_it(page: Page) -> None:
    login(page, "staff")
    before = _figures(page)

    _match(page)
    results = page.locator("ol.results > li")
    roomy = next(
        index
        for index in range(results.count())
        if _number(AREA.findall(results.nth(index).inner_text())[0]) >= 2 * SIGNED_M2
    )
    chosen = results.nth(roomy)
    building = chosen.locator("h3").inner_text()
    offered = _number(AREA.findall(chosen.inner_text())[0])
    rent = re.search(r"租金 ([\d.]+) 元/㎡·月", chosen.inner_text())
    assert rent is not None
    chosen.get_by_role("button", name="加入跟进").click()
    notice = page.get_by_role("status").filter(has_text="已加入跟进（编号")
    expect(notice).to_contain_text(f"{FIRM} · {building}")
    expect(page.locator(".firm-card")).to_contain_text(re.compile(r"企业编号 QY\d{8}"))

    lead = notice.get_by_role("link", name="查看跟进 →").get_attribute("href")
    assert lead is not None
    page.goto("/leads")
    expect(page.locator("main")).to_contain_text(FIRM)
    page.goto(lead)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{FIRM} × {building}")
    expect(page.locator(".lead-stage")).to_have_text("推介")

    _advance(
        page,
        "签约",
        {
            "签约面积（㎡）": str(SIGNED_M2),
            "签约租金（元/㎡·月）": rent.group(1),
            "预计入驻人数": str(EXPECTED_HEADCOUNT),
        },
        "签约 12 层",
    )
    expect(page.locator(".detail-facts")).to_contain_text(f"{offered - SIGNED_M2:,.0f} ㎡")
    signed = _figures(page)
    assert signed["盘活楼宇面积"] == before["盘活楼宇面积"] + SIGNED_M2
    assert signed["新增就业"] == before["新增就业"]

    _match(page)
    again = page.locator("ol.results > li").filter(has=page.get_by_role("heading", name=building, exact=True))
    expect(again).to_have_count(1)
    expect(again.locator(".facts")).to_contain_text(f"可租面积 {offered - SIGNED_M2:,.0f} ㎡")
    expect(again.locator(".reasons")).to_contain_text(
        f"需求 {SIGNED_M2:,.0f}㎡，可租 {offered - SIGNED_M2:,.0f}㎡"
    )

    page.goto(lead)
    _advance(
        page,
        "入驻",
        {"入驻日期": china_today().isoformat(), "实际入驻人数": str(ACTUAL_HEADCOUNT)},
        "已入驻",
    )
    expect(page.locator(".lead-timeline > li")).to_have_count(3)
    shot(page, "walk-lead-timeline")
    moved_in = _figures(page)
    assert moved_in["盘活楼宇面积"] == before["盘活楼宇面积"] + SIGNED_M2
    assert moved_in["新增就业"] == before["新增就业"] + ACTUAL_HEADCOUNT
    assert moved_in["新落地企业"] == before["新落地企业"] + 1
    shot(page, "walk-indicators")
