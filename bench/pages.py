"""Server-side render time of every web page on the bundled demo data, in process.

Usage: python bench/pages.py [--fake-encoder] [-n 30]   (run from the repository root)

Builds a temporary SQLite database with the demo catalogue (1,200 firms, 320 buildings, 320
scenarios) and an admin user, starts the app with `fastapi.testclient.TestClient` and the configured
embedding model (`--fake-encoder`: the hashing encoder of `matcher.hashing`, for a quick run), signs in
with a session cookie, then times N GETs of each page after 3
warm-ups with `time.perf_counter` around the request. The first start with the real model encodes
every catalogue text once (not timed). A page that answers 404 is listed as missing. The dashboard is
timed twice: as served (its recommendation spread cached) and with that cache emptied before every
request (the first view after the catalogue or the weights change).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

os.environ.setdefault("OMP_NUM_THREADS", "2")

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import create_user
from api.config import Settings
from api.web import indicators
from api.web.session import SESSION_COOKIE
from demo.bundle import load_demo
from matcher.encoder import Encoder
from matcher.hashing import HashingEncoder
from migrations import migrate
from models.building import Building
from models.clock import china_today
from models.database import make_engine, make_session_factory
from models.enterprise import Enterprise
from models.enums import ScenarioStatus
from models.lead import Lead, LeadKind
from models.scenario import Scenario, taking_applications
from models.user import Role

ADMIN, PASSWORD = "bench-admin", "基准测试密码2026"
WARM_UP = 3
BUDGET_MS = 300.0
ADHOC_PROFILE = {
    "description": "做工业互联网平台和设备数据采集的软件企业，研发团队约 60 人，想找拎包入住的办公室",
    "required_area_m2": "800",
    "max_rent_yuan_m2_month": "60",
    "preferred_districts": "两江新区",
}


@dataclass(frozen=True)
class Row:
    """One page's timings (empty when it could not be timed)."""

    path: str
    status: str
    times_ms: list[float]

    def line(self) -> str:
        """The row of the printed table; a page is within budget when its p90 is."""
        if not self.times_ms:
            return f"{self.path:<64}{self.status:>8}"
        p50 = statistics.median(self.times_ms)
        p90 = statistics.quantiles(self.times_ms, n=10)[-1]
        verdict = "yes" if p90 <= BUDGET_MS else "NO"
        return f"{self.path:<64}{self.status:>8}{p50:>9.1f}{p90:>9.1f}{max(self.times_ms):>9.1f}{verdict:>10}"


