"""跟进 pages: the board (filters, 3,000 leads), a lead's page and its stage form, compare and export, roles.

HTTP-level tests run the app in-process over a small generated catalogue; the last test drives
Chromium at 390 px over the demo data (screenshots of the board and a lead's timeline).
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.auth import create_user, issue_token
from api.config import Settings
from api.services import leads
from api.web.pages_leads import CARDS_PER_COLUMN, STAGE_PAGE
from api.web.pages_shortlist import EXPORT_COLUMNS
from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher.hashing import HashingEncoder
from migrations import migrate
from models.building import Building
from models.catalogue import import_file
from models.clock import china_today
from models.database import make_engine, make_session_factory
from models.enterprise import Enterprise
from models.enums import District
from models.lead import FACT_LABELS, FACTS, Lead, LeadKind, LostReason, Stage, stages_of
from models.lead_facts import StageChange
from models.records import BuildingRecord
from models.user import Role, User
from tests.conftest import TEST_DATABASE_URL, create_postgres_database, drop_postgres_database
from tests.files import jsonl
from tests.web.conftest import LiveServer, login, no_overflow, shot

V1 = "/api/v1"
EVIL_FIRM = {
    "id": "EVIL",
    "name": "=1+1<b>粗体</b>科技",
    "description": "软件开发与信息系统集成，工业互联网平台",
}
BULK = 3_000


@dataclass(frozen=True)
class Site:
    """The app over a generated catalogue, its sessions, and each user's API token."""

    client: TestClient
    sessions: sessionmaker[Session]
    tokens: dict[str, str]

    def headers(self, name: str) -> dict[str, str]:
        """A user's bearer header for the JSON API."""
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def browse_as(self, name: str | None) -> TestClient:
        """The client with this user's session cookie (None: anonymous) and a CSRF cookie."""
        self.client.cookies.delete("xingpei_session")
        if name is not None:
            self.client.cookies.set("xingpei_session", self.tokens[name])
        self.client.get("/login")
        return self.client

    def csrf(self) -> str:
        """The client's CSRF token."""
        token = self.client.cookies.get("xingpei_csrf")
        assert isinstance(token, str)
        return token

    def building(self, building_id: str) -> BuildingRecord:
        """A building as the app matches it (its available area)."""
        record = self.client.app.state.xingpei.recommender.records["buildings"][building_id]  # type: ignore[attr-defined]
        assert isinstance(record, BuildingRecord)
        return record


def _database(tmp_path_factory: pytest.TempPathFactory, name: str) -> tuple[str, str]:
    """A new database of the backend under test: its URL and (PostgreSQL) name."""
    if TEST_DATABASE_URL:
        return create_postgres_database(TEST_DATABASE_URL)
    return f"sqlite:///{tmp_path_factory.mktemp(name) / 'leads.db'}", ""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """60 buildings, 40 firms and a hostile name, 60 scenarios; admin, staff and a 渝北区 staff user."""
    url, name = _database(tmp_path_factory, "leads")
    engine = make_engine(url)
    migrate(engine)
    tokens = {}
    with make_session_factory(engine).begin() as session:
        import_file(session, "buildings", jsonl(*generate_buildings(60, seed=3)), "b.jsonl")
        import_file(session, "enterprises", jsonl(*generate_enterprises(40, seed=3), EVIL_FIRM), "e.jsonl")
        scenarios = generate_scenarios(60, seed=3, reference_date=china_today())
        import_file(session, "scenarios", jsonl(*scenarios), "s.jsonl")
        for user_name, role in (("admin", Role.admin), ("staff", Role.staff), ("yubei", Role.staff)):
            user, tokens[user_name] = create_user(session, name=user_name, role=role, password=None)
        user.district = District.yubei  # create_user takes no district (yet)
    app = create_app(Settings(database_url=url), encoder=HashingEncoder())
    with TestClient(app) as client:
        yield Site(client, make_session_factory(engine), tokens)
    engine.dispose()
    if name:
        drop_postgres_database(TEST_DATABASE_URL, name)


