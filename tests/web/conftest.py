"""Browser tests: the app served on loopback over the demo data, driven by Playwright in Debian's Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, expect, sync_playwright

from api.app import create_app
from api.auth import create_user
from api.config import Settings
from demo.bundle import load_demo
from matcher.hashing import HashingEncoder
from migrations import migrate
from models.database import make_engine, make_session_factory
from models.user import Role
from tests.conftest import TEST_DATABASE_URL, create_postgres_database, drop_postgres_database
from tests.live import serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots")).resolve()
PASSWORDS = {"admin": "管理员密码2026", "staff": "招商人员密码2026"}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


def pytest_report_header() -> str:
    """Say where the screenshots go."""
    return f"screenshots: {SCREENSHOT_DIR}"


@dataclass(frozen=True)
class LiveServer:
    """A running app and its address."""

    url: str
    database_url: str


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app over the bundled demo data with an admin and a staff user, served by uvicorn in a thread."""
    if TEST_DATABASE_URL:
        database_url, name = create_postgres_database(TEST_DATABASE_URL)
    else:
        database_url, name = f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}", ""
    engine = make_engine(database_url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        load_demo(session)
        for role in (Role.admin, Role.staff):
            create_user(session, name=role.value, role=role, password=PASSWORDS[role.value])
    engine.dispose()
    app = create_app(Settings(database_url=database_url), encoder=HashingEncoder())
    with serving(app) as url:
        yield LiveServer(url, database_url)
    if name:
        drop_postgres_database(TEST_DATABASE_URL, name)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """The Playwright driver."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; a missing browser fails the tests (the Makefile installs it)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} 不存在：请安装 Debian 软件包 chromium 与 fonts-wqy-microhei")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def _page(browser: Browser, live_server: LiveServer, viewport: ViewportSize) -> Iterator[Page]:
    """A page in a new browser context (own cookies) that fails the test on any script error."""
    context = browser.new_context(base_url=live_server.url, viewport=viewport, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"页面脚本出错：{errors}"


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A desktop-width page (1280 px)."""
    yield from _page(browser, live_server, DESKTOP)


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A phone-width page (390 px)."""
    yield from _page(browser, live_server, PHONE)


def login(page: Page, role: str) -> None:
    """Sign in through the login form as `admin` or `staff`."""
    page.goto("/login")
    page.get_by_label("用户名").fill(role)
    page.get_by_label("密码").fill(PASSWORDS[role])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.locator(".who")).to_contain_text(role)


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as `name.png` under the screenshot folder and return its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    database = "pg" if TEST_DATABASE_URL else "sqlite"
    path = SCREENSHOT_DIR / f"{name}.{database}.png"
    page.screenshot(path=path, full_page=True)
    return path


def no_overflow(page: Page) -> None:
    """Fail when the page is wider than its viewport (content cut off on a phone)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None
    assert width <= viewport["width"] + 1, f"{page.url} 宽 {width}px，超出视口 {viewport['width']}px"
