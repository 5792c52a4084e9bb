"""The admin dashboard over HTTP: who may open it, and whether its figures are the database's."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import create_user
from api.config import Settings
from matcher.hashing import HashingEncoder
from migrations import migrate
from models.catalogue import iter_records
from models.database import make_engine, make_session_factory
from models.enums import District, FitOut, Industry, ScenarioDomain
from models.user import Role
from tests.api.conftest import Api

PAGE = "/admin/dashboard"
SAMPLE = 30
Table = dict[str, list[float]]
"""A table's body: each row's label with its figures."""


class DashboardParser(HTMLParser):
    """Collects every `table[data-figure]` (body rows and the sum row) and the page's chart data."""

    def __init__(self) -> None:
        """Start with nothing read."""
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.totals: dict[str, list[str]] = {}
        self.charts: list[dict[str, Any]] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._part = ""
        self._in_data = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Enter tables, rows, cells and the JSON block."""
        values = dict(attrs)
        figure = values.get("data-figure")
        if tag == "table" and figure:
            self._table = figure
            self.tables[figure] = []
        elif tag in ("thead", "tbody", "tfoot"):
            self._part = tag
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("th", "td") and self._row is not None:
            self._cell = []
        elif tag == "script" and values.get("id") == "dashboard-data":
            self._in_data = True

    def handle_endtag(self, tag: str) -> None:
        """Leave cells, rows and tables."""
        if tag in ("th", "td") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._table and self._row is not None:
            if self._part == "tfoot":
                self.totals[self._table] = self._row
            elif self._part == "tbody":
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "script":
            self._in_data = False

    def handle_data(self, data: str) -> None:
        """Keep cell text and the chart data."""
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_data:
            self.charts.extend(json.loads(data))


def number(cell: str) -> float:
    """A table figure as a number: `1,234`, `12.5%`."""
    return float(cell.replace(",", "").rstrip("%"))


def parse(html: str) -> tuple[dict[str, Table], dict[str, list[float]], DashboardParser]:
    """The page's tables as numbers, their sum rows, and the parser (for the chart data)."""
    parser = DashboardParser()
    parser.feed(html)
    tables = {
        key: {row[0]: [number(c) for c in row[1:]] for row in rows} for key, rows in parser.tables.items()
    }
    totals = {key: [number(c) for c in row[1:]] for key, row in parser.totals.items()}
    return tables, totals, parser


def expected_tables(
    buildings: Iterable[Mapping[str, Any]],
    firms: Iterable[Mapping[str, Any]],
    scenarios: Iterable[Mapping[str, Any]],
) -> dict[str, Table]:
    """Every catalogue table of the dashboard, counted here in plain Python from the records' values."""
    count: Counter[str] = Counter()
    area: defaultdict[tuple[str, str], float] = defaultdict(float)
    for building in buildings:
        count[building["district"]] += 1
        area[building["district"], building["fit_out"]] += building["vacant_area_m2"]
    industries: Counter[str] = Counter()
    wanted: Counter[str] = Counter()
    for firm in firms:
        industries.update(firm.get("industries") or [])
        wanted.update(firm.get("preferred_districts") or [])
    opened: Counter[str] = Counter()
    budget: defaultdict[str, float] = defaultdict(float)
    for scenario in scenarios:
        if scenario["status"] == "open":
            label = ScenarioDomain.parse(scenario["domain"]).label if scenario.get("domain") else "未分类"
            opened[label] += 1
            budget[label] += scenario["budget_wan_yuan"]
    domains = [domain.label for domain in ScenarioDomain] + (["未分类"] if "未分类" in opened else [])
    return {
        "buildings": {d.value: [count[d.value]] for d in District},
        "vacant-area": {
            d.value: [*(area[d.value, f.value] for f in FitOut), sum(area[d.value, f.value] for f in FitOut)]
            for d in District
        },
        "firms-industry": {industry.label: [industries[industry.value]] for industry in Industry},
        "firms-district": {d.value: [wanted[d.value]] for d in District},
        "scenarios-count": {label: [opened[label]] for label in domains},
        "scenarios-budget": {label: [budget[label]] for label in domains},
    }


def assert_tables_equal(shown: dict[str, Table], expected: dict[str, Table]) -> None:
    """Each expected table is on the page with the same labels, in order, and figures (areas to the ㎡)."""
    for key, rows in expected.items():
        assert list(shown[key]) == list(rows), key
        for label, figures in rows.items():
            assert shown[key][label] == pytest.approx(figures, abs=0.51), (key, label)


def _sign_in(api: Api, name: str, password: str) -> None:
    """Give the client the session cookie of a user."""
    answer = api.client.post("/api/v1/auth/login", json={"name": name, "password": password})
    assert answer.status_code == 200
    api.client.cookies.set("xingpei_session", answer.json()["token"])


def stored_records(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every stored record of each kind, as plain values."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        stored = {
            kind: [record.model_dump(mode="json") for record in iter_records(session, kind)]
            for kind in ("buildings", "enterprises", "scenarios")
        }
    engine.dispose()
    return stored