@pytest.fixture(scope="module")
def firms(site: Site) -> list[str]:
    """Firms with at least five building matches, one per test (a pair has one open lead at a time)."""
    ids = [f"E{number:06d}" for number in range(1, 41)]
    return [firm for firm in ids if len(_best_buildings(site, firm)) >= 5]


def _start(
    site: Site, firm: str, *, building: str | None = None, scenario: str | None = None
) -> dict[str, Any]:
    """Start a lead as staff through the JSON API."""
    body = {"enterprise_id": firm, "building_id": building, "scenario_id": scenario, "note": "首次电话沟通"}
    answer = site.client.post(f"{V1}/leads", json=body, headers=site.headers("staff"))
    assert answer.status_code == 201, answer.text
    lead: dict[str, Any] = answer.json()
    return lead


def _best_buildings(site: Site, firm: str, k: int = 10) -> list[dict[str, Any]]:
    """The firm's best buildings as the API ranks them."""
    answer = site.client.get(
        f"{V1}/enterprises/{firm}/matches/buildings?k={k}", headers=site.headers("staff")
    )
    results: list[dict[str, Any]] = answer.json()["results"]
    return results


def _open_scenario(site: Site) -> str:
    """An open scenario whose deadline has not passed."""
    answer = site.client.get(f"{V1}/scenarios?status=open&limit=100", headers=site.headers("staff"))
    today = china_today().isoformat()
    return str(next(s["id"] for s in answer.json()["items"] if (s["deadline"] or "9999") >= today))


def _advance(site: Site, lead_id: int, user: str = "staff", **fields: Any) -> Any:
    """Post the lead page's stage form as the browser does."""
    client = site.browse_as(user)
    form = {"csrf_token": site.csrf(), "note": "", **{name: str(value) for name, value in fields.items()}}
    return client.post(f"/leads/{lead_id}/stage", data=form, follow_redirects=False)


def _text(html: str) -> str:
    """A page's text: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _cards(html: str) -> dict[str, list[str]]:
    """The board's lead ids per column, by stage code."""
    columns = re.split(r'<section class="lead-col" aria-labelledby="col-', html)[1:]
    return {
        column.split('"')[0]: re.findall(r'<a class="lead-card-firm" href="/leads/(\d+)"', column)
        for column in columns
    }


def _shown(html: str) -> set[str]:
    """Every lead id on the board."""
    return {lead for ids in _cards(html).values() for lead in ids}


def _stored(site: Site, lead_id: int) -> Lead:
    """A lead as stored."""
    with site.sessions() as session:
        return leads.get(session, lead_id)


# ---- who sees leads -----------------------------------------------------------------------------


def test_anonymous_sees_no_lead(site: Site, firms: list[str]) -> None:
    firm = firms[0]
    lead = _start(site, firm, building=_best_buildings(site, firm)[0]["id"])
    client = site.browse_as(None)
    for path in (
        "/leads",
        f"/leads/{lead['id']}",
        f"/leads/compare?ids={lead['id']}",
        f"/leads/compare/export.xlsx?ids={lead['id']}",
        f"/leads?enterprise={firm}",
        "/shortlist",
    ):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next="), path
        assert lead["enterprise_name"] not in answer.text
    posted = client.post(
        f"/leads/{lead['id']}/stage",
        data={"csrf_token": site.csrf(), "stage": "contacted", "expected_version": "1"},
        follow_redirects=False,
    )
    assert posted.headers["location"].startswith("/login")
    assert _stored(site, lead["id"]).stage == Stage.recommended
    home = client.get("/").text
    assert 'href="/leads"' not in home
    assert 'href="/leads"' in site.browse_as("staff").get("/").text


