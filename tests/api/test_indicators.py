"""The plan's indicators over HTTP, API and page: figures equal hand sums of leads built by the service."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from api.services import leads
from api.services.write import Operator
from api.state import AppState
from models.building import Building
from models.clock import CHINA, china_today
from models.enterprise import Enterprise
from models.enums import ScenarioStatus
from models.lead import Lead, LeadEvent, LeadKind, Stage
from models.lead_facts import StageChange
from models.scenario import Scenario
from tests.api.conftest import Api
from tests.api.test_admin_pages_http import ADMIN, STAFF, sign_in
from tests.api.test_dashboard_http import DashboardParser

V1 = "/api/v1"
ACTOR = Operator("测试员")
BASE = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
"""When the backdated leads of the timing test were started."""


@dataclass(frozen=True)
class Place:
    """A stored building and its district."""

    id: str
    district: str


@dataclass
class Pipeline:
    """Starts and moves leads through the leads service, as a staff member's clicks would."""

    state: AppState

    def start(self, firm: str, offer: str, kind: LeadKind = LeadKind.building) -> int:
        """A new lead at 推介/推荐 (without a match: the tests set ranks themselves)."""
        with self.state.sessions() as session:
            lead = leads.start(
                session=session,
                actor=ACTOR,
                live=self.state,
                state=None,
                enterprise=firm,
                kind=kind,
                offer_id=offer,
            )
            return lead.id

    def move(self, lead_id: int, stage: Stage, **facts: Any) -> None:
        """Move a lead on with the stage's facts."""
        with self.state.sessions() as session:
            version = leads.get(session, lead_id).version
            change = StageChange(stage=stage, expected_version=version, **facts)
            leads.advance(session=session, actor=ACTOR, live=self.state, lead_id=lead_id, change=change)

    def sign(self, lead_id: int, area: float) -> None:
        """Move a lead to 签约 for `area` ㎡."""
        self.move(lead_id, Stage.signed, signed_area_m2=area, rent_yuan_m2_month=55, expected_headcount=20)

    def update(self, statement: Any) -> None:
        """Write to the database directly: backdated times and ranks, which no service lets anyone set."""
        with self.state.sessions.begin() as session:
            session.execute(statement)


def _pipeline(api: Api) -> Pipeline:
    """The app's own state, for the service calls."""
    return Pipeline(api.client.app.state.xingpei)  # type: ignore[attr-defined]


def _places(pipeline: Pipeline, count: int, avoid: str | None = None) -> list[Place]:
    """Buildings with room for 600 ㎡, each in another district (not `avoid`)."""
    with pipeline.state.sessions() as session:
        rows = session.execute(
            sa.select(Building.id, Building.district)
            .where(Building.vacant_area_m2 >= 600, Building.district != avoid)
            .order_by(Building.id)
        )
        by_district = {district.value: Place(id, district.value) for id, district in rows}
    assert len(by_district) >= count
    return sorted(by_district.values(), key=lambda place: place.district)[:count]


def _firms(pipeline: Pipeline) -> list[tuple[str, str | None]]:
    """Stored firms' ids and origins."""
    with pipeline.state.sessions() as session:
        rows = session.execute(sa.select(Enterprise.id, Enterprise.origin).order_by(Enterprise.id))
        return [(firm, origin.value if origin else None) for firm, origin in rows]


def _open_scenario(pipeline: Pipeline) -> tuple[str, str | None]:
    """An open scenario still taking applications, and its district."""
    with pipeline.state.sessions() as session:
        row = session.execute(
            sa.select(Scenario.id, Scenario.district)
            .where(Scenario.status == ScenarioStatus.open)
            .where(sa.or_(Scenario.deadline.is_(None), Scenario.deadline >= china_today()))
            .order_by(Scenario.id)
        ).first()
    assert row is not None
    return row[0], row[1].value if row[1] else None


def _read(api: Api, **params: str) -> dict[str, Any]:
    """`GET /indicators` as staff."""
    answer = api.client.get(f"{V1}/indicators", params=params, headers=api.staff)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


FIVE = ("area_used_m2", "firms_landed", "jobs", "scenarios_won", "contract_wan_yuan")


def _five(figures: dict[str, Any]) -> tuple[Any, ...]:
    """The five figures of a scope."""
    return tuple(figures[name] for name in FIVE)


