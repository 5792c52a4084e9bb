"""Starting from the snapshot: a second start reads it and answers as a fresh build; a bad one is rebuilt."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.auth import create_user
from api.config import Settings
from api.loading import SNAPSHOT_FILE, snapshot_ready
from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher.encoder import Encoder
from matcher.hashing import HashingEncoder
from matcher.recommender import Recommender
from migrations import migrate
from models.catalogue import import_file
from models.clock import china_today
from models.database import make_engine, make_session_factory
from models.user import Role
from tests.files import jsonl

FIRMS = ["E000001", "E000002", "E000007"]
BUILDINGS = ["B00001", "B00004"]


class OtherModel(HashingEncoder):
    """The same vectors under another model's name."""

    model_id = "another-test-encoder"


class NamedAsConfigured(HashingEncoder):
    """The hashing vectors under the id a model folder `var/models/none` would have."""

    model_id = "none"


@pytest.fixture(autouse=True)
def start_up_log_reaches_caplog(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An in-process uvicorn started by an earlier test leaves its loggers at WARNING, not propagating."""
    error = logging.getLogger("uvicorn.error")
    level = error.level
    error.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error"):
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
    yield
    error.setLevel(level)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every `Recommender.load` (a build from the records), one entry per build."""
    counted: list[int] = []
    load = Recommender.load

    def counting(self: Recommender, catalogue: object) -> Recommender:
        counted.append(1)
        return load(self, catalogue)  # type: ignore[arg-type]

    monkeypatch.setattr(Recommender, "load", counting)
    return counted


def _fill(url: str, seed: int) -> str:
    """Migrate, import a generated catalogue (one import per kind) and add a staff user; its token."""
    engine = make_engine(url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        import_file(session, "buildings", jsonl(*generate_buildings(50, seed=seed)), "b.jsonl")
        import_file(session, "enterprises", jsonl(*generate_enterprises(30, seed=seed)), "e.jsonl")
        scenarios = generate_scenarios(50, seed=seed, reference_date=china_today())
        import_file(session, "scenarios", jsonl(*scenarios), "s.jsonl")
        _, token = create_user(session, name=f"staff{seed}", role=Role.staff, password="招商密码")
    engine.dispose()
    return token


@pytest.fixture
def database(fresh_database_url: str) -> tuple[str, str]:
    """A fresh database with a catalogue, and a staff token."""
    return fresh_database_url, _fill(fresh_database_url, 3)


def _answers(
    url: str, token: str, cache: Path, *, snapshot: bool = True, encoder: Encoder | None = None
) -> list[object]:
    """Start an app (building, or reading the snapshot in `cache`) and collect answers in every direction."""
    settings = Settings(
        database_url=url, cache_dir=str(cache), snapshot=snapshot, industry_inference="lexicon"
    )
    headers = {"Authorization": f"Bearer {token}"}
    paths = [
        f"/api/v1/enterprises/{firm}/matches/{kind}" for firm in FIRMS for kind in ("buildings", "scenarios")
    ]
    paths += [f"/api/v1/buildings/{building}/matches/enterprises" for building in BUILDINGS]
    with TestClient(create_app(settings, encoder=encoder or HashingEncoder())) as client:
        answers = []
        for path in paths:
            response = client.get(path, params={"k": 8}, headers=headers)
            assert response.status_code == 200, response.text
            answers.append(response.json())
    assert sum(len(answer["results"]) for answer in answers) > 20
    return answers


def test_a_second_start_reads_the_snapshot_and_answers_as_the_first(
    database: tuple[str, str], tmp_path: Path, builds: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    url, token = database
    first = _answers(url, token, tmp_path)
    assert len(builds) == 1
    assert (tmp_path / SNAPSHOT_FILE).is_file()
    with caplog.at_level(logging.INFO):
        second = _answers(url, token, tmp_path)
    assert len(builds) == 1
    assert "从启动快照" in caplog.text
    assert second == first


def test_kinds_written_since_the_snapshot_are_read_again(
    database: tuple[str, str], tmp_path: Path, builds: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    url, token = database
    _answers(url, token, tmp_path)
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:  # other versions of some buildings, and new ones
        import_file(session, "buildings", jsonl(*generate_buildings(70, seed=4)), "b2.jsonl")
    engine.dispose()
    with caplog.at_level(logging.INFO):
        restored = _answers(url, token, tmp_path)
    assert len(builds) == 1
    assert "启动快照之后楼宇有改动" in caplog.text
    assert restored == _answers(url, token, tmp_path / "none", snapshot=False)
    assert len(builds) == 2
    caplog.clear()
    with caplog.at_level(logging.INFO):  # the snapshot was written again, with the new stamps
        assert _answers(url, token, tmp_path) == restored
    assert "有改动" not in caplog.text
    assert len(builds) == 2


def _damage(path: Path) -> None:
    """Flip one byte in the middle of the file."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _recreate(url: str, backend: str) -> None:
    """Drop the database's content and migrate it again, as a database deleted and created at the same URL."""
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(make_engine(url).url.database + suffix).unlink(missing_ok=True)  # type: ignore[operator]
        return
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.mark.parametrize("fault", ["damaged", "other model", "other database"])
def test_a_bad_snapshot_is_rebuilt_with_a_log_line_never_served(
    database: tuple[str, str],
    tmp_path: Path,
    builds: list[int],
    caplog: pytest.LogCaptureFixture,
    fault: str,
    backend: str,
) -> None:
    url, token = database
    _answers(url, token, tmp_path)
    encoder: Encoder = HashingEncoder()
    if fault == "damaged":
        _damage(tmp_path / SNAPSHOT_FILE)
        reason = "校验和不符"
    elif fault == "other model":
        encoder = OtherModel()
        reason = "嵌入模型不同"
    else:  # the same stamps (one import per kind), other records
        _recreate(url, backend)
        token = _fill(url, 9)
        reason = "另一个数据库"
    with caplog.at_level(logging.INFO):
        answers = _answers(url, token, tmp_path, encoder=encoder)
    assert len(builds) == 2
    assert "不使用启动快照" in caplog.text
    assert reason in caplog.text
    assert answers == _answers(url, token, tmp_path / "none", snapshot=False, encoder=encoder)


def test_serve_skips_the_warm_up_only_while_the_snapshot_matches_the_catalogue(
    database: tuple[str, str], tmp_path: Path
) -> None:
    url, token = database
    settings = Settings(
        database_url=url, cache_dir=str(tmp_path), snapshot=True, industry_inference="lexicon"
    )
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    model = settings.model_copy(update={"embedding_model": "var/models/none"})  # the check opens no model
    assert not snapshot_ready(model, sessions)
    _answers(url, token, tmp_path, encoder=NamedAsConfigured())
    assert snapshot_ready(model, sessions)
    assert not snapshot_ready(model.model_copy(update={"snapshot": False}), sessions)
    with sessions.begin() as session:
        import_file(
            session,
            "scenarios",
            jsonl(*generate_scenarios(3, seed=5, reference_date=china_today())),
            "s.jsonl",
        )
    assert not snapshot_ready(model, sessions)
    engine.dispose()
