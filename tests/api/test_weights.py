"""Weight governance: versions, preview without saving, history, rollback, conflicts, roles, audit, CLI."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest
import typer
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli_weights import weights_app
from api.services import weights as weights_service
from api.services.write import Operator
from api.state import AppState
from matcher.weights import Weights
from models.audit import AuditEntry
from models.database import make_engine, make_session_factory
from models.weights_version import WeightsVersion
from tests.api.conftest import Api

W = "/api/v1/weights"
DEFAULTS = Weights().model_dump()
INDUSTRY_ONLY = {**dict.fromkeys(DEFAULTS, 0.0), "industry": 1.0}
"""Weights that rank by industry fit alone: a substantial change from the defaults."""


def _state(api: Api) -> AppState:
    """The running app's state."""
    state: AppState = cast(FastAPI, api.client.app).state.xingpei
    return state


def _audit(session: Session, action: str) -> list[AuditEntry]:
    """The audit entries of one action, oldest first."""
    return list(
        session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
    )


def _matches(api: Api, firm_id: str) -> dict[str, Any]:
    """The building matches of a stored firm, as staff see them."""
    answer = api.client.get(f"/api/v1/enterprises/{firm_id}/matches/buildings", headers=api.staff)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _preview(api: Api, weights: dict[str, float], **extra: Any) -> dict[str, Any]:
    """A preview of some weights, as admin."""
    answer = api.client.post(f"{W}/preview", json={"weights": weights, **extra}, headers=api.admin)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _fields(answer: Any) -> set[str]:
    """The fields a 422 answer names."""
    assert answer.status_code == 422, answer.text
    return {error["field"] for error in answer.json()["errors"]}


def test_weight_lifecycle_set_preview_history_rollback(api: Api) -> None:
    first = api.client.get(W, headers=api.staff).json()
    assert (first["version"], first["author"], first["weights"]) == (1, "system", DEFAULTS)
    assert set(first["meanings"]) == set(DEFAULTS)
    assert "产业契合" in first["meanings"]["industry"]

    unchanged = _preview(api, DEFAULTS, sample=10)
    assert unchanged["figures"]["buildings"]["changed_share"] == 0.0
    assert unchanged["changed_weights"] == {}
    assert all(
        not firm[kind]["changed"] for firm in unchanged["firms"] for kind in ("buildings", "scenarios")
    )

    preview = _preview(api, INDUSTRY_ONLY, sample=10)
    ids = [firm["id"] for firm in preview["firms"]]
    assert ids == sorted(ids)
    assert len(ids) == 10
    assert preview["based_on_version"] == 1
    assert preview["changed_weights"]["industry"] == [0.3, 1.0]
    for firm in preview["firms"]:
        for kind in ("buildings", "scenarios"):
            change = firm[kind]
            assert set(change["entered"]) == set(change["new"]) - set(change["old"])
            assert set(change["left"]) == set(change["old"]) - set(change["new"])
            for item, (old_rank, new_rank) in change["moved"].items():
                assert change["old"][old_rank - 1] == change["new"][new_rank - 1] == item
    buildings = preview["figures"]["buildings"]
    assert buildings["changed_share"] > 0
    assert buildings["old"] != buildings["new"]
    assert 0 < buildings["new"]["coverage"] <= 1
    assert 0 < buildings["new"]["district_concentration"] <= 1
    dev = preview["devset"]["buildings"]
    assert dev["old"] != dev["new"]
    assert all(0 <= dev[side][name] <= 1 for side in ("old", "new") for name in ("ndcg_at_10", "mrr"))

    firm = next(firm for firm in preview["firms"] if firm["buildings"]["changed"])
    before = _matches(api, firm["id"])
    assert before["weights_version"] == 1
    assert [r["id"] for r in before["results"]] == firm["buildings"]["old"]
    assert api.client.get(W, headers=api.staff).json()["version"] == 1
    assert len(api.client.get(f"{W}/history", headers=api.staff).json()) == 1

    body = {"weights": INDUSTRY_ONLY, "reason": "招商重点转向产业集聚", "expected_version": 1}
    saved = api.client.put(W, json=body, headers=api.admin)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["version"], saved.json()["author"], saved.json()["weights"]) == (
        2,
        "admin",
        INDUSTRY_ONLY,
    )
    after = _matches(api, firm["id"])
    assert after["weights_version"] == 2
    assert [r["id"] for r in after["results"]] == firm["buildings"]["new"]
    for result in after["results"]:
        assert all(value == 0 for name, value in result["components"].items() if name != "industry")
    assert api.client.get(W, headers=api.staff).json()["version"] == 2

    history = api.client.get(f"{W}/history", headers=api.staff).json()
    assert [entry["version"] for entry in history] == [2, 1]
    newest = history[0]
    assert (newest["author"], newest["reason"], newest["restored_from"]) == (
        "admin",
        "招商重点转向产业集聚",
        None,
    )
    assert newest["diff"]["industry"] == [0.3, 1.0]
    assert newest["diff"]["semantic"] == [0.3, 0.0]
    assert "district" in newest["diff"]
    assert datetime.fromisoformat(newest["created_at"]).tzinfo is not None
    assert history[1]["diff"] == {}

    rolled = api.client.post(f"{W}/rollback/1", json={"reason": "效果不佳，恢复默认"}, headers=api.admin)
    assert rolled.status_code == 200, rolled.text
    assert (rolled.json()["version"], rolled.json()["restored_from"]) == (3, 1)
    assert rolled.json()["weights"] == first["weights"]
    again = _matches(api, firm["id"])
    assert again["weights_version"] == 3
    assert [r["id"] for r in again["results"]] == firm["buildings"]["old"]
    assert api.client.get(f"{W}/history", headers=api.staff).json()[0]["diff"]["industry"] == [1.0, 0.3]

    with _state(api).sessions() as session:
        (set_entry,) = _audit(session, "weights.set")
        (rollback_entry,) = _audit(session, "weights.rollback")
    assert (set_entry.actor, set_entry.target_id, set_entry.before, set_entry.after) == (
        "admin",
        "2",
        DEFAULTS,
        INDUSTRY_ONLY,
    )
    assert (rollback_entry.actor, rollback_entry.target_id) == ("admin", "3")
    assert (rollback_entry.before, rollback_entry.after) == (INDUSTRY_ONLY, DEFAULTS)