def test_figures_are_the_sums_of_the_leads_overall_per_district_and_per_month(api: Api) -> None:
    pipeline = _pipeline(api)
    scenario, scenario_district = _open_scenario(pipeline)
    north, south, west = _places(pipeline, 3, avoid=scenario_district)
    firms = _firms(pipeline)
    signed = pipeline.start(firms[0][0], north.id)
    pipeline.move(signed, Stage.contacted)
    pipeline.sign(signed, 600)
    moved = pipeline.start(firms[1][0], south.id)
    pipeline.sign(moved, 400)
    pipeline.move(moved, Stage.moved_in, moved_in_on=china_today().isoformat(), actual_headcount=30)
    lost = pipeline.start(firms[2][0], west.id)
    pipeline.sign(lost, 250)
    pipeline.move(lost, Stage.lost, lost_reason="cost")
    won = pipeline.start(firms[0][0], scenario, LeadKind.scenario)
    pipeline.move(won, Stage.won, contract_wan_yuan=120)
    old = pipeline.start(firms[3][0], north.id)
    pipeline.update(sa.update(Lead).where(Lead.id == old).values(created_at=BASE - timedelta(days=700)))

    city = _read(api)
    assert _five(city) == (1000.0, 1, 30, 1, 120.0)
    assert city["scope"] == "全市"
    assert city["targets"]["area_used_m2"] == {"target": 2_000_000.0, "progress": 1000 / 2_000_000}
    assert city["targets"]["jobs"] == {"target": 200_000.0, "progress": 30 / 200_000}
    assert city["targets"]["scenarios_won"] == {"target": None, "progress": None}
    assert _five(city["by_district"][north.district]) == (600.0, 0, 0, 0, 0.0)
    assert _five(city["by_district"][south.district]) == (400.0, 1, 30, 0, 0.0)
    assert _five(city["by_district"][west.district]) == (0.0, 0, 0, 0, 0.0)
    if scenario_district is not None:
        assert city["by_district"][scenario_district]["scenarios_won"] == 1
    origins = {row["code"]: row for row in city["by_origin"]}
    assert origins[firms[1][1]]["firms_landed"] == 1
    assert origins[firms[1][1]]["jobs"] == 30
    assert sum(row["firms_landed"] for row in city["by_origin"]) == 1
    assert sum(row["jobs"] for row in city["by_industry"]) == 30

    months = [row["month"] for row in city["monthly"]]
    assert len(months) == 18
    assert months[-1] == f"{china_today():%Y-%m}"
    now = city["monthly"][-1]
    assert (now["started"], now["signed"], now["moved_in"], now["area_m2"], now["jobs"]) == (
        4,
        2,
        1,
        1000.0,
        30,
    )
    assert sum(row["started"] for row in city["monthly"]) == 4  # the lead started 700 days ago is outside

    south_only = _read(api, district=south.district)
    assert south_only["scope"] == south.district
    assert _five(south_only) == (400.0, 1, 30, 0, 0.0)
    assert list(south_only["by_district"]) == [south.district]
    assert south_only["targets"]["area_used_m2"] == {"target": None, "progress": None}
    assert south_only["funnel"]["building"]["stages"][0]["reached"] == 1


def test_a_lead_started_late_at_night_counts_in_chinas_month(api: Api) -> None:
    pipeline = _pipeline(api)
    (place,) = _places(pipeline, 1)
    lead = pipeline.start(_firms(pipeline)[0][0], place.id)
    today = china_today()
    month_start = date(today.year - (today.month <= 2), (today.month - 3) % 12 + 1, 1)
    just_after_midnight = datetime(month_start.year, month_start.month, 1, 0, 30, tzinfo=CHINA)
    pipeline.update(sa.update(Lead).where(Lead.id == lead).values(created_at=just_after_midnight))
    assert just_after_midnight.astimezone(UTC).month != month_start.month
    started = {row["month"]: row["started"] for row in _read(api)["monthly"]}
    assert started[f"{month_start:%Y-%m}"] == 1
    assert sum(started.values()) == 1


def _backdate(pipeline: Pipeline, lead: int, days: dict[Stage, float]) -> None:
    """Set when each of a lead's stages was reached, in days after `BASE`."""
    for stage, after in days.items():
        pipeline.update(
            sa.update(LeadEvent)
            .where(LeadEvent.lead_id == lead, LeadEvent.stage == stage)
            .values(at=BASE + timedelta(days=after))
        )


