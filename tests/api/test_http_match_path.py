"""The HTTP path of a match: on the event loop or one worker thread, no request session, the answer FastAPI
would send."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from pydantic import ValidationError
from sqlalchemy import inspect

from api.auth import TokenCache, create_user, token_digest
from api.freshness import CHECK_SECONDS, Interval
from api.schemas import MatchAnswer, match_answer_json
from api.state import AppState
from models.user import Role
from tests.api.conftest import Api
from tests.files import enterprise
from tests.sql_log import statements_run

FIRM_MATCHES = "/api/v1/enterprises/E000001/matches/buildings"


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        """Start at 1,000 s."""
        self.now = 1000.0

    def __call__(self) -> float:
        """The time."""
        return self.now


def _state(api: Api) -> AppState:
    """The app state of the `api` fixture."""
    state: AppState = api.client.app.state.xingpei  # type: ignore[attr-defined]
    return state


@pytest.fixture
def still(api: Api) -> Api:
    """The `api` app with its checks and token look-ups timed by a `Clock` that stands still."""
    state = _state(api)
    clock = Clock()
    state.checks = Interval(CHECK_SECONDS, clock)
    state.tokens.clock = clock
    return api


@pytest.fixture
def handed_off(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions handed to worker threads while the test runs."""
    names: list[str] = []
    original = anyio.to_thread.run_sync

    async def counting(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        called = getattr(function, "func", function)
        names.append(getattr(called, "__qualname__", repr(called)))
        return await original(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return names


def test_a_stored_match_with_a_remembered_token_takes_no_worker_thread_and_no_sql(
    still: Api, handed_off: list[str]
) -> None:
    assert still.client.get(FIRM_MATCHES, headers=still.staff).status_code == 200  # the token is remembered
    handed_off.clear()
    with statements_run() as statements:
        assert still.client.get(FIRM_MATCHES, headers=still.staff).status_code == 200
    assert handed_off == []  # matched on the event loop: no session, no sync user look-up, no validation
    assert statements == []


ON_THREAD = "answer.<locals>.on_thread"


def test_stored_matches_stay_on_the_event_loop_and_ad_hoc_ones_take_one_worker_thread(
    api: Api, handed_off: list[str]
) -> None:
    firm = enterprise(id="ADHOC1", description="专注芯片设计与流片验证的企业", required_area_m2=500)
    calls = [
        ("GET", FIRM_MATCHES, None, []),
        ("GET", "/api/v1/enterprises/E000001/matches/scenarios", None, []),
        ("GET", "/api/v1/buildings/B00001/matches/enterprises", None, []),
        ("GET", "/api/v1/scenarios/S00001/matches/enterprises", None, []),
        ("POST", "/api/v1/match/buildings", firm, [ON_THREAD]),  # the profile is encoded off the loop
        ("POST", "/api/v1/match/scenarios", firm, [ON_THREAD]),
    ]
    api.client.get(FIRM_MATCHES, headers=api.staff)
    for method, url, body, threads in calls:
        handed_off.clear()
        response = api.client.request(method, url, headers=api.staff, json=body)
        assert response.status_code == 200, (url, response.text)
        assert handed_off == threads, url


def test_a_table_scanned_on_a_second_thread_is_matched_on_a_worker_thread(
    still: Api, handed_off: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from matcher import ranking

    on_loop = still.client.get(FIRM_MATCHES, headers=still.staff)
    monkeypatch.setattr(ranking, "PARALLEL_SCAN_ROWS", 1)
    handed_off.clear()
    on_thread = still.client.get(FIRM_MATCHES, headers=still.staff)
    assert handed_off == [ON_THREAD]
    assert on_thread.content == on_loop.content


def test_an_unseen_token_is_read_once_in_a_session_of_its_own(still: Api, handed_off: list[str]) -> None:
    api, state = still, _state(still)
    assert api.client.get(FIRM_MATCHES, headers=api.staff).status_code == 200  # the stamps are checked
    if state.checking is not None:  # the first match's check ran on a thread of its own
        state.checking.result()
    handed_off.clear()
    with state.sessions.begin() as session:
        _, token = create_user(session, name="newcomer", role=Role.staff, password=None)
    headers = {"Authorization": f"Bearer {token}"}
    with statements_run() as statements:
        assert api.client.get(FIRM_MATCHES, headers=headers).status_code == 200
    assert handed_off == ["TokenCache.look_up"]
    assert [statement for statement in statements if statement != "BEGIN"] == [
        next(statement for statement in statements if "api_token" in statement)
    ]
    with statements_run() as statements:
        assert api.client.get(FIRM_MATCHES, headers=headers).status_code == 200
    assert statements == []


def test_who_may_ask_is_unchanged(api: Api) -> None:
    bad = {"Authorization": "Bearer not-a-token"}
    anonymous = api.client.get(FIRM_MATCHES)
    assert anonymous.status_code == 401
    assert anonymous.json() == {"detail": "需要登录"}
    assert anonymous.headers["www-authenticate"] == "Bearer"
    unknown = api.client.get(FIRM_MATCHES, headers=bad)
    assert unknown.status_code == 401
    assert unknown.json() == {"detail": "令牌无效或已失效"}
    assert api.client.get(FIRM_MATCHES, params={"k": 0}).status_code == 401  # who first, then what
    assert api.client.get(FIRM_MATCHES, params={"k": 0}, headers=api.staff).status_code == 422
    assert api.client.get("/api/v1/enterprises/NOPE/matches/buildings", headers=api.staff).status_code == 404
    firm = enterprise(id="ADHOC1", description="软件外包", required_area_m2=300)
    assert api.client.post("/api/v1/match/scenarios", json=firm).status_code == 200  # anyone, for a profile
    assert api.client.post("/api/v1/match/scenarios", json=firm, headers=bad).status_code == 401
    assert api.client.post("/api/v1/match/buildings", json=firm).status_code == 401


def test_the_answer_is_what_fastapi_would_send(api: Api) -> None:
    response = api.client.get("/api/v1/enterprises/E000003/matches/buildings?k=5", headers=api.staff)
    assert response.headers["content-type"] == "application/json"
    assert response.content == MatchAnswer.model_validate(response.json()).model_dump_json().encode()
    assert len(response.json()["results"]) == 5


def test_an_answer_is_still_checked_against_its_schema() -> None:
    answer = {
        "results": [],
        "requested": 10,
        "eligible": 0,
        "excluded": {},
        "note": None,
        "industries": [],
        "weights_version": 1,
    }
    assert json.loads(match_answer_json(answer)) == answer
    with pytest.raises(ValidationError):
        match_answer_json({**answer, "weights_version": "第一版"})


def test_a_remembered_user_is_in_no_session_and_forgotten_after_its_period(api: Api) -> None:
    state = _state(api)
    clock = Clock()
    tokens = TokenCache(seconds=0.5, clock=clock)
    staff_token = api.staff["Authorization"].removeprefix("Bearer ")
    assert tokens.remembered(staff_token) is None
    read = tokens.look_up(state.sessions, staff_token)
    assert read is not None
    assert read.name == "staff"
    assert inspect(read).detached
    remembered = tokens.remembered(staff_token)
    assert remembered is not None
    assert remembered.role == Role.staff
    assert inspect(remembered).detached
    assert remembered is not tokens.remembered(staff_token)  # a copy each time: no request sees another's
    clock.now += 0.5
    assert tokens.remembered(staff_token) is None


def test_an_unknown_token_is_not_remembered(api: Api) -> None:
    tokens = TokenCache()
    assert tokens.look_up(_state(api).sessions, "不是令牌") is None
    assert token_digest("不是令牌") not in tokens._seen


def test_a_remembered_token_is_checked_without_copying_its_user(
    still: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert still.client.get(FIRM_MATCHES, headers=still.staff).status_code == 200  # the token is remembered

    def copied(self: TokenCache, token: str) -> None:
        raise AssertionError("a match built a copy of its user")

    monkeypatch.setattr(TokenCache, "remembered", copied)
    firm = enterprise(id="ADHOC1", description="软件外包", required_area_m2=300)
    assert still.client.get(FIRM_MATCHES, headers=still.staff).status_code == 200
    assert still.client.post("/api/v1/match/scenarios", json=firm, headers=still.staff).status_code == 200


def test_a_token_is_known_for_its_period_only(api: Api) -> None:
    clock = Clock()
    tokens = TokenCache(seconds=0.5, clock=clock)
    staff_token = api.staff["Authorization"].removeprefix("Bearer ")
    assert not tokens.knows(staff_token)
    assert tokens.look_up(_state(api).sessions, staff_token) is not None
    assert tokens.knows(staff_token)
    clock.now += 0.5
    assert not tokens.knows(staff_token)
    assert tokens.look_up(_state(api).sessions, "不是令牌") is None
    assert not tokens.knows("不是令牌")