def test_preview_saves_nothing_and_takes_given_firms(api: Api) -> None:
    with _state(api).sessions() as session:
        audits = len(list(session.scalars(select(AuditEntry))))
    given = ["E000003", "E000001", "E000003"]
    preview = _preview(api, INDUSTRY_ONLY, firm_ids=given)
    assert [firm["id"] for firm in preview["firms"]] == ["E000003", "E000001"]
    assert all(firm["name"] for firm in preview["firms"])
    with _state(api).sessions() as session:
        assert len(list(session.scalars(select(AuditEntry)))) == audits
        assert weights_service.current(session).version == 1
    assert _state(api).weights_version == 1
    assert _state(api).recommender.weights == Weights()
    unknown = api.client.post(
        f"{W}/preview", json={"weights": INDUSTRY_ONLY, "firm_ids": ["E000001", "NOPE"]}, headers=api.admin
    )
    assert unknown.status_code == 404
    assert "firm_ids" in unknown.json()["detail"]
    assert "NOPE" in unknown.json()["detail"]
    assert _fields(
        api.client.post(f"{W}/preview", json={"weights": DEFAULTS, "sample": 51}, headers=api.admin)
    ) == {"sample"}
    too_many = {"weights": DEFAULTS, "firm_ids": [f"E{n:05d}" for n in range(51)]}
    assert _fields(api.client.post(f"{W}/preview", json=too_many, headers=api.admin)) == {"firm_ids"}


def test_stale_expected_version_is_409_and_changes_nothing(api: Api) -> None:
    body = {"weights": INDUSTRY_ONLY, "reason": "第一次修改", "expected_version": 1}
    assert api.client.put(W, json=body, headers=api.admin).status_code == 200
    stale = api.client.put(W, json={**body, "weights": DEFAULTS, "reason": "基于旧版本"}, headers=api.admin)
    assert stale.status_code == 409
    assert "当前权重版本为 2" in stale.json()["detail"]
    assert "expected_version" in stale.json()["detail"]
    stale_rollback = api.client.post(f"{W}/rollback/1", json={"expected_version": 1}, headers=api.admin)
    assert stale_rollback.status_code == 409
    assert [entry["version"] for entry in api.client.get(f"{W}/history", headers=api.staff).json()] == [2, 1]
    assert api.client.get(W, headers=api.staff).json()["weights"] == INDUSTRY_ONLY
    assert _state(api).weights_version == 2
    assert _state(api).recommender.weights == Weights(**INDUSTRY_ONLY)


