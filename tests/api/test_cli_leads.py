"""`xingpei import leads` / `export leads` and `xingpei users add --district`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from api.services import leads
from api.services.write import Operator
from models.audit import AuditEntry
from models.capacity import load_capacity
from models.clock import china_date, china_today
from models.database import make_engine, make_session_factory
from models.enums import District
from models.lead import Lead, LeadEvent, LeadKind, LostReason, Stage
from models.lead_facts import StageChange
from models.user import User
from tests.files import building, csv_bytes, enterprise, jsonl, scenario, xlsx_bytes

runner = CliRunner()
TODAY = china_today()
EARLIER = TODAY - timedelta(days=60)
LATER = TODAY - timedelta(days=20)


@contextmanager
def stored(url: str) -> Iterator[Session]:
    """A session on the database at `url`."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


def counts(url: str) -> tuple[int, int, int]:
    """How many leads, history entries and lead imports the database holds."""
    with stored(url) as session:
        return (
            session.scalar(select(func.count()).select_from(Lead)) or 0,
            session.scalar(select(func.count()).select_from(LeadEvent)) or 0,
            session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "lead.import")
            )
            or 0,
        )


@pytest.fixture
def catalogue(configured: str, tmp_path: Path) -> str:
    """Buildings B1 (渝中区, 1,200 ㎡), B2 (江北区, 500 ㎡); firms E1–E4; scenario S1, closed S2, draft S3."""
    files = {
        "buildings": jsonl(
            building(), building(id="B2", name="观音桥大厦", district="江北区", vacant_area_m2=500)
        ),
        "enterprises": jsonl(
            enterprise(),
            *(enterprise(id=f"E{n}", name=f"重庆第{n}软件有限公司", credit_code=None) for n in (2, 3, 4)),
        ),
        "scenarios": jsonl(
            scenario(), scenario(id="S2", status="closed"), scenario(id="S3", owner=None, title="草稿场景")
        ),
    }
    for kind, data in files.items():
        path = tmp_path / f"{kind}.jsonl"
        path.write_bytes(data)
        result = runner.invoke(app, ["import", "--no-encode", kind, str(path)])
        assert result.exit_code == 0, result.output
    return configured


def row(**values: Any) -> dict[str, Any]:
    """A lead row at 接洽 of E1 and B1 created 60 days ago, with fields replaced or removed (None)."""
    base: dict[str, Any] = {
        "enterprise_id": "E1",
        "building_id": "B1",
        "stage": "contacted",
        "created_on": EARLIER.isoformat(),
        "stage_on": LATER.isoformat(),
    }
    return {key: value for key, value in {**base, **values}.items() if value is not None}


SIGNED = {"signed_area_m2": 600, "rent_yuan_m2_month": 55, "expected_headcount": 40}
MOVED_IN = {
    **SIGNED,
    "signed_area_m2": 300,
    "signed_on": EARLIER.isoformat(),
    "moved_in_on": LATER.isoformat(),
}
GOOD_ROWS = [
    row(stage="signed", **SIGNED, note="合同已签"),
    row(
        enterprise_id="E2",
        building_id="B2",
        stage="入驻",
        **MOVED_IN,
        actual_headcount=35,
        owner="渝北招商张三",
    ),
    row(enterprise_id="E2", building_id=None, scenario_id="S1", stage="推荐", stage_on=EARLIER.isoformat()),
    row(enterprise_id="E3", building_id=None, scenario_id="S2", stage="won", contract_wan_yuan=120),
    row(enterprise_id="E3", stage="lost", lost_reason="租金或成本不合适"),
]


def invoke(*args: str) -> Any:
    """Run `xingpei` with these arguments."""
    return runner.invoke(app, list(args))


