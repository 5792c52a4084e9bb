"""分配建议: the page over the demo catalogue in a browser (sections, Excel, phone); its forms over HTTP."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from api.web.pages_allocation import ASSIGNMENT_COLUMNS, SHOWN
from models.clock import china_today
from tests.users import district_staff
from tests.web.conftest import PASSWORDS, login, no_overflow, shot
from tests.web.followup import app_state, follow_form, page_html, staff_browser

ROW = re.compile(r'<tr id="result-(\d+)">(.*?)</tr>', re.S)


def _api_allocation(page: Page, role: str, **params: Any) -> dict[str, Any]:
    """`GET /api/v1/allocation` with a token of `role`, as a script on the same site would fetch it."""
    token = page.request.post("/api/v1/auth/login", data={"name": role, "password": PASSWORDS[role]}).json()
    answer = page.request.get(
        "/api/v1/allocation", params=params, headers={"Authorization": f"Bearer {token['token']}"}
    )
    assert answer.ok, answer.text()
    found: dict[str, Any] = answer.json()
    return found


def test_staff_open_the_page_from_the_navigation_and_see_the_apis_suggestion(page: Page) -> None:
    login(page, "staff")
    started = time.perf_counter()
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="分配建议").click()
    expect(page.get_by_role("heading", name="分配建议", level=1)).to_be_visible()
    print(f"\n分配建议 over the demo catalogue: first page {time.perf_counter() - started:.1f} s", end=" ")
    found = _api_allocation(page, "staff")
    for heading in (
        "全市概况",
        f"冲突（{len(found['greedy']['overbooked_buildings'])} 栋楼宇被多家企业同时首选）",
        f"建议分配（{len(found['assignments'])} 家企业）",
        f"场景邀请（{len(found['scenario_invitations'])} 个征集中的场景）",
    ):
        expect(page.get_by_role("heading", name=heading, level=2)).to_be_visible()
    assert found["greedy"]["overbooked_buildings"], "the demo has floors wanted by several firms"
    rows = page.locator("table.allocation-assignments tbody tr")
    expect(rows).to_have_count(min(len(found["assignments"]), SHOWN))
    assert len(found["assignments"]) > SHOWN, "the demo's pool is longer than one screenful"
    first = found["assignments"][0]
    expect(rows.first.locator("td").nth(1)).to_have_text(first["enterprise_name"])
    expect(rows.first.locator("td").nth(2)).to_have_text(first["building_name"])
    expect(page.locator("table.allocation-conflicts tbody tr")).to_have_count(
        len(found["greedy"]["overbooked_buildings"])
    )
    kpis = page.get_by_role("list", name="分配概况")
    expect(kpis).to_contain_text(f"{found['total_score']:.2f}")
    expect(kpis).to_contain_text(f"{len(found['assignments'])} / {found['pool_firms']} 家企业分到楼宇")
    expect(page.get_by_label("单区占比上限（0–1，管理员）")).to_have_count(0)
    again = time.perf_counter()
    page.reload()
    expect(page.get_by_role("heading", name="分配建议", level=1)).to_be_visible()
    print(f"kept: reload {time.perf_counter() - again:.1f} s", end=" ")
    shot(page, "allocation-desktop")
    page.get_by_role("link", name="显示全部").first.click()
    expect(rows).to_have_count(len(found["assignments"]))
    expect(rows.last.locator("td").nth(1)).to_have_text(found["assignments"][-1]["enterprise_name"])


def test_the_excel_export_holds_the_suggestion(page: Page) -> None:
    login(page, "staff")
    page.goto("/allocation")
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel").click()
    assert download.value.suggested_filename == f"分配建议-全市-{china_today():%Y%m%d}.xlsx"
    workbook = load_workbook(BytesIO(download.value.path().read_bytes()))
    assert workbook.sheetnames == ["建议分配", "冲突", "场景邀请"]
    rows = list(workbook["建议分配"].iter_rows(values_only=True))
    assert list(rows[0]) == [title for title, _ in ASSIGNMENT_COLUMNS]
    found = _api_allocation(page, "staff")
    assert [(row[1], row[3]) for row in rows[1:]] == [
        (item["enterprise_id"], item["building_id"]) for item in found["assignments"]
    ]
    assert len(list(workbook["冲突"].iter_rows())) == len(found["greedy"]["overbooked_buildings"]) + 1


def test_an_admins_infeasible_share_is_explained_and_staff_may_not_set_one(page: Page, phone: Page) -> None:
    login(page, "admin")
    page.goto("/allocation")
    page.get_by_label("单区占比上限（0–1，管理员）").fill("0.01")
    page.get_by_role("button", name="计算").click()
    alert = page.locator(".errors-box")
    expect(alert).to_contain_text("上限至少应为")
    expect(page.get_by_label("单区占比上限（0–1，管理员）")).to_have_value("0.01")
    expect(page.get_by_role("heading", name="建议分配", level=2)).to_have_count(0)
    login(phone, "staff")
    refused = phone.goto("/allocation?share=0.3")
    assert refused is not None
    assert refused.status == 403
    expect(phone.locator("main")).to_contain_text("只有管理员可以设置单区分配占比上限")


def test_the_page_fits_a_phone(phone: Page) -> None:
    login(phone, "admin")
    phone.goto("/allocation")
    expect(phone.get_by_role("heading", name="分配建议", level=1)).to_be_visible()
    no_overflow(phone)
    wrapped = phone.evaluate(
        "Array.from(document.querySelectorAll('.allocation-page table'))"
        ".every((table) => table.parentElement.classList.contains('table-wrap'))"
    )
    assert wrapped
    shot(phone, "allocation-phone")


# ---- over HTTP, on a small catalogue of its own ----------------------------------------------


@pytest.fixture
def staff(fresh_database_url: str) -> Iterator[TestClient]:
    """The app over a small catalogue, signed in as staff through the session cookie."""
    with staff_browser(fresh_database_url, scenarios=20, first_page="/allocation") as client:
        yield client


def _rows(page: str) -> dict[int, str]:
    """Each suggested assignment's row by its number."""
    return {int(number): body for number, body in ROW.findall(page)}


