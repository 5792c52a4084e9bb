"""Bad input to the lead endpoints: every stage pair of both kinds, bad facts, unknown ids, stale versions.

Leads are brought to their starting stage through the service (fast); every assertion goes through HTTP:
an allowed move succeeds, a refused one is a 4xx with a Chinese message and leaves the lead as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI

from api.services import leads
from api.services.write import Operator
from api.state import AppState
from models.clock import china_today
from models.lead import LeadKind, Stage, refusal, stages_of
from models.lead_facts import StageChange
from tests.api.conftest import Api
from tests.files import jsonl, scenario
from tools.transition_table import allowed

V1 = "/api/v1"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
ALLOWED: dict[LeadKind, dict[str, set[str]]] = {
    LeadKind.building: {
        "recommended": {"contacted", "visited", "intent", "signed", "lost"},
        "contacted": {"visited", "intent", "signed", "lost"},
        "visited": {"intent", "signed", "lost"},
        "intent": {"signed", "lost"},
        "signed": {"moved_in", "lost"},
        "moved_in": set(),
        "lost": set(),
    },
    LeadKind.scenario: {
        "recommended": {"applied", "shortlisted", "won", "not_won", "lost"},
        "applied": {"shortlisted", "won", "not_won", "lost"},
        "shortlisted": {"won", "not_won", "lost"},
        "won": set(),
        "not_won": set(),
        "lost": set(),
    },
}
"""SPEC §8 written out: from each stage, the stages a lead may move to (every other stage is refused)."""


FACTS_SENT: dict[Stage, dict[str, Any]] = {
    Stage.signed: {"signed_area_m2": 10, "rent_yuan_m2_month": 50, "expected_headcount": 3},
    Stage.moved_in: {"actual_headcount": 3},
    Stage.won: {"contract_wan_yuan": 30},
    Stage.lost: {"lost_reason": "other"},
}


def facts(stage: Stage, today: date) -> dict[str, Any]:
    """The facts a stage needs, as a request carries them (a move-in today)."""
    moved_in_on = {"moved_in_on": today.isoformat()} if stage == Stage.moved_in else {}
    return {**FACTS_SENT.get(stage, {}), **moved_in_on}


def path_to(kind: LeadKind, stage: Stage) -> list[Stage]:
    """The moves that bring a new lead to `stage` (入驻 only after 签约)."""
    if stage == Stage.recommended:
        return []
    return (
        [Stage.signed, Stage.moved_in] if kind == LeadKind.building and stage == Stage.moved_in else [stage]
    )


@dataclass(frozen=True)
class Setting:
    """The app's state and stored ids: firms, buildings, and open scenarios still taking applications."""

    state: AppState
    firms: list[str]
    buildings: list[str]
    scenarios: list[str]


def setting(api: Api) -> Setting:
    """Read the ids the tests pair up."""
    app = api.client.app
    assert isinstance(app, FastAPI)

    def items(kind: str, **params: Any) -> list[dict[str, Any]]:
        answer = api.client.get(f"{V1}/{kind}", params={"limit": 100, **params}, headers=api.staff)
        return list(answer.json()["items"])

    today = china_today().isoformat()
    open_ = [s["id"] for s in items("scenarios", status="open") if (s["deadline"] or today) >= today]
    return Setting(
        app.state.xingpei,
        [f["id"] for f in items("enterprises")],
        [b["id"] for b in items("buildings")],
        open_,
    )


def reach(stored: Setting, kind: LeadKind, firm: str, offer: str, stage: Stage) -> int:
    """A new lead of the pair brought to `stage` through the service; its id."""
    actor = Operator("测试准备")
    with stored.state.sessions() as session:
        lead = leads.start(
            session=session,
            actor=actor,
            live=stored.state,
            state=None,
            enterprise=firm,
            kind=kind,
            offer_id=offer,
        )
        for version, step in enumerate(path_to(kind, stage), start=1):
            change = {"stage": step, "expected_version": version, **facts(step, china_today())}
            leads.advance(
                session=session,
                actor=actor,
                live=stored.state,
                lead_id=lead.id,
                change=StageChange.model_validate(change),
            )
        return lead.id