def test_interleaved_saves_in_two_transactions_lose_none(api: Api) -> None:
    """A save based on what another session read before a newer version landed is stale, not a duplicate."""
    sessions = _state(api).sessions
    with sessions() as first, sessions() as second:
        assert weights_service.current(second).version == 1  # second's snapshot predates first's save
        weights_service.save(
            session=first,
            actor=Operator("a"),
            live=None,
            weights=Weights(),
            reason="先到",
            expected_version=1,
        )
        with pytest.raises(weights_service.StaleVersion, match="当前权重版本为 2"):
            weights_service.save(
                session=second,
                actor=Operator("b"),
                live=None,
                weights=Weights(),
                reason="后到",
                expected_version=1,
            )
    with sessions() as session:
        assert session.scalars(select(WeightsVersion.reason).order_by(WeightsVersion.version)).all()[1:] == [
            "先到"
        ]
        assert [entry.actor for entry in _audit(session, "weights.set")] == ["a"]


def test_roles_staff_forbidden_and_anonymous_unauthorised(api: Api) -> None:
    put = {"weights": DEFAULTS, "reason": "试图修改", "expected_version": 1}
    writes = [
        ("PUT", W, put),
        ("POST", f"{W}/preview", {"weights": DEFAULTS}),
        ("POST", f"{W}/rollback/1", None),
    ]
    for method, url, body in writes:
        assert api.client.request(method, url, json=body, headers=api.staff).status_code == 403, url
        assert api.client.request(method, url, json=body).status_code == 401, url
    for url in (W, f"{W}/history"):
        assert api.client.get(url).status_code == 401
        assert api.client.get(url, headers=api.staff).status_code == 200
    with _state(api).sessions() as session:
        assert session.scalars(select(WeightsVersion.version)).all() == [1]


def test_bad_input_is_422_naming_the_field_and_unknown_version_404(api: Api) -> None:
    def put(weights: dict[str, Any], **extra: Any) -> Any:
        body = {"weights": weights, "reason": "测试", "expected_version": 1, **extra}
        return api.client.put(W, json=body, headers=api.admin)

    out_of_range = put({**DEFAULTS, "industry": 1.5})
    assert _fields(out_of_range) == {"weights.industry"}
    assert "应不大于 1" in out_of_range.json()["detail"]
    assert _fields(put({**DEFAULTS, "colour": 0.5})) == {"weights.colour"}
    assert "未知的字段" in put({**DEFAULTS, "colour": 0.5}).json()["detail"]
    partial = dict(DEFAULTS)
    del partial["semantic"]
    assert _fields(put(partial)) == {"weights.semantic"}
    assert _fields(put({**DEFAULTS, "spread": -0.1})) == {"weights.spread"}
    assert _fields(put({**DEFAULTS, "spread": False, "area": "0.1"})) == {"weights.spread", "weights.area"}
    assert _fields(put(DEFAULTS, expected_version=True)) == {"expected_version"}
    assert _fields(put(DEFAULTS, expected_version="1")) == {"expected_version"}
    assert _fields(put(DEFAULTS, reason="   ")) == {"reason"}
    assert _fields(put(DEFAULTS, reason="坏\x00原因")) == {"reason"}
    assert _fields(put(DEFAULTS, reason="长" * 501)) == {"reason"}
    assert _fields(put(DEFAULTS, extra_field=1)) == {"extra_field"}
    assert _fields(
        api.client.put(W, json={"weights": DEFAULTS, "expected_version": 1}, headers=api.admin)
    ) == {"reason"}
    missing = api.client.post(f"{W}/rollback/99", headers=api.admin)
    assert missing.status_code == 404
    assert "权重版本 99 不存在" in missing.json()["detail"]
    assert _fields(api.client.post(f"{W}/rollback/0", headers=api.admin)) == {"version"}
    assert _fields(api.client.post(f"{W}/rollback/{10**30}", headers=api.admin)) == {"version"}
    assert _fields(api.client.post(f"{W}/rollback/1", json={"why": "x"}, headers=api.admin)) == {"why"}
    assert [entry["version"] for entry in api.client.get(f"{W}/history", headers=api.staff).json()] == [1]


