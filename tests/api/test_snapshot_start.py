"""Starting from the snapshot: a second start reads it and answers as a fresh build; a bad one is rebuilt;
the embedding model is opened only when a text is not in the vector cache (a typed-in profile)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.auth import create_user
from api.config import Settings
from api.embedding import configured_model
from api.loading import SNAPSHOT_FILE, snapshot_ready
from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher.encoder import DEFAULT_MODEL_DIR, Encoder, SentenceEncoder, content_key
from matcher.hashing import HashingEncoder
from matcher.recommender import KINDS, Recommender
from matcher.text import record_text
from migrations import migrate
from models.catalogue import import_file, iter_records
from models.clock import china_today
from models.database import make_engine, make_session_factory
from models.text_vector import SqlVectorStore
from models.user import Role
from tests.files import enterprise, jsonl
from tools.e5_export import export_model, export_quantized_onnx

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


@pytest.fixture
def opened_models(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The id of every embedding model opened (int8 or float32), one entry per opening."""
    opened: list[str] = []
    load = SentenceEncoder._load

    def counting(self: SentenceEncoder, *, fall_back: bool) -> None:
        was = self.loaded
        load(self, fall_back=fall_back)
        if self.loaded and not was:
            opened.append(self.model_id)

    monkeypatch.setattr(SentenceEncoder, "_load", counting)
    return opened


def _cache_every_record_text(url: str, model_id: str, dim: int) -> None:
    """Random unit vectors for every stored record's text under the model's cache keys (nothing to encode)."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        texts = sorted({record_text(record) for kind in KINDS for record in iter_records(session, kind)})
    vectors = np.random.default_rng(0).standard_normal((len(texts), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    keys = [content_key(model_id, text) for text in texts]
    SqlVectorStore(sessions).put_many(model_id, dict(zip(keys, vectors, strict=True)))
    engine.dispose()


def test_a_restored_app_answers_stored_matches_without_opening_the_model_and_opens_it_once_typed_in(
    database: tuple[str, str],
    tmp_path: Path,
    builds: list[int],
    opened_models: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, token = database
    folder = export_model(DEFAULT_MODEL_DIR)
    export_quantized_onnx(folder)
    settings = Settings(
        database_url=url,
        cache_dir=str(tmp_path),
        snapshot=True,
        industry_inference="lexicon",
        embedding_model=str(folder),
        embedding_threads=1,
    )
    model = configured_model(settings)
    _cache_every_record_text(url, model.model_id, model.dim)
    headers = {"Authorization": f"Bearer {token}"}
    stored = f"/api/v1/enterprises/{FIRMS[0]}/matches/buildings"
    with TestClient(create_app(settings)) as client:  # builds: every record's vector is in the cache
        built = client.get(stored, params={"k": 8}, headers=headers)
    assert built.status_code == 200, built.text
    assert len(builds) == 1
    assert opened_models == []
    with caplog.at_level(logging.INFO), TestClient(create_app(settings)) as client:
        restored = client.get(stored, params={"k": 8}, headers=headers)
        assert "从启动快照" in caplog.text
        assert restored.status_code == 200, restored.text
        assert restored.json() == built.json()
        assert restored.json()["results"]
        assert opened_models == []
        for description in ("专注工业软件与数字孪生平台研发", "面向政企提供网络安全等级保护测评"):
            firm = enterprise(id="ADHOC1", description=description)
            typed = client.post("/api/v1/match/buildings", json=firm, params={"k": 8}, headers=headers)
            assert typed.status_code == 200, typed.text
            assert opened_models == [model.model_id]
    assert len(builds) == 1