def read(api: Api, lead_id: int) -> dict[str, Any]:
    """A lead as the API shows it."""
    answer = api.client.get(f"{V1}/leads/{lead_id}", headers=api.staff)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def unchanged(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether a lead kept its stage, version and history."""
    return all(before[key] == after[key] for key in ("stage", "version", "history", "signed_area_m2"))


def move(api: Api, lead_id: int, body: dict[str, Any]) -> Any:
    """POST a stage change as staff."""
    return api.client.post(f"{V1}/leads/{lead_id}/stage", json=body, headers=api.staff)


def _names_the_rule(answer: dict[str, Any], why: str | None) -> bool:
    """Whether a 422 carries the stage rule's Chinese reason against the `stage` field."""
    return (
        why is not None
        and CHINESE.search(why) is not None
        and answer["errors"] == [{"field": "stage", "message": why}]
        and why in answer["detail"]
    )


def test_every_stage_pair_of_both_kinds(api: Api) -> None:
    stored = setting(api)
    today = china_today()
    problems: list[str] = []
    observed: dict[LeadKind, dict[str, set[str]]] = {kind: {} for kind in LeadKind}
    for kind in LeadKind:
        offers = stored.buildings if kind == LeadKind.building else stored.scenarios
        cases = [(current, target) for current in stages_of(kind) for target in Stage]
        for n, (current, target) in enumerate(cases):
            firm = stored.firms[n % len(stored.firms)]
            offer = offers[(n + n // len(stored.firms)) % len(offers)]
            lead_id = reach(stored, kind, firm, offer, current)
            before = read(api, lead_id)
            body = {"stage": target.value, "expected_version": before["version"], **facts(target, today)}
            answer = move(api, lead_id, body)
            after = read(api, lead_id)
            where = (
                f"{kind.value}: {current.value} → {target.value}: {answer.status_code} {answer.text[:120]}"
            )
            if answer.status_code == 200:
                observed[kind].setdefault(current.value, set()).add(target.value)
                if (after["stage"], after["version"], len(after["history"])) != (
                    target.value,
                    before["version"] + 1,
                    len(before["history"]) + 1,
                ):
                    problems.append(f"{where} (not recorded as the new stage)")
            elif answer.status_code != 422:
                problems.append(f"{where} (expected 200 or 422)")
            elif not _names_the_rule(answer.json(), refusal(kind, current, target)):
                problems.append(f"{where} (not the rule's Chinese message on the stage field)")
            elif not unchanged(before, after):
                problems.append(f"{where} (a refused move changed the lead)")
    assert not problems, "\n".join(problems)
    for kind in LeadKind:
        expected = {current: targets for current, targets in ALLOWED[kind].items() if targets}
        assert observed[kind] == expected, kind


def test_the_printed_table_is_the_tested_one() -> None:
    for kind, table in ALLOWED.items():
        for current in stages_of(kind):
            for target in Stage:
                assert allowed(kind, current, target) == (target.value in table[current.value]), (
                    current,
                    target,
                )


def test_refusals_say_which_rule_in_chinese(api: Api) -> None:
    stored = setting(api)
    building, offer = stored.buildings[0], stored.scenarios[0]
    cases = [
        (
            LeadKind.building,
            building,
            Stage.visited,
            Stage.contacted,
            "阶段不能倒退：不能从「带看」回到「接洽」",
        ),
        (LeadKind.building, building, Stage.visited, Stage.visited, "该跟进已处于「带看」阶段"),
        (LeadKind.building, building, Stage.intent, Stage.moved_in, "入驻之前须先签约"),
        (LeadKind.building, building, Stage.moved_in, Stage.lost, "该跟进已是「入驻」，不能再变更阶段"),
        (LeadKind.building, building, Stage.lost, Stage.contacted, "该跟进已是「流失」"),
        (LeadKind.building, building, Stage.contacted, Stage.won, "楼宇跟进没有「中标」阶段"),
        (LeadKind.scenario, offer, Stage.won, Stage.lost, "该跟进已是「中标」"),
        (LeadKind.scenario, offer, Stage.not_won, Stage.won, "该跟进已是「未中标」"),
        (LeadKind.scenario, offer, Stage.applied, Stage.signed, "应用场景跟进没有「签约」阶段"),
    ]
    for firm, (kind, offer_id, current, target, words) in zip(stored.firms, cases, strict=False):
        lead_id = reach(stored, kind, firm, offer_id, current)
        before = read(api, lead_id)
        body = {"stage": target.value, "expected_version": before["version"], **facts(target, china_today())}
        answer = move(api, lead_id, body)
        assert answer.status_code == 422, (current, target, answer.text)
        assert words in answer.json()["detail"]
        assert unchanged(before, read(api, lead_id))


def test_bad_stage_facts_are_422_in_chinese_and_change_nothing(api: Api) -> None:
    stored = setting(api)
    building_lead = reach(stored, LeadKind.building, stored.firms[0], stored.buildings[0], Stage.intent)
    signed_lead = reach(stored, LeadKind.building, stored.firms[1], stored.buildings[1], Stage.signed)
    scenario_lead = reach(stored, LeadKind.scenario, stored.firms[2], stored.scenarios[0], Stage.shortlisted)
    signed = {"stage": "signed", "signed_area_m2": 100, "rent_yuan_m2_month": 50, "expected_headcount": 5}
    moved_in = {"stage": "moved_in", "moved_in_on": china_today().isoformat(), "actual_headcount": 5}
    cases: list[tuple[int, dict[str, Any], str]] = [
        (building_lead, {"stage": "signed", "signed_area_m2": 100}, "「签约」须填写签约租金"),
        (building_lead, {"stage": "lost"}, "「流失」须填写流失原因"),
        (building_lead, {"stage": "visited", "contract_wan_yuan": 5}, "合同金额（万元）不属于「带看」阶段"),
        (building_lead, {**signed, "lost_reason": "cost"}, "流失原因不属于「签约」阶段"),
        (building_lead, {**signed, "signed_area_m2": -5}, "应大于 0"),
        (building_lead, {**signed, "signed_area_m2": 0}, "应大于 0"),
        (building_lead, {**signed, "signed_area_m2": 5_000_000}, "应不大于 200,000"),
        (building_lead, {**signed, "expected_headcount": 0}, "应不小于 1"),
        (building_lead, {**signed, "expected_headcount": 5_000_000}, "应不大于 100,000"),
        (building_lead, {**signed, "rent_yuan_m2_month": -1}, "应不小于 0"),
        (building_lead, {**signed, "rent_yuan_m2_month": 99_999}, "应不大于 1,000"),
        (building_lead, {**signed, "signed_area_m2": "一千"}, "应为数字"),
        (building_lead, {"stage": "lost", "lost_reason": "价格"}, "未知的流失原因「价格」"),
        (building_lead, {"stage": "飞升"}, "未知的跟进阶段「飞升」"),
        (signed_lead, {**moved_in, "actual_headcount": -1}, "应不小于 0"),
        (signed_lead, {**moved_in, "moved_in_on": "下周"}, "应为日期"),
        (scenario_lead, {"stage": "won", "contract_wan_yuan": -1}, "应大于 0"),
        (scenario_lead, {"stage": "won", "contract_wan_yuan": 1e12}, "contract_wan_yuan：应不大于"),
        (scenario_lead, {"stage": "won"}, "「中标」须填写合同金额"),
    ]
    for lead_id, body, words in cases:
        before = read(api, lead_id)
        answer = move(api, lead_id, {"expected_version": before["version"], **body})
        assert answer.status_code == 422, (body, answer.text)
        assert words in answer.json()["detail"], (body, answer.text)
        assert unchanged(before, read(api, lead_id)), body


def test_a_move_in_date_in_the_future_or_before_signing_is_refused(api: Api) -> None:
    stored = setting(api)
    lead_id = reach(stored, LeadKind.building, stored.firms[0], stored.buildings[0], Stage.signed)
    today = china_today()
    for day, words in (
        (today + timedelta(days=1), f"晚于今天（{today.isoformat()}）"),
        (today - timedelta(days=1), f"早于签约日期 {today.isoformat()}"),
    ):
        before = read(api, lead_id)
        body = {
            "stage": "moved_in",
            "moved_in_on": day.isoformat(),
            "actual_headcount": 3,
            "expected_version": before["version"],
        }
        answer = move(api, lead_id, body)
        assert answer.status_code == 422, answer.text
        assert words in answer.json()["detail"]
        assert unchanged(before, read(api, lead_id))


def test_signing_more_than_the_building_has_left_names_both_figures(api: Api) -> None:
    stored = setting(api)
    building = stored.buildings[0]
    vacant = api.client.get(f"{V1}/buildings/{building}", headers=api.staff).json()["vacant_area_m2"]
    reach(stored, LeadKind.building, stored.firms[0], building, Stage.signed)  # takes 10 ㎡
    lead_id = reach(stored, LeadKind.building, stored.firms[1], building, Stage.intent)
    left = vacant - 10
    body = {"stage": "signed", "rent_yuan_m2_month": 50, "expected_headcount": 5, "expected_version": 2}
    before = read(api, lead_id)
    answer = move(api, lead_id, {**body, "signed_area_m2": left + 1})
    assert answer.status_code == 422, answer.text
    assert f"签约面积 {left + 1:,.0f}㎡" in answer.json()["detail"]
    assert f"当前可用面积 {left:,.0f}㎡" in answer.json()["detail"]
    assert unchanged(before, read(api, lead_id))
    assert move(api, lead_id, {**body, "signed_area_m2": left}).status_code == 200


def test_unknown_ids_are_404_and_write_nothing(api: Api) -> None:
    stored = setting(api)
    firm, building = stored.firms[0], stored.buildings[0]
    for body, words in (
        ({"enterprise_id": "E-NOPE", "building_id": building}, "企业「E-NOPE」不存在"),
        ({"enterprise_id": firm, "building_id": "B-NOPE"}, "楼宇「B-NOPE」不存在"),
        ({"enterprise_id": firm, "scenario_id": "S-NOPE"}, "应用场景「S-NOPE」不存在"),
    ):
        answer = api.client.post(f"{V1}/leads", json=body, headers=api.staff)
        assert answer.status_code == 404, answer.text
        assert answer.json() == {"detail": words}
    assert api.client.get(f"{V1}/leads/999999", headers=api.staff).json() == {
        "detail": "跟进记录 999999 不存在"
    }
    moved = move(api, 999999, {"stage": "contacted", "expected_version": 1})
    assert moved.status_code == 404
    assert moved.json() == {"detail": "跟进记录 999999 不存在"}
    assert api.client.get(f"{V1}/leads", headers=api.staff).json()["total"] == 0


def test_a_lead_for_a_draft_closed_or_past_deadline_scenario_is_refused(api: Api) -> None:
    firm = setting(api).firms[0]
    drafts = api.client.get(f"{V1}/scenarios", params={"status": "draft"}, headers=api.staff).json()["items"]
    yesterday = (china_today() - timedelta(days=1)).isoformat()
    for record in (scenario(id="CLOSED", status="closed"), scenario(id="LATE", deadline=yesterday)):
        assert api.client.post(f"{V1}/scenarios", json=record, headers=api.admin).status_code == 201
    for scenario_id, words in (
        (drafts[0]["id"], "当前为「草稿」，只有征集中的场景可以跟进"),
        ("CLOSED", "当前为「已截止」，只有征集中的场景可以跟进"),
        ("LATE", f"已于 {yesterday} 截止，不能再跟进"),
    ):
        body = {"enterprise_id": firm, "scenario_id": scenario_id}
        answer = api.client.post(f"{V1}/leads", json=body, headers=api.staff)
        assert answer.status_code == 422, answer.text
        assert words in answer.json()["detail"]
    assert api.client.get(f"{V1}/leads", headers=api.staff).json()["total"] == 0


def test_a_stale_expected_version_is_409_and_changes_nothing(api: Api) -> None:
    stored = setting(api)
    lead_id = reach(stored, LeadKind.building, stored.firms[0], stored.buildings[0], Stage.recommended)
    assert move(api, lead_id, {"stage": "contacted", "expected_version": 1}).status_code == 200
    before = read(api, lead_id)
    stale = move(api, lead_id, {"stage": "visited", "expected_version": 1})
    assert stale.status_code == 409
    assert stale.json() == {"detail": "该跟进已被他人更新（当前版本 2，您提交的是版本 1），请刷新后再试"}
    assert unchanged(before, read(api, lead_id))


def test_a_lead_file_over_http_names_every_bad_row_and_writes_nothing(api: Api) -> None:
    stored = setting(api)
    today = china_today().isoformat()
    good = {"enterprise_id": stored.firms[0], "building_id": stored.buildings[0], "stage": "接洽"}
    dates = {"created_on": today, "stage_on": today}
    bad = jsonl(
        {**good, **dates},
        {**good, **dates, "enterprise_id": "E-NOPE", "building_id": stored.buildings[1]},
        {**good, **dates, "building_id": stored.buildings[2], "stage": "signed", "signed_area_m2": 10},
    )
    answer = api.client.post(f"{V1}/import/leads", files={"file": ("跟进.jsonl", bad)}, headers=api.admin)
    assert answer.status_code == 422, answer.text
    assert [(error["row"], error["field"]) for error in answer.json()["errors"]] == [
        (2, "enterprise_id"),
        (3, "expected_headcount"),
        (3, "rent_yuan_m2_month"),
    ]
    assert api.client.get(f"{V1}/leads", headers=api.staff).json()["total"] == 0
    ok = api.client.post(
        f"{V1}/import/leads", files={"file": ("跟进.jsonl", jsonl({**good, **dates}))}, headers=api.admin
    )
    assert ok.status_code == 200, ok.text
    assert ok.json() == {
        "rows": 1,
        "created": 1,
        "unchanged": 0,
        "summary": "跟进：共 1 行，新增 1，未变化 0",
    }
    refused = api.client.post(f"{V1}/import/leads", files={"file": ("x.jsonl", bad)}, headers=api.staff)
    assert refused.status_code == 403


def test_json_values_of_the_wrong_type_are_refused_not_converted(api: Api) -> None:
    lead = api.client.post(
        f"{V1}/leads", json={"enterprise_id": "E000001", "building_id": "B00001"}, headers=api.staff
    )
    assert lead.status_code == 201, lead.text
    for body, field in (
        ({"stage": "contacted", "expected_version": True}, "expected_version"),
        ({"stage": "contacted", "expected_version": "1"}, "expected_version"),
        ({"stage": "contacted", "expected_version": 1, "note": 5}, "note"),
    ):
        answer = api.client.post(f"{V1}/leads/{lead.json()['id']}/stage", json=body, headers=api.staff)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.json()["detail"]
    after = api.client.get(f"{V1}/leads/{lead.json()['id']}", headers=api.staff).json()
    assert after["version"] == 1
