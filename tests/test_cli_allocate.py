"""`xingpei allocate`: the API's JSON with --json, readable lines without, and named refusals."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

import api.embedding
from api.cli import app
from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher.hashing import HashingEncoder
from tests.files import jsonl

runner = CliRunner()


@pytest.fixture
def catalogue(configured: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A small generated catalogue in the configured database, matched with the hashing encoder."""
    monkeypatch.setattr(api.embedding, "configured_model", lambda settings: HashingEncoder())
    files = {
        "buildings": generate_buildings(40, seed=7),
        "enterprises": generate_enterprises(30, seed=7),
        "scenarios": generate_scenarios(30, seed=7, reference_date=date.today()),
    }
    for kind, rows in files.items():
        path = tmp_path / f"{kind}.jsonl"
        path.write_bytes(jsonl(*rows))
        imported = runner.invoke(app, ["import", "--no-encode", kind, str(path)])
        assert imported.exit_code == 0, imported.output
    return configured


def test_json_is_the_apis_answer(catalogue: str) -> None:
    result = runner.invoke(app, ["allocate", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert {"assignments", "total_score", "optimality_gap", "greedy", "scenario_invitations"} <= found.keys()
    assert {"total_score", "overbooked_buildings"} <= found["greedy"].keys()
    assert found["assignments"]
    assert {"enterprise_id", "building_id", "area_m2", "score"} <= found["assignments"][0].keys()
    assert found["pool_firms"] == 30
    assert found["scope"] == "全市"


def test_lines_a_district_and_a_share_from_the_operator(catalogue: str) -> None:
    lines = runner.invoke(app, ["allocate"])
    assert lines.exit_code == 0, lines.output
    assert lines.output.startswith("分配建议（全市）")
    assert "场景邀请" in lines.output
    district = runner.invoke(app, ["allocate", "--district", "渝北区", "--json"])
    assert district.exit_code == 0, district.output
    assert {item["district"] for item in json.loads(district.output)["assignments"]} <= {"渝北区"}
    shared = runner.invoke(app, ["allocate", "--max-district-share", "0.5", "--json"])
    assert shared.exit_code == 0, shared.output
    assert json.loads(shared.output)["max_district_share"] == 0.5


def test_an_unknown_district_exits_1_naming_it(catalogue: str) -> None:
    result = runner.invoke(app, ["allocate", "--district", "火星区"])
    assert result.exit_code == 1
    assert "--district" in result.output
    assert "火星区" in result.output


def test_an_infeasible_share_exits_1_saying_what_would_make_it_feasible(catalogue: str) -> None:
    result = runner.invoke(app, ["allocate", "--max-district-share", "0.01"])
    assert result.exit_code == 1
    assert "--max-district-share" in result.output
    assert "上限至少应为" in result.output
    assert "分配建议（" not in result.output
