"""Eight clients writing through the HTTP API at once: no 5xx, and the database holds what the answers said.

Each client makes 50 mixed writes (create, rename and delete its own buildings, import a small file,
save new weights, and change one enterprise that every client changes) against a server on loopback,
on SQLite and on PostgreSQL alike (`make test` runs the suite on both).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import Engine, func, select

from api.app import create_app
from api.auth import create_user
from api.config import Settings
from matcher.hashing import HashingEncoder
from matcher.weights import Weights
from migrations import migrate
from models.audit import AuditEntry
from models.building import Building
from models.catalogue import import_file
from models.database import make_engine, make_session_factory
from models.enterprise import Enterprise
from models.user import Role
from models.weights_version import WeightsVersion
from tests.files import building, enterprise, jsonl
from tests.live import serving

CLIENTS = 8
WRITES = 50
SHARED = "SHARED1"
"""The enterprise every client changes."""
OPERATIONS = {"create": 4, "rename": 3, "delete": 1, "import": 1, "weights": 1, "shared": 2}
"""How often each client picks each write."""


@dataclass
class Client:
    """What one client asked for and what the server answered."""

    number: int
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    names: dict[str, str | None] = field(default_factory=dict)
    """Its own buildings by id: the name the last successful answer gave, None once deleted."""
    weights: dict[int, dict[str, float]] = field(default_factory=dict)
    """The weights versions it saved, as the answers numbered them."""
    headcounts: list[int] = field(default_factory=list)
    """The shared enterprise's headcounts it saved."""

    def write(self, http: httpx.Client, rng: random.Random, step: int) -> None:
        """One write, picked at random; its answer is counted and, when it succeeded, remembered."""
        kind = rng.choices(list(OPERATIONS), weights=list(OPERATIONS.values()))[0]
        alive = sorted(key for key, name in self.names.items() if name is not None)
        if kind in ("rename", "delete") and not alive:
            kind = "create"
        if kind == "create":
            new = f"K{self.number}-{step}"
            answer = http.post("/api/v1/buildings", json=building(id=new, name=f"楼宇{new}"))
            if answer.status_code == 201:
                self.names[new] = answer.json()["name"]
        elif kind == "rename":
            target = rng.choice(alive)
            answer = http.patch(f"/api/v1/buildings/{target}", json={"name": f"改名{self.number}-{step}"})
            if answer.status_code == 200:
                self.names[target] = answer.json()["name"]
        elif kind == "delete":
            target = rng.choice(alive)
            answer = http.delete(f"/api/v1/buildings/{target}")
            if answer.status_code == 204:
                self.names[target] = None
        elif kind == "import":
            rows = [building(id=f"M{self.number}-{step}-{row}", name=f"导入{row}") for row in range(2)]
            answer = http.post("/api/v1/import/buildings", files={"file": ("b.jsonl", jsonl(*rows))})
            if answer.status_code == 200:
                self.names.update({row["id"]: row["name"] for row in rows})
        elif kind == "weights":
            current = http.get("/api/v1/weights").json()
            weights = {**current["weights"], "semantic": round(rng.random(), 3)}
            body = {
                "weights": weights,
                "reason": f"客户端{self.number}",
                "expected_version": current["version"],
            }
            answer = http.put("/api/v1/weights", json=body)
            if answer.status_code == 200:
                self.weights[answer.json()["version"]] = answer.json()["weights"]
        else:
            headcount = self.number * 1000 + step
            answer = http.patch(f"/api/v1/enterprises/{SHARED}", json={"headcount": headcount})
            if answer.status_code == 200:
                self.headcounts.append(answer.json()["headcount"])
        self.statuses[kind, answer.status_code] += 1


ALLOWED = {
    "create": {201},
    "rename": {200},
    "delete": {204},
    "import": {200},
    "weights": {200, 409},
    "shared": {200},
}
"""What each write may answer: only a weights save based on a version saved meanwhile loses (409)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Engine]]:
    """A server over a few records, an admin's token, and an engine on its database."""
    from tests.conftest import TEST_DATABASE_URL, create_postgres_database, drop_postgres_database

    name = ""
    if TEST_DATABASE_URL:
        url, name = create_postgres_database(TEST_DATABASE_URL)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('writers') / 'xingpei.db'}"
    engine = make_engine(url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        import_file(session, "buildings", jsonl(*(building(id=f"B{n}") for n in range(5))), "b.jsonl")
        import_file(session, "enterprises", jsonl(enterprise(id=SHARED, headcount=1)), "e.jsonl")
        _, token = create_user(session, name="admin", role=Role.admin, password=None)
    app = create_app(Settings(database_url=url), encoder=HashingEncoder())
    with serving(app) as base:
        yield base, token, engine
    engine.dispose()
    if name:
        drop_postgres_database(TEST_DATABASE_URL, name)


def _headcount(entry: AuditEntry) -> int:
    """The shared enterprise's headcount after an audited change."""
    assert isinstance(entry.after, dict)
    return int(entry.after["headcount"])


def _run(base: str, token: str, client: Client, errors: list[BaseException]) -> None:
    """One client's writes, one after the other, as fast as the server answers."""
    rng = random.Random(client.number)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            for step in range(WRITES):
                client.write(http, rng, step)
    except BaseException as exc:
        errors.append(exc)


def test_eight_clients_writing_at_once_get_no_5xx_and_lose_nothing(
    server: tuple[str, str, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    base, token, engine = server
    clients = [Client(number) for number in range(CLIENTS)]
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_run, args=(base, token, client, errors)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    statuses = sum((client.statuses for client in clients), Counter())
    with capsys.disabled():
        print(
            f"\n{CLIENTS} clients × {WRITES} writes on {engine.dialect.name}:", dict(sorted(statuses.items()))
        )
    assert sum(statuses.values()) == CLIENTS * WRITES
    unexpected = {key: count for key, count in statuses.items() if key[1] not in ALLOWED[key[0]]}
    assert not unexpected, f"answers outside the contract: {unexpected}"

    with make_session_factory(engine)() as session:
        names = {row.id: row.name for row in session.execute(select(Building.id, Building.name))}
        for client in clients:
            for record_id, name in client.names.items():
                assert names.get(record_id) == name, (record_id, names.get(record_id), name)
        saved = {version: weights for client in clients for version, weights in client.weights.items()}
        assert sum(len(client.weights) for client in clients) == len(saved), "a version number given twice"
        stored: dict[int, dict[str, float]] = dict(
            session.execute(select(WeightsVersion.version, WeightsVersion.weights)).all()
        )
        assert set(stored) == {1, *saved}
        assert all(Weights(**stored[version]) == Weights(**weights) for version, weights in saved.items())
        changes = session.scalars(
            select(AuditEntry).where(AuditEntry.target_id == SHARED).order_by(AuditEntry.id)
        ).all()
        answered = sorted(headcount for client in clients for headcount in client.headcounts)
        assert sorted(_headcount(entry) for entry in changes) == answered
        final = session.scalar(select(Enterprise.headcount).where(Enterprise.id == SHARED))
        assert final == (_headcount(changes[-1]) if changes else 1)
        total = session.scalar(select(func.count()).select_from(Building))

    headers = {"Authorization": f"Bearer {token}"}
    httpx.get(f"{base}/api/v1/enterprises/{SHARED}/matches/buildings", headers=headers).raise_for_status()
    health = httpx.get(f"{base}/healthz").json()
    assert health["index"]["buildings"] == total, (
        "after a match, the recommender holds what the database holds"
    )
    assert health["weights_version"] == max(stored)
