"""A worker trusts what it holds for a moment: no round trip per match, yet other processes' changes show.

The clocks of the worker's `Interval` and `TokenCache` are replaced by a hand-moved one, so that "within
a second" is tested without waiting.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from api.auth import token_digest
from api.freshness import CHECK_SECONDS, TOKEN_SECONDS, Interval
from api.services import weights as weights_service
from api.services.write import Operator
from api.state import AppState, synchronise
from matcher.weights import Weights
from models.catalogue import delete_record
from models.catalogue_stamp import versions
from models.database import make_engine, make_session_factory
from models.user import ApiToken, Role, User
from models.weights_version import WeightsVersion
from tests.api.conftest import Api
from tests.sql_log import statements_run

FIRM_MATCHES = "/api/v1/buildings/B00001/matches/enterprises"


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        """Start at 1,000 s."""
        self.now = 1000.0

    def __call__(self) -> float:
        """The time."""
        return self.now


@dataclass
class Worker:
    """The app of the `api` fixture with a hand-moved clock, and a session of 'another process'."""

    api: Api
    state: AppState
    clock: Clock
    url: str

    def elsewhere(self) -> Session:
        """A session on its own engine, as the command line or another worker would write."""
        return make_session_factory(make_engine(self.url))()

    def a_period_later(self) -> None:
        """Let `CHECK_SECONDS` pass and one match start the check that falls due; wait for the check.

        A match on the event loop does not wait for that check itself (see
        `test_a_match_does_not_wait_for_the_check_it_starts`): what the check finds shows from then on.
        """
        self.clock.now += CHECK_SECONDS
        assert self.api.client.get(FIRM_MATCHES, headers=self.api.staff).status_code in (200, 404)
        self.settle()

    def settle(self) -> None:
        """Wait for the check a match started last, if any."""
        if self.state.checking is not None:
            self.state.checking.result()


@pytest.fixture
def worker(api: Api, fresh_database_url: str) -> Worker:
    """The `api` app, its checks and token look-ups timed by a `Clock`; one request has run already."""
    state: AppState = api.client.app.state.xingpei  # type: ignore[attr-defined]
    clock = Clock()
    state.checks = Interval(CHECK_SECONDS, clock)
    state.tokens.clock = clock
    ready = Worker(api, state, clock, fresh_database_url)
    assert api.client.get(FIRM_MATCHES, headers=api.staff).status_code == 200
    ready.settle()
    return ready


def test_interval_says_yes_first_then_once_per_period() -> None:
    clock = Clock()
    interval = Interval(0.25, clock)
    assert interval.due()
    assert not interval.due()
    clock.now += 0.2
    assert not interval.due()
    clock.now += 0.05
    assert interval.due()
    interval.expire()
    assert interval.due()


def test_matches_within_the_period_run_no_sql(worker: Worker) -> None:
    with statements_run() as statements:
        for _ in range(5):
            assert worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).status_code == 200
    assert statements == []
    worker.clock.now += CHECK_SECONDS + TOKEN_SECONDS
    with statements_run() as statements:
        assert worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).status_code == 200
        worker.settle()
    queries = [statement for statement in statements if statement != "BEGIN"]
    assert len(queries) == 2  # the token, then the stamps: nothing changed, nothing reloaded


def test_weights_saved_by_another_worker_show_once_the_period_is_over(worker: Worker) -> None:
    with worker.elsewhere() as session:
        weights = Weights(industry=1.0, semantic=0.0).model_dump()
        session.add(WeightsVersion(version=2, weights=weights, reason="另一进程", author="worker-2"))
        session.commit()
    assert worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).json()["weights_version"] == 1
    worker.a_period_later()
    answer = worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).json()
    assert answer["weights_version"] == 2
    assert all(result["components"]["semantic"] == 0.0 for result in answer["results"])


def test_a_service_write_of_this_process_shows_at_the_next_request(worker: Worker) -> None:
    """The command line's code path (`live=None`) run in this process: announced, so no period to wait."""
    with worker.elsewhere() as session:
        weights_service.save(
            session=session,
            actor=Operator("cli:test"),
            live=None,
            weights=Weights(industry=1.0, semantic=0.0),
            reason="命令行调整",
            expected_version=1,
        )
    assert worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).json()["weights_version"] == 2