def test_openapi_describes_every_answer(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert set(paths[W]["put"]["responses"]) == {"200", "401", "403", "409", "422", "503"}
    rollback = paths[f"{W}/rollback/{{version}}"]["post"]["responses"]
    assert set(rollback) == {"200", "401", "403", "404", "409", "422", "503"}
    assert (
        "$ref" in paths[f"{W}/preview"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    )
    assert (
        paths[f"{W}/history"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["type"]
        == "array"
    )


# ---- command line ------------------------------------------------------------------------------

runner = CliRunner()
cli = typer.Typer()
cli.add_typer(weights_app, name="weights")


def _run(*args: str) -> Any:
    """Run `xingpei weights …`."""
    return runner.invoke(cli, ["weights", *args])


def _stored(url: str) -> list[WeightsVersion]:
    """Every stored version at `url`, oldest first."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        rows = list(session.scalars(select(WeightsVersion).order_by(WeightsVersion.version)))
    engine.dispose()
    return rows


def test_cli_show_set_history_rollback(configured: str, tmp_path: Path) -> None:
    shown = _run("show")
    assert shown.exit_code == 0, shown.output
    assert "版本 1" in shown.output
    assert "语义匹配" in shown.output
    assert json.loads(_run("show", "--json").output) == DEFAULTS

    inline = _run("set", json.dumps(INDUSTRY_ONLY), "--reason", "只看产业", "--expected-version", "1")
    assert inline.exit_code == 0, inline.output
    assert "已保存权重版本 2" in inline.output
    assert "industry：0.3 → 1.0" in inline.output
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({**DEFAULTS, "spread": 0.9}), encoding="utf-8")
    from_file = _run("set", str(path), "--reason", "更分散")
    assert from_file.exit_code == 0, from_file.output
    assert "已保存权重版本 3" in from_file.output
    assert json.loads(_run("show", "--json").output)["spread"] == 0.9

    rolled = _run("rollback", "2", "--reason", "恢复产业优先")
    assert rolled.exit_code == 0, rolled.output
    assert "已保存权重版本 4" in rolled.output
    assert json.loads(_run("show", "--json").output) == INDUSTRY_ONLY

    history = _run("history")
    assert history.exit_code == 0, history.output
    actor = f"cli:{getpass.getuser()}"
    assert "版本 4 · " in history.output
    assert f"{actor} · 恢复产业优先（恢复自版本 2）" in history.output
    assert "更分散" in history.output
    assert history.output.index("版本 4") < history.output.index("版本 1")

    versions = _stored(configured)
    assert [(row.version, row.author, row.restored_from) for row in versions] == [
        (1, "system", None),
        (2, actor, None),
        (3, actor, None),
        (4, actor, 2),
    ]
    engine = make_engine(configured)
    with make_session_factory(engine)() as session:
        assert [entry.target_id for entry in _audit(session, "weights.set")] == ["2", "3"]
        (entry,) = _audit(session, "weights.rollback")
        assert (entry.actor, entry.after) == (actor, INDUSTRY_ONLY)
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("set", "{not json", "--reason", "r"), "不是有效的 JSON"),
        (("set", json.dumps({**DEFAULTS, "colour": 1}), "--reason", "r"), "colour：未知的字段"),
        (("set", json.dumps({**DEFAULTS, "industry": 2}), "--reason", "r"), "industry：应不大于 1"),
        (("set", json.dumps({"industry": 0.5}), "--reason", "r"), "semantic：必填项缺失"),
        (("set", "[1, 2]", "--reason", "r"), "应为 JSON 对象"),
        (("set", "no-such-file.json", "--reason", "r"), "找不到权重文件"),
        (("set", json.dumps(DEFAULTS), "--reason", "  "), "--reason：不能为空"),
        (("set", json.dumps(DEFAULTS), "--reason", "r", "--expected-version", "7"), "当前权重版本为 1"),
        (("rollback", "99"), "权重版本 99 不存在"),
    ],
)
def test_cli_rejects_bad_input_and_writes_nothing(
    configured: str, args: tuple[str, ...], message: str
) -> None:
    assert _run("show").exit_code == 0
    result = _run(*args)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert [row.version for row in _stored(configured)] == [1]