def test_funnel_counts_conversion_median_days_and_losses(api: Api) -> None:
    pipeline = _pipeline(api)
    places = _places(pipeline, 5)
    firms = _firms(pipeline)
    started = [pipeline.start(firm, place.id) for (firm, _), place in zip(firms, places, strict=False)]
    first, second, third, _untouched, fifth = started
    pipeline.move(first, Stage.contacted)
    pipeline.move(first, Stage.visited)
    pipeline.move(first, Stage.lost, lost_reason="space")
    pipeline.move(second, Stage.contacted)
    pipeline.move(third, Stage.visited)  # 接洽 skipped: counts as passed
    pipeline.move(fifth, Stage.contacted)
    _backdate(pipeline, first, {Stage.recommended: 0, Stage.contacted: 2, Stage.visited: 5, Stage.lost: 6.5})
    _backdate(pipeline, second, {Stage.recommended: 0, Stage.contacted: 4})
    _backdate(pipeline, third, {Stage.recommended: 0, Stage.visited: 9})
    _backdate(pipeline, fifth, {Stage.recommended: 0, Stage.contacted: 10})

    funnel = _read(api)["funnel"]["building"]
    rows = {row["stage"]: row for row in funnel["stages"]}
    assert [row["stage"] for row in funnel["stages"]] == [
        "recommended",
        "contacted",
        "visited",
        "intent",
        "signed",
        "moved_in",
    ]
    assert [row["reached"] for row in funnel["stages"]] == [5, 4, 2, 0, 0, 0]
    assert rows["recommended"]["conversion"] is None
    assert rows["contacted"]["conversion"] == pytest.approx(4 / 5)
    assert rows["visited"]["conversion"] == pytest.approx(2 / 4)
    assert rows["intent"]["conversion"] == 0.0
    assert rows["signed"]["conversion"] is None
    assert rows["contacted"]["median_days"] == pytest.approx(4.0)  # 2, 4, 10
    assert rows["visited"]["median_days"] == pytest.approx(6.0)  # 3 (from 接洽), 9 (from 推介)
    assert rows["intent"]["median_days"] is None
    assert rows["visited"]["lost"] == 1
    assert funnel["lost"] == 1
    assert funnel["lost_median_days"] == pytest.approx(1.5)
    reasons = {row["reason"]: row["leads"] for row in funnel["loss_reasons"]}
    assert reasons["space"] == 1
    assert sum(reasons.values()) == 1
    scenario_funnel = _read(api)["funnel"]["scenario"]
    assert [row["label"] for row in scenario_funnel["stages"]] == [
        "推荐",
        "报名揭榜",
        "入围",
        "中标",
        "未中标",
    ]
    assert all(row["reached"] == 0 for row in scenario_funnel["stages"])


def test_conversion_by_recommended_rank_and_weights_version(api: Api) -> None:
    pipeline = _pipeline(api)
    places = _places(pipeline, 6)
    firms = _firms(pipeline)
    plan = [  # rank, weights version, stage reached
        (1, 1, Stage.visited),
        (1, 1, None),
        (2, 2, Stage.signed),
        (5, 2, Stage.contacted),
        (12, None, Stage.visited),
        (None, None, None),
    ]
    for (firm, _), place, (rank, version, stage) in zip(firms, places, plan, strict=False):
        lead = pipeline.start(firm, place.id)
        pipeline.update(
            sa.update(Lead).where(Lead.id == lead).values(match_rank=rank, match_weights_version=version)
        )
        if stage == Stage.signed:
            pipeline.sign(lead, 100)
        elif stage is not None:
            pipeline.move(lead, stage)

    city = _read(api)
    ranks = {row["bucket"]: row for row in city["by_rank"]}
    assert list(ranks) == ["1", "2", "3", "4-5", "6-10", ">10"]
    counts = {
        bucket: (row["leads"], row["reached_visited"], row["reached_signed"]) for bucket, row in ranks.items()
    }
    assert counts == {
        "1": (2, 1, 0),
        "2": (1, 1, 1),
        "3": (0, 0, 0),
        "4-5": (1, 0, 0),
        "6-10": (0, 0, 0),
        ">10": (2, 1, 0),
    }
    assert ranks["1"]["visited_share"] == 0.5
    assert ranks["3"]["visited_share"] is None
    versions = [
        (row["bucket"], row["leads"], row["reached_visited"], row["reached_signed"])
        for row in city["by_weights_version"]
    ]
    assert versions == [("1", 2, 1, 0), ("2", 2, 1, 1), ("none", 2, 1, 0)]


