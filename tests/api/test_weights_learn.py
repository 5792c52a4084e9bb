"""Learning the weights from stored leads: the API, the command line, roles, bad input, nothing saved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.app import create_app
from api.auth import create_user
from api.cli import app as cli
from api.config import Settings
from demo.bundle import load_demo_catalogue
from demo.history_store import write_history
from demo.recovery import TRUE, cosine, demo_history, outcomes_of
from matcher.hashing import HashingEncoder
from matcher.replay import propose
from matcher.weights import Weights
from migrations import migrate
from models.audit import AuditEntry
from models.database import make_engine, make_session_factory
from models.lead import OutcomeStage
from models.user import Role
from models.weights_version import WeightsVersion
from tests.api.conftest import Api

LEARN = "/api/v1/weights/learn"
runner = CliRunner()


@dataclass(frozen=True)
class Learning:
    """An app over the demo catalogue and its history, its users' headers, and its database."""

    client: TestClient
    admin: dict[str, str]
    staff: dict[str, str]
    url: str


def _store(url: str) -> tuple[str, str]:
    """Migrate, load the demo catalogue and history, add an admin and a staff member; their tokens."""
    engine = make_engine(url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        load_demo_catalogue(session)
        write_history(session, demo_history())
        _, admin = create_user(session, name="admin", role=Role.admin, password="管理员密码")
        _, staff = create_user(session, name="staff", role=Role.staff, password="招商密码")
    engine.dispose()
    return admin, staff


@pytest.fixture
def learning(configured: str) -> Iterator[Learning]:
    """The demo history stored and served (the command line reads the same database)."""
    admin, staff = _store(configured)
    app = create_app(Settings(database_url=configured), encoder=HashingEncoder())
    with TestClient(app) as client:
        yield Learning(
            client, {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {staff}"}, configured
        )


def _saved(url: str) -> tuple[int, int]:
    """How many weights versions and audit entries the database holds."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        versions = session.scalar(select(func.count()).select_from(WeightsVersion)) or 0
        audits = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    engine.dispose()
    return versions, audits


def test_the_api_proposes_what_the_stored_leads_teach_and_saves_nothing(learning: Learning) -> None:
    before = _saved(learning.url)
    answer = learning.client.post(LEARN, json={}, headers=learning.admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = propose(
        outcomes_of(demo_history(), OutcomeStage.visited),
        Weights(),
        current_version=1,
        stage=OutcomeStage.visited,
    )
    assert body == json.loads(json.dumps(expected.json())), (
        "the stored leads read back as the history was drawn"
    )
    assert {
        "current",
        "proposed",
        "stage",
        "split",
        "positives",
        "negatives",
        "replay",
        "evidence",
        "message",
    } <= set(body)
    assert set(body["replay"]) >= {"current", "proposed", "difference_ci95"}
    assert set(body["replay"]["current"]) >= {"ndcg10", "ci95"}
    assert cosine(Weights(**body["proposed"]), TRUE) >= 0.9
    assert _saved(learning.url) == before, "a proposal is never applied"
    signed = learning.client.post(
        LEARN, json={"stage": "signed", "split": body["split"]}, headers=learning.admin
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["stage"] == "signed"
    assert signed.json()["positives"] < body["positives"]


def test_only_administrators_learn(learning: Learning) -> None:
    assert learning.client.post(LEARN, json={}).status_code == 401
    assert learning.client.post(LEARN, json={}, headers=learning.staff).status_code == 403


def test_bad_split_and_stage_are_named(learning: Learning) -> None:
    before = _saved(learning.url)
    outside = learning.client.post(LEARN, json={"split": "2001-01-01"}, headers=learning.admin)
    assert outside.status_code == 422
    assert "split" in outside.text
    assert "不在跟进记录的时间范围内" in outside.text
    for body in ({"stage": "won"}, {"split": "昨天"}, {"split": 20260101}, {"extra": 1}):
        answer = learning.client.post(LEARN, json=body, headers=learning.admin)
        assert answer.status_code == 422, body
        assert next(iter(body)) in answer.text
    assert _saved(learning.url) == before


def test_no_leads_is_a_clear_422(api: Api) -> None:
    answer = api.client.post(LEARN, headers=api.admin)
    assert answer.status_code == 422
    assert "还没有可学习的跟进记录" in answer.text


def test_the_command_line_prints_the_proposal_and_its_json(learning: Learning) -> None:
    table = runner.invoke(cli, ["weights", "learn"])
    assert table.exit_code == 0, table.output
    assert "从跟进结果学习（目标阶段：带看" in table.output
    assert "回放（合计" in table.output
    assert "rent" in table.output
    shaped = runner.invoke(cli, ["weights", "learn", "--json", "--stage", "visited"])
    assert shaped.exit_code == 0, shaped.output
    body = json.loads(shaped.output)
    api = learning.client.post(LEARN, json={}, headers=learning.admin).json()
    assert body == api, "the command line and the API give the same proposal"
    bad = runner.invoke(cli, ["weights", "learn", "--split", "1999-01-01"])
    assert bad.exit_code == 1
    assert "不在跟进记录的时间范围内" in bad.output
