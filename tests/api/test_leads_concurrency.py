"""People advancing leads at once through the HTTP API: one wins each race, and no building is over-signed.

Against a server on loopback, on SQLite and on PostgreSQL alike (`make test` runs the suite on both).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from api.app import create_app
from api.auth import create_user
from api.config import Settings
from matcher.hashing import HashingEncoder
from migrations import migrate
from models.catalogue import import_file
from models.database import make_engine, make_session_factory
from models.lead import Lead, LeadEvent
from models.user import Role
from tests.files import building, enterprise, jsonl
from tests.live import serving

V1 = "/api/v1"
RACERS = 6
LEADS = 8
VACANT = 1000.0
SIGNED = 400.0
"""Each racer signs this much of the one building: at most two of six fit."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Engine]]:
    """A server over one building and a dozen firms, a staff user's headers, and an engine on its database."""
    from tests.conftest import TEST_DATABASE_URL, create_postgres_database, drop_postgres_database

    name = ""
    if TEST_DATABASE_URL:
        url, name = create_postgres_database(TEST_DATABASE_URL)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('leads') / 'xingpei.db'}"
    engine = make_engine(url)
    migrate(engine)
    firms = [
        enterprise(id=f"E{n}", name=f"重庆并发测试企业{n}", credit_code=None) for n in range(LEADS + RACERS)
    ]
    with make_session_factory(engine).begin() as session:
        import_file(
            session, "buildings", jsonl(building(id="B1", vacant_area_m2=VACANT, min_unit_m2=None)), "b.jsonl"
        )
        import_file(session, "enterprises", jsonl(*firms), "e.jsonl")
        _, token = create_user(session, name="staff", role=Role.staff, password=None)
    app = create_app(Settings(database_url=url), encoder=HashingEncoder())
    with serving(app) as base:
        yield base, {"Authorization": f"Bearer {token}"}, engine
    engine.dispose()
    if name:
        drop_postgres_database(TEST_DATABASE_URL, name)


def _race(base: str, headers: dict[str, str], calls: list[Callable[[httpx.Client], int]]) -> Counter[int]:
    """Start every call at the same moment, each on its own connection; count the answers' statuses."""
    barrier = threading.Barrier(len(calls))
    statuses: Counter[int] = Counter()
    errors: list[BaseException] = []

    def run(call: Callable[[httpx.Client], int]) -> None:
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                barrier.wait()
                statuses[call(http)] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return statuses


def _start(base: str, headers: dict[str, str], firm: str) -> dict[str, Any]:
    """A new lead of a firm with the one building."""
    answer = httpx.post(
        f"{base}{V1}/leads", json={"enterprise_id": firm, "building_id": "B1"}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_two_people_advancing_one_lead_at_once_exactly_one_wins(
    server: tuple[str, dict[str, str], Engine],
) -> None:
    base, headers, engine = server
    for number in range(LEADS):
        lead = _start(base, headers, f"E{number}")
        body = {"stage": "contacted", "note": "", "expected_version": lead["version"]}

        def advance(http: httpx.Client, lead_id: int = lead["id"], body: dict[str, Any] = body) -> int:
            return http.post(f"{V1}/leads/{lead_id}/stage", json=body).status_code

        assert _race(base, headers, [advance] * RACERS) == Counter({200: 1, 409: RACERS - 1})
        with make_session_factory(engine)() as session:
            assert session.scalar(select(Lead.version).where(Lead.id == lead["id"])) == 2
            events = session.scalar(select(func.count()).where(LeadEvent.lead_id == lead["id"]))
            assert events == 2


def test_firms_signing_for_one_building_at_once_never_over_sign_it(
    server: tuple[str, dict[str, str], Engine],
) -> None:
    base, headers, engine = server
    leads = [_start(base, headers, f"E{LEADS + n}") for n in range(RACERS)]
    facts = {"signed_area_m2": SIGNED, "rent_yuan_m2_month": 80, "expected_headcount": 20}

    def signer(lead: dict[str, Any]) -> Callable[[httpx.Client], int]:
        body = {"stage": "signed", "note": "签约", "expected_version": lead["version"], **facts}
        return lambda http: http.post(f"{V1}/leads/{lead['id']}/stage", json=body).status_code

    statuses = _race(base, headers, [signer(lead) for lead in leads])
    assert statuses == Counter({200: int(VACANT // SIGNED), 422: RACERS - int(VACANT // SIGNED)})
    with make_session_factory(engine)() as session:
        signed = session.scalar(select(func.sum(Lead.signed_area_m2)).where(Lead.building_id == "B1"))
    assert signed == SIGNED * (VACANT // SIGNED)
    answer = httpx.post(
        f"{base}{V1}/match/buildings", json=enterprise(id="phone", required_area_m2=None), headers=headers
    )
    offered = [r for r in answer.json()["results"] if r["id"] == "B1"]
    assert offered, answer.text
    available = f"可租面积 {VACANT - signed:,.0f}㎡"
    assert available in offered[0]["reasons"], offered[0]["reasons"]