def _audit(api: Api) -> list[dict[str, Any]]:
    """The audit entries about targets, newest first."""
    entries = api.client.get(f"{V1}/audit", headers=api.admin).json()
    return [entry for entry in entries if entry["action"] == "targets.update"]


BAD_TARGETS: list[tuple[str, dict[str, Any], set[str]]] = [
    ("全市", {"area_used_m2": -1, "jobs": -2}, {"area_used_m2", "jobs"}),
    ("全市", {"jobs": 1.5}, {"jobs"}),
    ("全市", {"firms_landed": True}, {"firms_landed"}),
    ("全市", {"firms_landed": 5_000_000}, {"firms_landed"}),
    ("全市", {"contract_wan_yuan": "很多"}, {"contract_wan_yuan"}),
    ("全市", {"area": 10}, {"area"}),
    ("火星区", {"area_used_m2": 10}, {"scope"}),
]
"""Targets refused: the scope, the body, and the fields the answer must name."""


def test_bad_targets_are_refused_naming_the_field_and_staff_may_not_edit_them(api: Api) -> None:
    for scope, body, fields in BAD_TARGETS:
        answer = api.client.put(f"{V1}/indicators/targets/{quote(scope)}", json=body, headers=api.admin)
        assert answer.status_code == 422, answer.text
        assert {error["field"] for error in answer.json()["errors"]} == fields, body
    url = f"{V1}/indicators/targets/{quote('渝北区')}"
    assert api.client.put(url, json={"jobs": 3_000}, headers=api.staff).status_code == 403
    assert api.client.put(url, json={"jobs": 3_000}).status_code == 401
    assert _audit(api) == []
    city = _read(api)
    assert city["targets"]["area_used_m2"]["target"] == 2_000_000.0
    assert city["by_district"]["渝北区"]["targets"]["jobs"]["target"] is None


def test_an_admin_edits_targets_audited(api: Api) -> None:
    url = f"{V1}/indicators/targets/{quote('渝北区')}"
    body = {"area_used_m2": 50_000, "firms_landed": 120, "jobs": 3_000}
    answer = api.client.put(url, json=body, headers=api.admin)
    assert answer.status_code == 200, answer.text
    saved = answer.json()
    assert (saved["scope"], saved["area_used_m2"], saved["jobs"], saved["updated_by"]) == (
        "渝北区",
        50_000,
        3_000,
        "admin",
    )
    assert saved["scenarios_won"] is None
    (entry,) = _audit(api)
    assert (entry["actor"], entry["target_id"], entry["before"]) == ("admin", "渝北区", None)
    assert entry["after"]["firms_landed"] == 120.0
    district = _read(api)["by_district"]["渝北区"]
    assert district["targets"]["area_used_m2"] == {"target": 50_000.0, "progress": 0.0}
    assert district["targets"]["contract_wan_yuan"] == {"target": None, "progress": None}

    city = f"{V1}/indicators/targets/{quote('全市')}"
    answer = api.client.put(city, json={"area_used_m2": 2_500_000, "firms_landed": 10_000}, headers=api.admin)
    assert answer.status_code == 200, answer.text
    entry = _audit(api)[0]
    assert entry["before"]["area_used_m2"] == 2_000_000.0
    assert entry["after"]["area_used_m2"] == 2_500_000.0
    assert entry["after"]["jobs"] is None  # PUT replaces: the jobs target was left out
    assert _read(api)["targets"]["area_used_m2"]["target"] == 2_500_000.0


# ---- the page (计划指标看板) over HTTP -------------------------------------------------------------


def _tables(html: str) -> dict[str, dict[str, list[str]]]:
    """Every figure's table: each row's label with its cells as shown."""
    parser = DashboardParser()
    parser.feed(html)
    return {key: {row[0]: row[1:] for row in rows} for key, rows in parser.tables.items()}