def test_a_record_deleted_elsewhere_is_gone_once_the_period_is_over(worker: Worker) -> None:
    with worker.elsewhere() as session:
        assert delete_record(session, "buildings", "B00001")
        session.commit()
    worker.a_period_later()
    assert worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).status_code == 404


def test_a_match_does_not_wait_for_the_check_it_starts(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check runs on a thread of its own: the match that started it answers with what it held."""
    import api.state

    with worker.elsewhere() as session:
        weights = Weights(industry=1.0, semantic=0.0).model_dump()
        session.add(WeightsVersion(version=2, weights=weights, reason="另一进程", author="worker-2"))
        session.commit()
    release = threading.Event()
    synchronise = api.state.synchronise

    def held_up(state: AppState, session: Session) -> object:
        assert release.wait(10)
        return synchronise(state, session)

    monkeypatch.setattr(api.state, "synchronise", held_up)
    worker.clock.now += CHECK_SECONDS
    answer = worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).json()
    assert answer["weights_version"] == 1  # answered while the check waits
    assert worker.state.checking is not None
    assert not worker.state.checking.done()
    release.set()
    worker.settle()
    assert worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).json()["weights_version"] == 2


def test_own_writes_show_at_once_even_within_the_period(worker: Worker) -> None:
    current = worker.api.client.get("/api/v1/weights", headers=worker.api.admin).json()
    saved = worker.api.client.put(
        "/api/v1/weights",
        headers=worker.api.admin,
        json={
            "weights": {**current["weights"], "industry": 1.0, "semantic": 0.0},
            "reason": "本进程调整",
            "expected_version": current["version"],
        },
    )
    assert saved.status_code == 200, saved.text
    answer = worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).json()
    assert answer["weights_version"] == saved.json()["version"]
    assert worker.api.client.delete("/api/v1/buildings/B00001", headers=worker.api.admin).status_code in (
        200,
        204,
    )
    assert worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).status_code == 404


def test_a_deleted_token_stops_working_once_its_period_is_over(worker: Worker) -> None:
    token = worker.api.staff["Authorization"].removeprefix("Bearer ")
    with worker.elsewhere() as session:
        session.execute(delete(ApiToken).where(ApiToken.token_hash == token_digest(token)))
        session.commit()
    assert worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).status_code == 200
    worker.clock.now += TOKEN_SECONDS
    assert worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).status_code == 401


def test_a_role_changed_elsewhere_applies_once_its_period_is_over(worker: Worker) -> None:
    assert worker.api.client.get("/api/v1/weights", headers=worker.api.admin).status_code == 200
    with worker.elsewhere() as session:
        session.execute(update(User).where(User.name == "admin").values(role=Role.staff))
        session.commit()
    worker.clock.now += TOKEN_SECONDS
    current = worker.api.client.get("/api/v1/weights", headers=worker.api.admin).json()
    refused = worker.api.client.put(
        "/api/v1/weights",
        headers=worker.api.admin,
        json={"weights": current["weights"], "reason": "已降级", "expected_version": current["version"]},
    )
    assert refused.status_code == 403


def test_a_remembered_user_can_write(worker: Worker) -> None:
    """The user of a remembered token is attached to the request's session like one read from it."""
    assert worker.api.client.get(FIRM_MATCHES, headers=worker.api.admin).status_code == 200
    created = worker.api.client.post(
        "/api/v1/leads", headers=worker.api.admin, json={"enterprise_id": "E000001", "building_id": "B00002"}
    )
    assert created.status_code in (200, 201), created.text
    assert created.json()["owner"] == "admin"


def test_a_check_that_read_the_stamps_before_a_write_does_not_take_the_state_back(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check running beside a write of this process (on the `CHECKS` thread, or another request's) may
    read the stamps before the write and finish after it: the state keeps the write."""
    import api.state

    with worker.state.sessions() as session:
        before = versions(session)
    deleted = worker.api.client.delete("/api/v1/buildings/B00001", headers=worker.api.admin)
    assert deleted.status_code in (200, 204)
    stamps, table = dict(worker.state.catalogue_stamps), worker.state.recommender.tables["buildings"]
    monkeypatch.setattr(api.state, "versions", lambda session: before)
    with worker.state.sessions() as session:
        synchronise(worker.state, session)
    assert worker.state.catalogue_stamps == stamps
    assert worker.state.recommender.tables["buildings"] is table
    assert worker.api.client.get(FIRM_MATCHES, headers=worker.api.staff).status_code == 404