def test_import_writes_each_lead_with_its_history_and_a_second_import_changes_nothing(
    catalogue: str, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(jsonl(*GOOD_ROWS))
    first = invoke("import", "leads", str(path))
    assert first.exit_code == 0, first.output
    assert "跟进：共 5 行，新增 5，未变化 0" in first.output
    with stored(catalogue) as session:
        found = {(lead.enterprise_id, lead.offer_id): lead for lead in session.scalars(select(Lead))}
        signed = found["E1", "B1"]
        assert (signed.stage, signed.version, signed.signed_area_m2, signed.signed_on) == (
            Stage.signed,
            2,
            600,
            LATER,
        )
        assert signed.district == "渝中区"
        assert signed.owner.startswith("cli:"), "the importer owns a row without an owner"
        assert [(e.from_stage, e.stage, e.note) for e in signed.history] == [
            (None, Stage.recommended, "由文件导入"),
            (Stage.recommended, Stage.signed, "合同已签"),
        ]
        assert signed.history[1].facts == {
            "signed_area_m2": 600,
            "rent_yuan_m2_month": 55,
            "expected_headcount": 40,
        }
        assert [china_date(event.at) for event in signed.history] == [EARLIER, LATER]
        moved = found["E2", "B2"]
        assert (moved.stage, moved.owner, moved.actual_headcount, moved.moved_in_on, moved.signed_on) == (
            Stage.moved_in,
            "渝北招商张三",
            35,
            LATER,
            EARLIER,
        )
        recommended = found["E2", "S1"]
        assert (recommended.version, [e.note for e in recommended.history]) == (1, ["由文件导入"])
        assert found["E3", "S2"].contract_wan_yuan == 120
        assert found["E3", "B1"].lost_reason == LostReason.cost
        assert load_capacity(session).taken == {"B1": 600.0}, (
            "the signed area comes off; the ledger knows the move-in"
        )
    assert counts(catalogue) == (5, 9, 1)
    again = invoke("import", "leads", str(path))
    assert again.exit_code == 0, again.output
    assert "跟进：共 5 行，新增 0，未变化 5" in again.output
    assert counts(catalogue) == (5, 9, 2)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_chinese_headers_and_labels_are_read(catalogue: str, tmp_path: Path, suffix: str) -> None:
    header = [
        "企业编号",
        "楼宇编号",
        "阶段",
        "签约面积（㎡）",
        "签约租金（元/㎡·月）",
        "预计入驻人数",
        "创建日期",
        "阶段日期",
    ]
    cells: list[Any] = ["E1", "B1", "签约", 800, 60, 25]
    path = tmp_path / f"ledger{suffix}"
    if suffix == ".csv":
        path.write_bytes(csv_bytes(header, [*cells, EARLIER.isoformat(), LATER.isoformat()]))
    else:  # Excel keeps dates as date cells
        path.write_bytes(xlsx_bytes(header, [*cells, EARLIER, LATER]))
    result = invoke("import", "leads", str(path))
    assert result.exit_code == 0, result.output
    with stored(catalogue) as session:
        assert load_capacity(session).taken == {"B1": 800.0}


def test_a_file_with_bad_rows_names_every_one_and_writes_nothing(catalogue: str, tmp_path: Path) -> None:
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    before_creation = (EARLIER - timedelta(days=1)).isoformat()
    bad = [
        # 1: good on its own, but with row 13 signs 1,300 ㎡ of B1's 1,200
        row(stage="signed", **SIGNED),
        row(enterprise_id="E404"),
        row(enterprise_id="E2", building_id="B404"),
        # 4: a scenario stage on a building lead
        row(enterprise_id="E2", stage="won", contract_wan_yuan=10),
        # 5: two of the signing facts missing
        row(enterprise_id="E2", building_id="B2", stage="signed", signed_area_m2=100),
        # 6: moved in without its signing
        row(
            enterprise_id="E3",
            building_id="B2",
            stage="moved_in",
            moved_in_on=LATER.isoformat(),
            actual_headcount=3,
        ),
        # 7: a fact of another stage
        row(enterprise_id="E3", stage="visited", signed_area_m2=50),
        row(enterprise_id="E4", stage="signed", **{**SIGNED, "signed_area_m2": -5}),
        row(enterprise_id="E4", building_id="B2", created_on=tomorrow, stage_on=tomorrow),
        row(
            enterprise_id="E2", building_id=None, scenario_id="S1", stage="applied", stage_on=before_creation
        ),
        # 11: a draft scenario; 12: a closed scenario at an open stage
        row(enterprise_id="E2", building_id=None, scenario_id="S3", stage="recommended"),
        row(enterprise_id="E3", building_id=None, scenario_id="S2", stage="applied"),
        row(enterprise_id="E4", building_id="B1", stage="signed", **{**SIGNED, "signed_area_m2": 700}),
        # 14: row 1 again; 15: a building and a scenario
        row(stage="signed", **SIGNED),
        row(enterprise_id="E1", building_id="B2", scenario_id="S1"),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(jsonl(*bad))
    result = invoke("import", "leads", str(path))
    assert result.exit_code == 1
    expected = [
        "第 1 行，signed_area_m2（签约面积（㎡））：楼宇「解放碑环球金融中心」可用面积 1,200㎡，"
        "本文件在该楼宇签约合计 1,300㎡",
        "第 2 行，enterprise_id（企业编号）：企业「E404」不存在",
        "第 3 行，building_id（楼宇编号）：楼宇「B404」不存在",
        "第 4 行，stage（阶段）：楼宇跟进没有「中标」阶段",
        "第 5 行，expected_headcount（预计入驻人数）：「签约」须填写预计入驻人数",
        "第 5 行，rent_yuan_m2_month（签约租金（元/㎡·月））：「签约」须填写签约租金",
        "第 6 行，signed_area_m2（签约面积（㎡））：「入驻」须同时填写签约时的签约面积（㎡）",
        "第 7 行，signed_area_m2（签约面积（㎡））：签约面积（㎡）不属于「带看」阶段",
        "第 8 行，signed_area_m2（签约面积（㎡））：应大于 0，实际为 -5",
        f"第 9 行，created_on（创建日期）：{tomorrow} 晚于今天",
        "第 10 行，stage_on（阶段日期）：阶段日期",
        "第 11 行，scenario_id（场景编号）：场景「草稿场景」是草稿",
        "第 12 行，stage（阶段）：场景「城市轨道交通客流预测与调度优化」当前为「已截止」",
        "第 13 行，signed_area_m2（签约面积（㎡））：楼宇「解放碑环球金融中心」可用面积 1,200㎡",
        "第 14 行，enterprise_id（企业编号）：与第 1 行是同一条跟进",
        "第 15 行，building_id（楼宇编号）：须填写楼宇编号（building_id）或场景编号（scenario_id）之一",
    ]
    missing = [line for line in expected if line not in result.output]
    assert not missing, f"{missing}\n{result.output}"
    assert "未写入任何数据" in result.output
    assert counts(catalogue) == (0, 0, 0)


def test_a_row_beside_an_open_stored_lead_of_its_pair_or_contradicting_its_own_is_refused(
    catalogue: str, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(jsonl(row()))
    assert invoke("import", "leads", str(path)).exit_code == 0
    path.write_bytes(
        jsonl(
            row(stage="lost", lost_reason="cost"),
            row(stage="intent", created_on=LATER.isoformat()),
            row(stage="lost", lost_reason="other", created_on=LATER.isoformat()),
        )
    )
    result = invoke("import", "leads", str(path))
    assert result.exit_code == 1
    assert "第 1 行，stage（阶段）：系统中已有这条跟进（编号 1" in result.output
    assert "当前为「接洽」，与文件不一致" in result.output
    assert (
        "第 2 行，enterprise_id（企业编号）：企业「重庆星河芯微电子科技有限公司」"
        "与楼宇「解放碑环球金融中心」已有进行中的跟进（编号 1）"
    ) in result.output
    assert "第 3 行" not in result.output, "a finished lead of the pair may sit beside the open one"
    assert counts(catalogue) == (1, 2, 1)


def _api_made_leads(url: str) -> None:
    """Leads started and moved on through the service, as staff make them."""
    actor = Operator("staff")
    moved_in = {"stage": "moved_in", "moved_in_on": TODAY, "actual_headcount": 12}
    moves: list[tuple[str, LeadKind, str, list[dict[str, Any]]]] = [
        (
            "E1",
            LeadKind.building,
            "B1",
            [{"stage": "visited", "note": "带看 3 层"}, {"stage": "signed", **SIGNED}],
        ),
        ("E2", LeadKind.building, "B2", [{"stage": "signed", **SIGNED, "signed_area_m2": 200}, moved_in]),
        ("E3", LeadKind.scenario, "S1", [{"stage": "won", "contract_wan_yuan": 88.5, "note": "中标"}]),
        ("E4", LeadKind.building, "B1", [{"stage": "lost", "lost_reason": "location"}]),
        ("E4", LeadKind.scenario, "S1", []),
    ]
    with stored(url) as session:
        for firm, kind, offer, changes in moves:
            lead = leads.start(
                session=session,
                actor=actor,
                live=None,
                state=None,
                enterprise=firm,
                kind=kind,
                offer_id=offer,
            )
            for version, change in enumerate(changes, start=1):
                leads.advance(
                    session=session,
                    actor=actor,
                    live=None,
                    lead_id=lead.id,
                    change=StageChange.model_validate({**change, "expected_version": version}),
                )


@pytest.mark.parametrize(("suffix", "chinese"), [(".jsonl", False), (".csv", True), (".xlsx", True)])
def test_export_then_import_changes_nothing(
    catalogue: str, tmp_path: Path, suffix: str, chinese: bool
) -> None:
    _api_made_leads(catalogue)
    before = counts(catalogue)
    with stored(catalogue) as session:
        versions = dict(session.execute(select(Lead.id, Lead.version)).all())
        taken = load_capacity(session).taken
    path = tmp_path / f"leads{suffix}"
    exported = invoke("export", "leads", str(path), *(["--chinese"] if chinese else []))
    assert exported.exit_code == 0, exported.output
    assert "已导出跟进记录 5 条" in exported.output
    imported = invoke("import", "leads", str(path))
    assert imported.exit_code == 0, imported.output
    assert "跟进：共 5 行，新增 0，未变化 5" in imported.output
    assert counts(catalogue)[:2] == before[:2]
    with stored(catalogue) as session:
        assert dict(session.execute(select(Lead.id, Lead.version)).all()) == versions
        assert load_capacity(session).taken == taken == {"B1": 600.0, "B2": 200.0}
    if suffix == ".jsonl":
        first = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert [item["stage"] for item in first] == ["signed", "moved_in", "won", "lost", "recommended"]
        assert [item["note"] for item in first] == ["", "", "中标", "", ""]
        assert set(first[1]) >= {"signed_area_m2", "signed_on", "moved_in_on", "actual_headcount"}
        lost = {
            "id",
            "enterprise_id",
            "building_id",
            "stage",
            "lost_reason",
            "owner",
            "created_on",
            "stage_on",
        }
        assert set(first[3]) == {*lost, "note"}


def test_users_add_with_a_district(configured: str) -> None:
    added = invoke("users", "add", "渝北小李", "--role", "staff", "--district", "渝北区")
    assert added.exit_code == 0, added.output
    assert "已创建用户 渝北小李（招商人员，渝北区）" in added.output
    unknown = invoke("users", "add", "江南小王", "--role", "staff", "--district", "江南区")
    assert unknown.exit_code == 2
    assert "--district：未知的区「江南区」，可选：渝中区" in unknown.output
    admin = invoke("users", "add", "管理员老周", "--role", "admin", "--district", "渝北区")
    assert admin.exit_code == 1
    assert "只有招商人员可以指定所属区" in admin.output
    with stored(configured) as session:
        assert {user.name: user.district for user in session.scalars(select(User))} == {
            "渝北小李": District.yubei
        }
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.add")).one()
        assert entry.after == {"name": "渝北小李", "role": "staff", "district": "渝北区"}