def _csrf(html: str) -> str:
    """The page's CSRF token."""
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_the_page_shows_the_leads_figures_and_no_targets_form_to_staff(api: Api) -> None:
    pipeline = _pipeline(api)
    north, south = _places(pipeline, 2)
    firms = _firms(pipeline)
    signed = pipeline.start(firms[0][0], north.id)
    pipeline.sign(signed, 600)
    moved = pipeline.start(firms[1][0], south.id)
    pipeline.sign(moved, 400)
    pipeline.move(moved, Stage.moved_in, moved_in_on=china_today().isoformat(), actual_headcount=30)
    csrf = sign_in(api, STAFF)

    page = api.client.get("/indicators")
    assert page.status_code == 200
    text = unescape(page.text)
    for heading in (
        "计划指标看板",
        "全市目标进度",
        "各区目标进度",
        "跟进漏斗",
        "推荐名次与权重版本",
        "月度趋势（近 18 个月）",
    ):
        assert f">{heading}</h" in text, heading
    assert "1,000 ㎡" in text
    assert "目标 2,000,000 ㎡ · 0.05%" in text
    assert "30 人" in text
    tables = _tables(page.text)
    assert tables["district-area"][north.district] == ["600"]
    assert tables["district-area"][south.district] == ["400"]
    assert tables["district-jobs"][south.district] == ["30"]
    assert tables["district-firms"][south.district] == ["1"]
    assert [cells[0] for cells in tables["funnel-building"].values()] == ["2", "2", "2", "2", "2", "1"]
    assert tables["funnel-building"]["入驻"][1] == "50.0%"
    assert tables["by-rank"]["第 1 名"] == ["0", "—", "—"]
    assert tables["monthly-landing"][f"{china_today():%Y-%m}"] == ["1,000", "30"]
    assert "保存目标" not in text

    refused = api.client.post(
        "/indicators/targets", data={"csrf_token": csrf, "scope": "全市", "area_used_m2": "1"}
    )
    assert refused.status_code == 403
    assert _audit(api) == []


def test_an_admin_sets_targets_through_the_form_refused_values_first(api: Api) -> None:
    csrf = sign_in(api, ADMIN)
    form = {"csrf_token": csrf, "scope": "全市", "area_used_m2": "很多", "jobs": "-5", "firms_landed": "9000"}
    answer = api.client.post("/indicators/targets", data=form)
    assert answer.status_code == 422
    text = unescape(answer.text)
    assert "未保存" in text
    assert re.search(r'href="#target-area_used_m2">盘活楼宇面积</a>：应为数字', text)
    assert re.search(r'href="#target-jobs">新增就业</a>：应不小于 0', text)
    for typed in ("很多", "-5", "9000"):
        assert f'value="{typed}"' in text
    assert _audit(api) == []
    assert _read(api)["targets"]["firms_landed"]["target"] == 10_000.0

    bad_scope = api.client.post("/indicators/targets", data={**form, "scope": "火星区", "jobs": "5"})
    assert bad_scope.status_code == 422
    assert "实际为「火星区」" in unescape(bad_scope.text)
    assert _audit(api) == []

    page = api.client.get("/indicators", params={"district": "渝北区"})
    assert page.status_code == 200
    assert 'name="scope" value="渝北区"' in page.text
    form = {"csrf_token": csrf, "scope": "渝北区", "area_used_m2": "50000", "firms_landed": "120", "jobs": ""}
    saved = api.client.post("/indicators/targets", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/indicators?district={quote('渝北区')}&saved=1"
    shown = unescape(api.client.get(saved.headers["location"]).text)
    assert "目标已保存" in shown
    assert "目标 50,000 ㎡ · 0.00%" in shown
    assert 'value="120"' in shown
    (entry,) = _audit(api)
    assert entry["after"] == {
        "area_used_m2": 50_000.0,
        "firms_landed": 120.0,
        "jobs": None,
        "scenarios_won": None,
        "contract_wan_yuan": None,
    }


def test_anonymous_visitors_get_nothing_and_unknown_districts_are_refused(api: Api) -> None:
    answer = api.client.get(f"{V1}/indicators")
    assert answer.status_code == 401
    assert answer.json() == {"detail": "需要登录"}
    answer = api.client.get("/indicators", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/indicators"
    sign_in(api, STAFF)
    assert api.client.get("/indicators", params={"district": "火星区"}).status_code == 422
    assert (
        api.client.get(f"{V1}/indicators", params={"district": "火星区"}, headers=api.staff).status_code
        == 422
    )
