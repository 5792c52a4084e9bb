"""What the 加入跟进 tests share: a signed-in staff browser over a small catalogue, and reading its pages."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_user
from api.config import Settings
from api.state import AppState
from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher.hashing import HashingEncoder
from migrations import migrate
from models.catalogue import import_file
from models.clock import china_today
from models.database import make_engine, make_session_factory
from models.user import Role
from tests.files import jsonl

PASSWORD = "招商密码2026"
FIRMS = 40
HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')
NEW_ID = re.compile(r"QY\d{8}[0-9A-F]{6}")


@contextmanager
def staff_browser(url: str, *, scenarios: int, first_page: str) -> Iterator[TestClient]:
    """The app over 60 buildings, 40 firms and `scenarios` scenarios, signed in as staff by session cookie."""
    engine = make_engine(url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        import_file(session, "buildings", jsonl(*generate_buildings(60, seed=5)), "b.jsonl")
        import_file(session, "enterprises", jsonl(*generate_enterprises(FIRMS, seed=5)), "e.jsonl")
        generated = generate_scenarios(scenarios, seed=5, reference_date=china_today())
        import_file(session, "scenarios", jsonl(*generated), "s.jsonl")
        create_user(session, name="staff", role=Role.staff, password=PASSWORD)
    engine.dispose()
    app = create_app(Settings(database_url=url), encoder=HashingEncoder())
    with TestClient(app) as client:
        login = client.post("/api/v1/auth/login", json={"name": "staff", "password": PASSWORD})
        token = login.json()["token"]
        client.cookies.set("xingpei_session", token)
        client.headers["Authorization"] = f"Bearer {token}"
        client.get(first_page)  # the CSRF cookie
        yield client


def app_state(client: TestClient) -> AppState:
    """The app's state."""
    state: AppState = client.app.state.xingpei  # type: ignore[attr-defined]
    return state


def page_html(client: TestClient, path: str, **params: Any) -> str:
    """A page's HTML; asserts a 200."""
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.text


def follow_form(result: str) -> dict[str, str]:
    """The hidden fields of a result's 加入跟进 form (the CSRF token included)."""
    assert "加入跟进</button>" in result
    return {name: html.unescape(value) for name, value in HIDDEN.findall(result)}


def leads_listed(client: TestClient, **filters: str) -> list[dict[str, Any]]:
    """Leads as the API lists them."""
    answer = client.get("/api/v1/leads", params={"limit": 100, **filters})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items