def _spread_from_api(api: Api) -> tuple[Counter[str], float]:
    """Districts of the top 10 buildings the matching API gives each sampled firm, and their mean HHI."""
    ids = sorted(firm["id"] for firm in _all_firms(api))
    taken = min(SAMPLE, len(ids))
    districts: Counter[str] = Counter()
    indexes = []
    for firm_id in (ids[index * len(ids) // taken] for index in range(taken)):
        answer = api.client.get(f"/api/v1/enterprises/{firm_id}/matches/buildings?k=10", headers=api.admin)
        listed = [result["district"] for result in answer.json()["results"]]
        districts.update(listed)
        if listed:
            indexes.append(sum((n / len(listed)) ** 2 for n in Counter(listed).values()))
    return districts, sum(indexes) / len(indexes)


def _all_firms(api: Api) -> list[dict[str, Any]]:
    """Every stored firm (the fixture holds 40), read through the catalogue API."""
    answer = api.client.get("/api/v1/enterprises?limit=100", headers=api.admin)
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == len(body["items"])
    return list(body["items"])


def _assert_spread_matches_api(api: Api, html: str) -> None:
    """The recommendation table and the index equal what the matching API recommends to the same firms."""
    tables, totals, _ = parse(html)
    districts, index = _spread_from_api(api)
    assert {label: figures[0] for label, figures in tables["recommendations"].items()} == {
        d.value: districts[d.value] for d in District
    }
    assert totals["recommendations"][0] == sum(districts.values())
    shown = re.search(r"单家企业推荐结果的区域 HHI 平均为 ([0-9.]+)", html)
    assert shown is not None
    assert float(shown.group(1)) == pytest.approx(index, abs=0.0005)


def test_anonymous_visitor_is_sent_to_login(api: Api) -> None:
    answer = api.client.get(PAGE, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/admin/dashboard"


def test_staff_see_the_403_page(api: Api) -> None:
    _sign_in(api, "staff", "招商密码")
    answer = api.client.get(PAGE)
    assert answer.status_code == 403
    assert "没有权限" in answer.text
    assert "dashboard-data" not in answer.text


def test_figures_equal_the_database(api: Api, fresh_database_url: str) -> None:
    _sign_in(api, "admin", "管理员密码")
    answer = api.client.get(PAGE)
    assert answer.status_code == 200
    stored = stored_records(fresh_database_url)
    tables, totals, parser = parse(answer.text)
    assert_tables_equal(
        tables, expected_tables(stored["buildings"], stored["enterprises"], stored["scenarios"])
    )
    assert totals["buildings"] == [len(stored["buildings"])]
    no_industry = sum(1 for firm in stored["enterprises"] if not firm["industries"])
    assert f"另有 {no_industry} 家未填写所属产业" in answer.text
    assert f"{len(stored['enterprises']):,} 家" in answer.text
    charted = {chart["key"]: chart for chart in parser.charts}
    assert list(charted) == list(tables)
    assert charted["buildings"]["series"][0]["values"] == [row[0] for row in tables["buildings"].values()]
    assert [s["label"] for s in charted["vacant-area"]["series"]] == [fit_out.label for fit_out in FitOut]
    assert [s["label"] for s in charted["recommendations"]["series"]] == ["推荐占比", "台账楼宇占比"]
    _assert_spread_matches_api(api, answer.text)


def test_figures_follow_catalogue_and_weights_changes(api: Api) -> None:
    _sign_in(api, "admin", "管理员密码")
    before, _, _ = parse(api.client.get(PAGE).text)
    building = {
        "id": "B-DASH-1",
        "name": "看板测试大厦",
        "district": "渝中区",
        "vacant_area_m2": 1234,
        "rent_yuan_m2_month": 30,
        "fit_out": "move_in_ready",
    }
    assert api.client.post("/api/v1/buildings", json=building, headers=api.admin).status_code == 201
    html = api.client.get(PAGE).text
    after, _, _ = parse(html)
    assert after["buildings"]["渝中区"] == [before["buildings"]["渝中区"][0] + 1]
    assert after["vacant-area"]["渝中区"][0] == pytest.approx(
        before["vacant-area"]["渝中区"][0] + 1234, abs=1
    )
    _assert_spread_matches_api(api, html)
    current = api.client.get("/api/v1/weights", headers=api.admin).json()
    weights = {**current["weights"], "spread": 0.0, "district": 0.5}
    body = {"weights": weights, "reason": "看板测试", "expected_version": current["version"]}
    assert api.client.put("/api/v1/weights", json=body, headers=api.admin).status_code == 200
    html = api.client.get(PAGE).text
    assert f"以当前权重（第 {current['version'] + 1} 版）" in html
    _assert_spread_matches_api(api, html)


def test_an_empty_catalogue_shows_zeros(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        _, token = create_user(session, name="admin", role=Role.admin, password="管理员密码")
    engine.dispose()
    app = create_app(Settings(database_url=fresh_database_url), encoder=HashingEncoder())
    with TestClient(app) as client:
        client.cookies.set("xingpei_session", token)
        answer = client.get(PAGE)
    assert answer.status_code == 200
    tables, totals, _ = parse(answer.text)
    assert totals["buildings"] == [0]
    assert tables["recommendations"]["渝中区"] == [0, 0, 0]
    assert "另有 0 家未填写所属产业" in answer.text