def test_old_shortlist_addresses_lead_to_my_recommended_leads(site: Site) -> None:
    client = site.browse_as("staff")
    for path in ("/shortlist", "/shortlist/compare?ids=3", "/shortlist/export.xlsx"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/leads?kind=building&stage=recommended&owner=staff"


# ---- the board ----------------------------------------------------------------------------------


def test_board_columns_and_filters(site: Site, firms: list[str]) -> None:
    firm = firms[1]
    picks = _best_buildings(site, firm)
    first, second = (_start(site, firm, building=pick["id"]) for pick in picks[:2])
    assert _advance(site, first["id"], stage="contacted", expected_version=1).status_code == 303
    scenario = _start(site, firm, scenario=_open_scenario(site))
    client = site.browse_as("staff")

    html = client.get("/leads").text
    headings = re.findall(r'class="lead-col-head stage-(\w+)">([^<]+)<', html)
    assert [(code, label.strip()) for code, label in headings] == [
        (stage.value, stage.label) for stage in stages_of(LeadKind.building)
    ]
    cards = _cards(html)
    assert str(first["id"]) in cards["contacted"]
    assert str(second["id"]) in cards["recommended"]
    assert str(scenario["id"]) not in _shown(html)
    assert "在此阶段 0 天" in html

    scenarios = client.get("/leads", params={"kind": "scenario"}).text
    assert [code for code, _ in re.findall(r'class="lead-col-head stage-(\w+)">([^<]+)<', scenarios)] == [
        stage.value for stage in stages_of(LeadKind.scenario)
    ]
    assert str(scenario["id"]) in _cards(scenarios)["recommended"]
    assert ">推荐 <" in scenarios

    district = first["district"]
    other = next(d.value for d in District if d.value != district)
    narrowed = _cards(client.get("/leads", params={"district": district, "owner": "staff"}).text)
    assert str(first["id"]) in narrowed["contacted"]
    assert str(first["id"]) not in _shown(client.get("/leads", params={"district": other}).text)
    assert _cards(client.get("/leads", params={"owner": "nobody"}).text)["contacted"] == []
    industry = first["industry"]
    assert str(first["id"]) in _cards(client.get("/leads", params={"industry": industry}).text)["contacted"]
    wrong = next(code for code in ("ai", "software_dev") if code != industry)
    assert str(first["id"]) not in _shown(client.get("/leads", params={"industry": wrong}).text)
    one = client.get("/leads", params={"stage": "contacted", "enterprise": firm}).text
    assert list(_cards(one)) == ["contacted"]
    assert _cards(one)["contacted"] == [str(first["id"])]

    bad = client.get("/leads", params={"district": "火星区", "stage": "won"})
    assert bad.status_code == 422
    assert "区域：未知的取值「火星区」" in bad.text
    assert "阶段：楼宇跟进没有「中标」阶段" in bad.text


def test_a_board_of_3000_leads_is_capped_per_column_and_quick(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    url, name = _database(tmp_path_factory, "bulk")
    engine = make_engine(url)
    migrate(engine)
    buildings = generate_buildings(40, seed=5)
    firms = generate_enterprises(75, seed=5)
    with make_session_factory(engine).begin() as session:
        import_file(session, "buildings", jsonl(*buildings), "b.jsonl")
        import_file(session, "enterprises", jsonl(*firms), "e.jsonl")
        _, token = create_user(session, name="staff", role=Role.staff, password=None)
        stages = stages_of(LeadKind.building)
        now = datetime.now(UTC)
        rows = [
            {
                "kind": LeadKind.building,
                "enterprise_id": firms[number % 75]["id"],
                "building_id": buildings[number // 75]["id"],
                "enterprise_name": firms[number % 75]["name"],
                "offer_name": buildings[number // 75]["name"],
                "district": buildings[number // 75]["district"],
                "industry": "software_dev" if number % 3 else "ai",
                "stage": stages[number % len(stages)],
                "version": 1,
                "owner": f"staff{number % 5}",
                "created_at": now - timedelta(days=number % 540),
                "stage_at": now - timedelta(days=number % 90, minutes=number),
            }
            for number in range(BULK)
        ]
        session.execute(sa.insert(Lead), rows)
    app = create_app(Settings(database_url=url), encoder=HashingEncoder())
    try:
        with TestClient(app) as client:
            client.cookies.set("xingpei_session", token)
            client.get("/leads")  # templates compiled, caches warm
            timings = []
            for _ in range(5):
                began = time.perf_counter()
                html = client.get("/leads").text
                timings.append(time.perf_counter() - began)
            median = statistics.median(timings)
            print(f"\n/leads with {BULK} leads: median {median * 1000:.0f} ms of {len(timings)}")
            cards = _cards(html)
            per_stage = {stage: sum(1 for row in rows if row["stage"] == stage) for stage in stages}
            for stage in stages:
                assert len(cards[stage.value]) == CARDS_PER_COLUMN
                assert f"查看全部 {per_stage[stage]:,} 条" in html
            assert median < 2.0, f"看板渲染过慢：{median:.2f}s"

            first = _cards(client.get("/leads", params={"stage": "visited"}).text)["visited"]
            second = _cards(client.get("/leads", params={"stage": "visited", "page": "2"}).text)["visited"]
            assert len(first) == len(second) == STAGE_PAGE
            assert not set(first) & set(second)
            with make_session_factory(engine)() as session:
                visited = set(
                    map(str, session.scalars(sa.select(Lead.id).where(Lead.stage == Stage.visited)))
                )
            assert set(first) | set(second) <= visited
    finally:
        engine.dispose()
        if name:
            drop_postgres_database(TEST_DATABASE_URL, name)


# ---- a lead's page and its stage form -----------------------------------------------------------


def _options(html: str) -> list[str]:
    """The stages the form offers."""
    select = re.search(r'<select name="stage" id="lead-stage"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, "页面没有阶段表单"
    return re.findall(r'<option value="(\w+)"', select.group(1))


def _fields(html: str) -> dict[str, list[str]]:
    """The fact fields of the form by the stage that shows them."""
    boxes = re.findall(r'<div class="lead-fact" data-stage="(\w+)"(.*?)</div>', html, re.S)
    found: dict[str, list[str]] = {}
    for stage, body in boxes:
        found.setdefault(stage, []).extend(re.findall(r'<(?:input|select) name="(\w+)"', body))
    return found


def _shown_fields(html: str) -> list[str]:
    """The fact fields shown before any script runs (the chosen stage's)."""
    return re.findall(
        r'<div class="lead-fact" data-stage="\w+">\s*<label>[^<]*<(?:input|select) name="(\w+)"', html
    )


def test_lead_page_shows_the_pair_the_match_and_the_timeline(site: Site, firms: list[str]) -> None:
    firm = firms[2]
    best = _best_buildings(site, firm)[1]
    lead = _start(site, firm, building=best["id"])
    assert (
        _advance(site, lead["id"], stage="visited", note="周二带看 5 层", expected_version=1).status_code
        == 303
    )
    signed: dict[str, Any] = {"signed_area_m2": 150, "rent_yuan_m2_month": 48.5, "expected_headcount": 30}
    answer = _advance(site, lead["id"], stage="signed", note="已签约", expected_version=2, **signed)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/leads/{lead['id']}?moved=1#timeline"
    page = site.client.get(answer.headers["location"])
    text = _text(page.text)
    assert "已更新为「签约」。" in text
    assert f"{lead['enterprise_name']} × {best['name']}" in text
    assert "排名第 2 位" in text
    assert f"匹配度 {best['score']:.2f}" in text
    for label in ("语义匹配", "产业契合", "面积匹配"):
        assert label in text
    timeline = text[text.index("跟进记录") : text.index("推进跟进")]
    assert re.search(r"推介 \d{4}-\d\d-\d\d \d\d:\d\d · staff 首次电话沟通", timeline)
    assert "推介 → 带看" in timeline
    assert "周二带看 5 层" in timeline
    assert "带看 → 签约" in timeline
    assert "签约面积（㎡）： 150 签约租金（元/㎡·月）： 48.5 预计入驻人数： 30" in timeline
    assert "签约日期" in text[: text.index("跟进记录")]
    assert _options(page.text) == ["moved_in", "lost"]


def test_the_form_offers_legal_stages_and_only_their_fields(site: Site, firms: list[str]) -> None:
    firm = firms[3]
    building = _start(site, firm, building=_best_buildings(site, firm)[0]["id"])
    html = site.browse_as("staff").get(f"/leads/{building['id']}").text
    assert _options(html) == ["contacted", "visited", "intent", "signed", "lost"]
    assert _fields(html) == {stage.value: list(FACTS[stage]) for stage in (Stage.signed, Stage.lost)}
    assert _shown_fields(html) == []  # 接洽 is chosen first: it records only a note
    for name in FACTS[Stage.signed]:
        assert FACT_LABELS[name] in html
    assert "合同金额" not in html
    assert all(reason.label in html for reason in LostReason)

    scenario = _start(site, firm, scenario=_open_scenario(site))
    html = site.client.get(f"/leads/{scenario['id']}").text
    assert _options(html) == ["applied", "shortlisted", "won", "not_won", "lost"]
    assert _fields(html) == {"won": ["contract_wan_yuan"], "lost": ["lost_reason"]}
    assert "签约面积" not in html

    chosen = _advance(site, building["id"], stage="signed", expected_version=1, signed_area_m2="-3")
    assert chosen.status_code == 422
    assert _shown_fields(chosen.text) == list(FACTS[Stage.signed])


def test_advancing_by_the_form_names_each_problem_and_keeps_what_was_typed(
    site: Site, firms: list[str]
) -> None:
    firm = firms[4]
    best = _best_buildings(site, firm)[0]
    lead = _start(site, firm, building=best["id"])
    missing = _advance(
        site, lead["id"], stage="signed", expected_version=1, note="谈妥了", signed_area_m2=120
    )
    assert missing.status_code == 422
    assert "「签约」须填写签约租金（元/㎡·月）" in missing.text
    assert (
        'name="signed_area_m2" type="number" step="any" min="0" inputmode="decimal" value="120"'
        in missing.text
    )
    assert ">谈妥了</textarea>" in missing.text
    absurd = _advance(
        site,
        lead["id"],
        stage="signed",
        expected_version=1,
        signed_area_m2=-5,
        rent_yuan_m2_month=50,
        expected_headcount="很多",
    )
    assert absurd.status_code == 422
    assert "签约面积（㎡）：应大于 0" in absurd.text
    assert "预计入驻人数：应为整数" in absurd.text

    available = site.building(best["id"]).vacant_area_m2
    too_big = _advance(
        site,
        lead["id"],
        stage="signed",
        expected_version=1,
        signed_area_m2=available + 100,
        rent_yuan_m2_month=50,
        expected_headcount=20,
    )
    assert too_big.status_code == 422
    assert f"超过楼宇「{best['name']}」当前可用面积 {available:,.0f}㎡" in too_big.text
    assert f'value="{available + 100}"' in too_big.text

    backward = _advance(
        site, lead["id"], stage="moved_in", expected_version=1, moved_in_on=china_today(), actual_headcount=3
    )
    assert backward.status_code == 422
    assert "入驻之前须先签约" in backward.text
    assert _stored(site, lead["id"]).version == 1

    lost = _advance(site, lead["id"], stage="lost", expected_version=1, note="选择了江北")
    assert lost.status_code == 422
    assert "「流失」须填写流失原因" in lost.text
    lost = _advance(
        site, lead["id"], stage="lost", expected_version=1, note="选择了江北", lost_reason="competitor"
    )
    assert lost.status_code == 303
    html = site.client.get(f"/leads/{lead['id']}").text
    assert "<li>流失原因：<strong>选择了其他城市或楼宇</strong></li>" in html
    assert 'id="lead-stage"' not in html
    assert "不能再变更阶段" in html


def test_signing_by_the_form_takes_the_area_off_the_building(site: Site, firms: list[str]) -> None:
    firm = firms[5]
    best = _best_buildings(site, firm)[0]
    before = site.building(best["id"]).vacant_area_m2
    lead = _start(site, firm, building=best["id"])
    signed: dict[str, Any] = {"signed_area_m2": 100, "rent_yuan_m2_month": 40, "expected_headcount": 12}
    assert _advance(site, lead["id"], stage="signed", expected_version=1, **signed).status_code == 303
    assert site.building(best["id"]).vacant_area_m2 == pytest.approx(before - 100)
    html = site.client.get(f"/leads/{lead['id']}").text
    assert f"{before - 100:,.0f} ㎡" in _text(html)
    assert f"台账空置 {before:,.0f} ㎡" in _text(html)


def test_a_stale_version_is_a_409_that_keeps_what_was_typed(site: Site, firms: list[str]) -> None:
    firm = firms[6]
    lead = _start(site, firm, building=_best_buildings(site, firm)[0]["id"])
    form = site.browse_as("staff").get(f"/leads/{lead['id']}").text
    assert 'name="expected_version" value="1"' in form
    meanwhile = site.client.post(
        f"{V1}/leads/{lead['id']}/stage",
        json={"stage": "contacted", "note": "同事先联系了", "expected_version": 1},
        headers=site.headers("admin"),
    )
    assert meanwhile.status_code == 200
    stale = _advance(site, lead["id"], stage="visited", expected_version=1, note="我带看了")
    assert stale.status_code == 409
    text = _text(stale.text)
    assert "该跟进已被他人更新（当前版本 2，您提交的是版本 1）" in text
    assert "您填写的内容都已保留" in text
    assert ">我带看了</textarea>" in stale.text
    assert "同事先联系了" in text
    assert 'name="expected_version" value="2"' in stale.text
    assert _stored(site, lead["id"]).stage == Stage.contacted
    again = _advance(site, lead["id"], stage="visited", expected_version=2, note="我带看了")
    assert again.status_code == 303
    assert _stored(site, lead["id"]).stage == Stage.visited


def test_district_staff_change_only_their_districts_leads(site: Site, firms: list[str]) -> None:
    firm = firms[7]
    picks = _best_buildings(site, firm, k=50)
    elsewhere = next(pick for pick in picks if pick["district"] != District.yubei.value)
    lead = _start(site, firm, building=elsewhere["id"])
    page = site.browse_as("yubei").get(f"/leads/{lead['id']}")
    assert page.status_code == 200
    assert f"此跟进属于{elsewhere['district']}，您可以查看但不能推进" in page.text
    assert 'id="lead-stage"' not in page.text
    refused = _advance(site, lead["id"], user="yubei", stage="contacted", expected_version=1, note="越区操作")
    assert refused.status_code == 403
    assert f"您只能变更渝北区的跟进或您本人创建的跟进（该跟进属于{elsewhere['district']}）" in refused.text
    assert _stored(site, lead["id"]).version == 1
    own = _start(site, firm, building=next(p["id"] for p in picks if p["district"] == District.yubei.value))
    assert _advance(site, own["id"], user="yubei", stage="contacted", expected_version=1).status_code == 303


def test_the_stage_form_needs_the_csrf_token(site: Site, firms: list[str]) -> None:
    firm = firms[10]
    lead = _start(site, firm, building=_best_buildings(site, firm)[0]["id"])
    client = site.browse_as("staff")
    form = {"stage": "contacted", "expected_version": "1", "note": "无令牌"}
    refused = client.post(f"/leads/{lead['id']}/stage", data=form, follow_redirects=False)
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    assert _stored(site, lead["id"]).version == 1


def test_unknown_and_bad_lead_ids(site: Site) -> None:
    client = site.browse_as("staff")
    missing = client.get("/leads/999999")
    assert missing.status_code == 404
    assert "跟进记录 999999 不存在" in missing.text
    assert client.get("/leads/99999999999").status_code == 422
    assert client.get("/leads/abc").status_code == 404
    posted = _advance(site, 999999, stage="contacted", expected_version=1)
    assert posted.status_code == 404


# ---- compare and export, detail pages, escaping -------------------------------------------------


def test_compare_and_export_a_firms_building_leads(site: Site, firms: list[str]) -> None:
    firm = firms[8]
    picks = _best_buildings(site, firm)[:5]
    started = [_start(site, firm, building=pick["id"]) for pick in picks]
    client = site.browse_as("staff")
    html = client.get("/leads/compare", params={"enterprise": firm}).text
    assert "最多并排对比 4 个，已显示所选的前 4 个；导出包含全部 5 个。" in html
    assert html.count('<th scope="col">') == 5
    two = client.get("/leads/compare", params={"ids": [started[0]["id"], started[1]["id"]]}).text
    assert two.count('<th scope="col">') == 3
    assert "推介时第 1 名" in two
    assert "推介时第 2 名" in two
    assert two.count("最高</span>") == 1
    costs = {site.building(pick["id"]).rent_yuan_m2_month for pick in picks[:2]}
    assert two.count("最低</span>") == (1 if len(costs) == 2 else 0)
    assert "没有选择要对比的楼宇" in client.get("/leads/compare").text
    scenario = _start(site, firm, scenario=_open_scenario(site))
    mixed = client.get("/leads/compare", params={"ids": f"{scenario['id']},{started[2]['id']},999999"}).text
    assert f"跟进 {scenario['id']} 是场景跟进，不参与楼宇对比。" in mixed
    assert "跟进 999999 不存在，已略过。" in mixed

    answer = client.get("/leads/compare/export.xlsx", params={"enterprise": firm})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    sheet = load_workbook(BytesIO(answer.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [title for title, _ in EXPORT_COLUMNS]
    by_lead = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(by_lead) == {lead["id"] for lead in started}
    first = by_lead[started[0]["id"]]
    assert first["楼宇编号"] == picks[0]["id"]
    assert first["跟进阶段"] == "推介"
    assert first["推介排名"] == 1
    assert first["匹配度"] == pytest.approx(picks[0]["score"])
    assert first["可用面积(㎡)"] == pytest.approx(site.building(picks[0]["id"]).vacant_area_m2)
    assert "语义匹配" in first["各因素贡献"]


def test_detail_pages_list_their_leads(site: Site, firms: list[str]) -> None:
    firm = firms[9]
    best = _best_buildings(site, firm)[0]
    lead = _start(site, firm, building=best["id"])
    client = site.browse_as("admin")
    firm_page = client.get(f"/admin/data/enterprises/{firm}").text
    assert f'<a href="/leads/{lead["id"]}">{best["name"]}</a>' in firm_page
    assert f"/leads?enterprise={firm}" in firm_page
    assert f"/leads/compare?enterprise={firm}" in firm_page
    building_page = client.get(f"/admin/data/buildings/{best['id']}").text
    assert f'<a href="/leads/{lead["id"]}">{lead["enterprise_name"]}</a>' in building_page
    assert "推介</span>" in building_page
    untouched = client.get(f"/admin/data/enterprises/{firms[-1]}").text
    assert "还没有跟进" in untouched
    assert f"/find/buildings?firm={firms[-1]}" in untouched


def test_a_hostile_firm_name_is_text_everywhere(site: Site) -> None:
    building = _best_buildings(site, "EVIL")[0]["id"]
    lead = _start(site, "EVIL", building=building)
    client = site.browse_as("staff")
    for path in ("/leads", f"/leads/{lead['id']}", f"/leads/compare?ids={lead['id']}"):
        html = client.get(path).text
        assert "=1+1&lt;b&gt;粗体&lt;/b&gt;科技" in html, path
        assert "<b>粗体</b>" not in html, path
    sheet = load_workbook(BytesIO(client.get(f"/leads/compare/export.xlsx?ids={lead['id']}").content)).active
    assert sheet is not None
    name = sheet.cell(2, 2)
    assert name.value == EVIL_FIRM["name"]
    assert name.data_type == "s"


# ---- in the browser -------------------------------------------------------------------------------


def _seed_board(live_server: LiveServer) -> str:
    """Leads at every building stage (through the service, as staff), and one started from a match:
    its id. The demo data brings no leads of its own yet."""
    today = china_today()
    paths: list[list[dict[str, Any]]] = [
        [],
        [{"stage": "contacted"}],
        [{"stage": "visited"}],
        [{"stage": "contacted"}, {"stage": "intent"}],
        [{"stage": "signed", "signed_area_m2": 80, "rent_yuan_m2_month": 45, "expected_headcount": 10}],
        [
            {"stage": "signed", "signed_area_m2": 60, "rent_yuan_m2_month": 52, "expected_headcount": 8},
            {"stage": "moved_in", "moved_in_on": today, "actual_headcount": 9},
        ],
        [{"stage": "lost", "lost_reason": "cost"}],
    ]
    engine = make_engine(live_server.database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        staff = session.scalars(sa.select(User).where(User.name == "staff")).one()
        buildings = list(session.scalars(sa.select(Building.id).order_by(Building.id).limit(14)))
        firms = list(session.scalars(sa.select(Enterprise.id).order_by(Enterprise.id).offset(20).limit(14)))
        for number, (firm, building) in enumerate(zip(firms, buildings, strict=True)):
            lead = leads.start(
                session=session,
                actor=staff,
                live=None,
                state=None,
                enterprise=firm,
                kind=LeadKind.building,
                offer_id=building,
                note="园区推介会上登记",
            )
            for step in paths[number % len(paths)]:
                change = StageChange.model_validate(
                    {**step, "note": "按计划推进", "expected_version": lead.version}
                )
                lead = leads.advance(session=session, actor=staff, live=None, lead_id=lead.id, change=change)
        token = issue_token(session, staff)
        session.commit()
    engine.dispose()
    return token


def test_board_and_a_lead_at_390_px(live_server: LiveServer, phone: Page, page: Page) -> None:
    token = _seed_board(live_server)
    bearer = {"Authorization": f"Bearer {token}"}
    best = phone.request.get("/api/v1/enterprises/E000001/matches/buildings?k=5", headers=bearer).json()
    created = phone.request.post(
        "/api/v1/leads",
        headers=bearer,
        data={
            "enterprise_id": "E000001",
            "building_id": best["results"][0]["id"],
            "note": "来电咨询，需 600 ㎡",
        },
    )
    assert created.status == 201, created.text()
    lead = created.json()

    login(phone, "staff")
    phone.get_by_role("navigation", name="主导航").get_by_role("link", name="跟进").click()
    expect(phone.get_by_role("heading", name="跟进看板")).to_be_visible()
    expect(phone.locator(".lead-col")).to_have_count(len(stages_of(LeadKind.building)))
    for stage in stages_of(LeadKind.building):
        expect(phone.locator(f"#col-{stage.value}")).to_contain_text(stage.label)
    no_overflow(phone)
    shot(phone, "leads-board-phone")

    phone.locator(f'.lead-card-firm[href="/leads/{lead["id"]}"]').click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text(lead["enterprise_name"])
    expect(phone.locator("#match ~ .score-line")).to_contain_text(f"{best['results'][0]['score']:.2f}")
    chosen = phone.get_by_label("新阶段")
    facts = phone.locator(".lead-fact")
    chosen.select_option("contacted")
    expect(facts.locator("visible=true")).to_have_count(0)
    chosen.select_option("lost")
    expect(phone.get_by_label("流失原因")).to_be_visible()
    expect(facts.locator("visible=true")).to_have_count(1)
    chosen.select_option("signed")
    expect(facts.locator("visible=true")).to_have_count(3)
    expect(phone.get_by_label("流失原因")).to_be_hidden()
    phone.get_by_label("签约面积（㎡）").fill("200")
    phone.get_by_label("签约租金（元/㎡·月）").fill("55")
    phone.get_by_label("预计入驻人数").fill("25")
    phone.get_by_label("备注").fill("签约 200 ㎡，三个月免租")
    phone.get_by_role("button", name="保存").click()
    expect(phone.get_by_role("status")).to_have_text("已更新为「签约」。")
    timeline = phone.locator(".lead-timeline")
    expect(timeline.locator(".lead-step").last).to_contain_text("推介 → 签约")
    expect(timeline.locator(".lead-step").last).to_contain_text("签约面积（㎡）：200")
    expect(timeline.locator(".lead-step").last).to_contain_text("签约 200 ㎡，三个月免租")
    expect(chosen.locator("option")).to_have_text(["入驻", "流失"])
    expect(facts.locator("visible=true")).to_have_count(2)
    no_overflow(phone)
    shot(phone, "lead-timeline-phone")

    login(page, "staff")
    page.goto("/leads")
    expect(page.locator(f'.lead-card-firm[href="/leads/{lead["id"]}"]')).to_be_visible()
    shot(page, "leads-board")
    page.goto(f"/leads/{lead['id']}")
    shot(page, "lead-timeline")
