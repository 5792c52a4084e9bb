"""The 推介函 printed to PDF in Chromium: the firm, each building and its monthly cost, one page each."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect
from pypdf import PdfReader
from sqlalchemy import delete

from api.auth import create_user
from models.database import make_engine, make_session_factory
from models.user import Role, User
from tests.web.conftest import LiveServer, login, no_overflow, shot

A4_VIEWPORT: ViewportSize = {"width": 794, "height": 1123}
"""An A4 sheet at 96 dpi, for the screenshot of the print view."""


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """The JSON API as a staff user of this test alone (deleted afterwards)."""
    sessions = make_session_factory(make_engine(live_server.database_url))
    name = f"letter-{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        _, token = create_user(session, name=name, role=Role.staff, password=None)
    with httpx.Client(
        base_url=f"{live_server.url}/api/v1", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client
    with sessions.begin() as session:
        session.execute(delete(User).where(User.name == name))


def _firm(api: httpx.Client) -> dict[str, Any]:
    """A demo firm that states its area need and has ten buildings to offer."""
    for firm in api.get("/enterprises", params={"limit": 50}).json()["items"]:
        if firm.get("required_area_m2"):
            results = api.get(f"/enterprises/{firm['id']}/matches/buildings", params={"k": 10}).json()
            if len(results["results"]) == 10:
                return dict(firm)
    raise AssertionError("no demo firm with an area need and ten buildings")


def _expected(api: httpx.Client, firm: dict[str, Any], k: int) -> list[tuple[str, str]]:
    """Each building the letter should list, best first: its name and its monthly cost as printed."""
    answer = api.get(f"/enterprises/{firm['id']}/matches/buildings", params={"k": k}).json()
    listed = []
    for result in answer["results"]:
        building = api.get(f"/buildings/{result['id']}").json()
        area = max(firm["required_area_m2"], building.get("min_unit_m2") or 0)
        listed.append((building["name"], f"{building['rent_yuan_m2_month'] * area:,.0f}元/月"))
    return listed


def _pdf_pages(page: Page) -> list[str]:
    """The page printed on A4 by Chromium, as the text of each PDF page without whitespace."""
    reader = PdfReader(BytesIO(page.pdf(format="A4")))
    return [re.sub(r"\s+", "", sheet.extract_text()) for sheet in reader.pages]


@pytest.mark.parametrize("k", [5, 10])
def test_the_letter_prints_a_cover_and_one_page_per_building(page: Page, api: httpx.Client, k: int) -> None:
    firm = _firm(api)
    listed = _expected(api, firm, k)
    login(page, "staff")
    page.goto(f"/letter/{firm['id']}?k={k}")
    expect(page.get_by_role("heading", name="推 介 函")).to_be_visible()
    expect(page.locator(".letter-building")).to_have_count(k)
    expect(page.get_by_text(f"共 {k + 1} 页")).to_be_visible()

    sheets = _pdf_pages(page)
    assert len(sheets) == 1 + k
    cover = sheets[0]
    assert firm["name"] in cover
    assert "推介函" in cover
    for (name, cost), sheet in zip(listed, sheets[1:], strict=True):
        squeezed = re.sub(r"\s+", "", name)
        assert squeezed in cover
        assert cost in cover
        assert squeezed in sheet, f"{name} 不在它的一页上"
        assert cost in sheet
        assert "联系方式" in sheet
    assert all("打印/另存为PDF" not in sheet and "为企业找楼" not in sheet for sheet in sheets)

    page.set_viewport_size(A4_VIEWPORT)
    page.emulate_media(media="print")
    expect(page.locator(".top")).to_be_hidden()
    expect(page.get_by_role("button", name="打印 / 另存为 PDF")).to_be_hidden()
    shot(page, f"letter-print-{k}")


def test_the_letter_reads_on_a_phone_and_is_linked_from_the_results(phone: Page, api: httpx.Client) -> None:
    firm = _firm(api)
    login(phone, "staff")
    phone.goto(f"/find/buildings?firm={firm['id']}")
    phone.get_by_role("link", name="打印推介函 →").click()
    expect(phone.get_by_role("heading", name="推 介 函")).to_be_visible()
    expect(phone.locator(".letter-building")).to_have_count(5)
    no_overflow(phone)
    shot(phone, "letter-phone")
    missing = phone.goto("/letter/NO-SUCH-FIRM")
    assert missing is not None
    assert missing.status == 404
