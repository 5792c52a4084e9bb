"""An app over a small generated catalogue, with an admin and a staff token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_user
from api.config import Settings
from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher.hashing import HashingEncoder
from migrations import migrate
from models.catalogue import import_file
from models.clock import china_today
from models.database import make_engine, make_session_factory
from models.user import Role
from tests.files import jsonl


@dataclass(frozen=True)
class Api:
    """A running app and the headers of its users."""

    client: TestClient
    admin: dict[str, str]
    staff: dict[str, str]


@pytest.fixture
def api(fresh_database_url: str) -> Iterator[Api]:
    """The app over 60 buildings, 40 firms and 60 scenarios, with two users."""
    engine = make_engine(fresh_database_url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        import_file(session, "buildings", jsonl(*generate_buildings(60, seed=3)), "b.jsonl")
        import_file(session, "enterprises", jsonl(*generate_enterprises(40, seed=3)), "e.jsonl")
        scenarios = generate_scenarios(60, seed=3, reference_date=china_today())
        import_file(session, "scenarios", jsonl(*scenarios), "s.jsonl")
        _, admin = create_user(session, name="admin", role=Role.admin, password="管理员密码")
        _, staff = create_user(session, name="staff", role=Role.staff, password="招商密码")
    engine.dispose()
    app = create_app(Settings(database_url=fresh_database_url), encoder=HashingEncoder())
    with TestClient(app) as client:
        yield Api(client, {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {staff}"})