def test_following_a_suggestion_starts_the_lead_and_marks_its_row(staff: TestClient) -> None:
    rows = _rows(page_html(staff, "/allocation"))
    form = follow_form(rows[1])
    assert (form["rank"], form.get("back", "")) == ("1", "")
    answer = staff.post("/allocation/follow", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(r"/allocation\?followed=\d+#result-1", location), location
    back = staff.get(location.split("#")[0])
    assert back.status_code == 200, back.text
    shown = back.text
    assert "已加入跟进" in shown
    lead_id = location.split("followed=")[1].split("#")[0]
    row = _rows(shown)[1]
    assert f'href="/leads/{lead_id}">跟进中（推介）' in row
    assert "加入跟进</button>" not in row
    lead = staff.get(f"/api/v1/leads/{lead_id}").json()
    assert (lead["enterprise_id"], lead["building_id"]) == (form["enterprise_id"], form["building_id"])
    assert lead["history"][0]["note"] == "从「分配建议」加入跟进"


def test_district_staff_see_their_district_unless_they_choose_another(staff: TestClient) -> None:
    staff.cookies.set("xingpei_session", district_staff(app_state(staff).sessions))
    own = page_html(staff, "/allocation")
    assert '<option value="渝北区" selected>' in own
    assert "渝北区概况" in own
    assert all('<td class="district">渝北区</td>' in row for row in _rows(own).values())
    city = page_html(staff, "/allocation", district="")
    assert "全市概况" in city
    assert len(_rows(city)) > len(_rows(own))


def test_bad_form_values_are_a_422_page_naming_them(staff: TestClient) -> None:
    unknown = staff.get("/allocation", params={"district": "火星区"})
    assert unknown.status_code == 422
    assert "范围：没有名为「火星区」的区" in html.unescape(unknown.text)
    assert "建议分配（" not in unknown.text
    export = staff.get("/allocation.xlsx", params={"district": "火星区"})
    assert export.status_code == 422
    assert staff.get("/allocation", params={"share": "abc"}).status_code == 422


def test_the_export_keeps_names_as_text(staff: TestClient) -> None:
    answer = staff.get("/allocation.xlsx")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    sheet = load_workbook(BytesIO(answer.content))["建议分配"]
    found = staff.get("/api/v1/allocation").json()
    assert sheet.max_row == len(found["assignments"]) + 1
    assert sheet.cell(2, 3).value == found["assignments"][0]["enterprise_name"]
    assert sheet.cell(2, 3).data_type == "s"
