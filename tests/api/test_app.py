"""The web app starts through its lifespan, reports health and shows the catalogue's size."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings, get_settings
from models.catalogue import import_file
from models.database import make_engine, make_session_factory
from tests.files import building, jsonl


def test_health_and_home_page(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    with TestClient(create_app(Settings(database_url=fresh_database_url))) as client:
        with make_session_factory(engine).begin() as session:
            import_file(session, "buildings", jsonl(building()), "b.jsonl")
        assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
        page = client.get("/")
    engine.dispose()
    assert page.status_code == 200
    assert "楼宇：1 条" in page.text


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
