"""The web app starts through its lifespan, reports health and shows the catalogue's size."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_user
from api.config import Settings, get_settings
from matcher.hashing import HashingEncoder
from migrations import migrate
from models.catalogue import import_file
from models.database import make_engine, make_session_factory
from models.user import Role
from tests.files import building, jsonl


def test_health_and_home_page(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        import_file(session, "buildings", jsonl(building()), "b.jsonl")
        create_user(session, name="admin", role=Role.admin, password="管理员密码")
    app = create_app(Settings(database_url=fresh_database_url), encoder=HashingEncoder())
    with TestClient(app) as client:
        health = client.get("/healthz").json()
        page = client.get("/")
        response = client.post("/api/v1/auth/login", json={"name": "admin", "password": "管理员密码"})
        client.cookies.set("xingpei_session", response.json()["token"])
        signed_in = client.get("/")
    engine.dispose()
    assert health["database"] == "ok"
    assert health["index"] == {"buildings": 1, "enterprises": 0, "scenarios": 0}
    assert health["weights_version"] == 1
    assert page.status_code == 200
    assert "当前开放的应用场景" in page.text
    assert "楼宇：" not in page.text  # anonymous visitors see no catalogue sizes
    assert "楼宇：<strong>1</strong> 条" in signed_in.text


def test_the_loaded_catalogue_is_out_of_the_collectors_sight_while_serving(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        import_file(session, "buildings", jsonl(building()), "b.jsonl")
    engine.dispose()
    app = create_app(Settings(database_url=fresh_database_url), encoder=HashingEncoder())
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        record = app.state.xingpei.recommender.stored("buildings", "B1")
        frozen = gc.get_freeze_count()
        walked = any(found is record for found in gc.get_objects())  # a collection walks these
    assert frozen > 0
    assert not walked
    assert gc.get_freeze_count() == 0  # shut down: back in the collector's sight
    assert any(found is record for found in gc.get_objects())


def test_unknown_setting_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINGPEI_DATABASE_ULR", "sqlite:///typo.db")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="XINGPEI_DATABASE_ULR"):
        get_settings()
    get_settings.cache_clear()


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`XINGPEI_{name.upper()}`" in readme, name