def build_database(folder: Path) -> str:
    """A migrated SQLite database holding the demo catalogue and an admin user; return its URL."""
    url = f"sqlite:///{folder / 'pages.db'}"
    engine = make_engine(url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        load_demo(session)
        create_user(session, name=ADMIN, role=Role.admin, password=PASSWORD)
    engine.dispose()
    return url


def choose_encoder(fake: bool) -> Encoder | None:
    """The model-free hashing encoder with `--fake-encoder`; None lets the app load the configured model."""
    if not fake:
        return None
    return HashingEncoder()


def _first(session: Session, statement: sa.Select[Any]) -> str:
    """The first id a query finds."""
    return str(session.scalars(statement.limit(1)).one())


def page_paths(url: str) -> list[tuple[str, str]]:
    """Every page worth timing (its label and path), ids taken from the database."""
    engine = make_engine(url)
    with Session(engine) as session:
        scenario = _first(
            session,
            sa.select(Scenario.id)
            .where(Scenario.status == ScenarioStatus.open)
            .order_by(taking_applications(china_today()).desc(), Scenario.id),
        )
        firm = _first(
            session,
            sa.select(Enterprise.id)
            .where(sa.func.json_array_length(Enterprise.preferred_districts) > 0)
            .order_by(Enterprise.id),
        )
        building = _first(session, sa.select(Building.id).order_by(Building.id))
        lead = _first(session, sa.select(Lead.id).where(Lead.kind == LeadKind.building).order_by(Lead.id))
        courted = _first(
            session, sa.select(Lead.enterprise_id).where(Lead.kind == LeadKind.building).order_by(Lead.id)
        )
    engine.dispose()
    typed_in = f"/find/buildings?{urlencode(ADHOC_PROFILE)}"
    labels = {typed_in: "/find/buildings?description=… (typed-in profile)"}
    paths = [
        "/",
        "/login",
        "/scenarios",
        f"/scenarios?firm={firm}",
        f"/scenarios/{scenario}",
        "/find/buildings",
        f"/find/buildings?firm={firm}",
        typed_in,
        "/find/firms",
        f"/find/firms?building={building}",
        "/leads",
        f"/leads/{lead}",
        f"/leads/compare?enterprise={courted}",
        f"/letter/{courted}",
        "/indicators",
        "/admin/weights",
        "/admin/data",
        f"/admin/data/buildings/{building}",
        "/admin/dashboard",
    ]
    return [(labels.get(path, path), path) for path in paths]


def sign_in(client: TestClient) -> None:
    """Give the client the admin's session cookie and a CSRF cookie."""
    answer = client.post("/api/v1/auth/login", json={"name": ADMIN, "password": PASSWORD})
    answer.raise_for_status()
    client.cookies.set(SESSION_COOKIE, answer.json()["token"])
    client.get("/login")


def time_page(
    client: TestClient, path: str, runs: int, before: Callable[[], None] = lambda: None, label: str = ""
) -> Row:
    """Warm up, then time `runs` GETs of a page; a 404 is reported as missing."""
    for _ in range(WARM_UP):
        before()
        status = client.get(path, follow_redirects=False).status_code
        if status == 404:
            return Row(label or path, "missing", [])
    times = []
    for _ in range(runs):
        before()
        started = time.perf_counter()
        status = client.get(path, follow_redirects=False).status_code
        times.append((time.perf_counter() - started) * 1000)
    return Row(label or path, str(status), times)


def main(argv: Sequence[str]) -> None:
    """Time every page and print the table."""
    parser = argparse.ArgumentParser(description="Render time of every web page on the demo data.")
    parser.add_argument("--fake-encoder", action="store_true", help="use the model-free hashing encoder")
    parser.add_argument("-n", type=int, default=30, help="timed requests per page (default 30)")
    options = parser.parse_args(argv)
    settings = Settings()
    encoder = choose_encoder(options.fake_encoder)
    if encoder is None and not Path(settings.embedding_model).is_dir():
        sys.exit(f"找不到嵌入模型 {settings.embedding_model}：请在仓库根目录运行，或先 make model")
    with tempfile.TemporaryDirectory() as folder:
        url = build_database(Path(folder))
        app = create_app(settings.model_copy(update={"database_url": url}), encoder=encoder)
        started = time.perf_counter()
        with TestClient(app, raise_server_exceptions=False) as client:
            loaded = time.perf_counter() - started
            sign_in(client)
            paths = page_paths(url)
            model = "hashing test encoder" if encoder else settings.embedding_model
            print(
                f"demo data, SQLite; encoder: {model} (start-up {loaded:.1f} s); "
                f"{options.n} timed GETs per page after {WARM_UP} warm-ups; "
                f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
            )
            print(f"{'path':<64}{'status':>8}{'p50 ms':>9}{'p90 ms':>9}{'max ms':>9}{'≤300 ms?':>10}")
            for label, path in paths:
                print(time_page(client, path, options.n, label=label).line(), flush=True)
            cold = time_page(
                client,
                "/admin/dashboard",
                options.n,
                indicators.clear_cache,
                "/admin/dashboard (spread not cached)",
            )
            print(cold.line())
    print("≤300 ms? judges the p90; times are server-side, through TestClient in this process.")


if __name__ == "__main__":
    main(sys.argv[1:])
