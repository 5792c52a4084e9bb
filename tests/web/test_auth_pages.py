"""Login, logout, the 403/404 pages and what anonymous visitors may not reach, in the browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import login, no_overflow, shot


def test_login_and_logout(page: Page) -> None:
    page.goto("/")
    shot(page, "home-anonymous")
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="为企业找楼")).to_have_count(0)
    login(page, "staff")
    expect(page.locator(".who")).to_contain_text("staff（招商人员）")
    expect(nav.get_by_role("link", name="为企业找楼")).to_be_visible()
    shot(page, "home-staff")
    page.get_by_role("button", name="退出").click()
    expect(page.locator(".who")).to_contain_text("登录")
    page.goto("/find/buildings")
    expect(page).to_have_url(re.compile(r"/login\?next=/find/buildings"))


def test_wrong_password_says_so(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill("staff")
    page.get_by_label("密码").fill("不对的密码")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")
    shot(page, "login-failed")


def test_anonymous_visitor_is_sent_to_login_from_every_staff_page(page: Page) -> None:
    for path in (
        "/find/buildings",
        "/find/firms",
        "/leads",
        "/admin/weights",
        "/admin/data",
        "/admin/dashboard",
    ):
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/login\?next="))
        expect(page.get_by_role("heading", name="登录")).to_be_visible()


def test_staff_sees_a_clear_403_on_admin_pages(page: Page) -> None:
    login(page, "staff")
    for path in ("/admin/weights", "/admin/data", "/admin/dashboard"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 403
        expect(page.get_by_role("heading", name="没有权限")).to_be_visible()
    shot(page, "forbidden-403")


def test_friendly_404(page: Page, phone: Page) -> None:
    response = page.goto("/no/such/page")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    shot(page, "not-found-404")
    phone.goto("/no/such/page")
    no_overflow(phone)


def test_form_without_csrf_token_is_refused(page: Page) -> None:
    page.goto("/login")
    response = page.request.post("/login", form={"name": "staff", "password": "x"})
    assert response.status == 403
    assert "CSRF" in response.text()
