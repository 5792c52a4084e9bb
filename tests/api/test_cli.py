"""The `xingpei` command: import and export, all-or-nothing, with every row error printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import api.embedding
from api.cli import app
from api.config import Settings, get_settings
from matcher.encoder import SentenceEncoder
from models.building import Building
from models.catalogue import count
from models.database import make_engine, make_session_factory
from models.text_vector import TextVector
from tests.files import building, csv_bytes, enterprise, jsonl

runner = CliRunner()


def stored_count(url: str, kind: str) -> int:
    """How many records of a kind the database at `url` holds."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        number = count(session, kind)  # type: ignore[arg-type]
    engine.dispose()
    return number


def cached_vectors(url: str) -> int:
    """How many vectors the vector cache of the database at `url` holds."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        number = session.scalar(select(func.count()).select_from(TextVector)) or 0
    engine.dispose()
    return number


def test_import_prints_a_summary_and_is_idempotent(
    configured: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[str] = []
    real_model = api.embedding.configured_model

    def counted_model(settings: Settings) -> SentenceEncoder:
        loaded.append(settings.embedding_model)
        return real_model(settings)

    monkeypatch.setattr(api.embedding, "configured_model", counted_model)
    path = tmp_path / "buildings.jsonl"
    path.write_bytes(jsonl(building(), building(id="B2", name="观音桥大厦")))
    first = runner.invoke(app, ["import", "buildings", str(path)])
    assert len(loaded) == 1
    second = runner.invoke(app, ["import", "buildings", str(path)])
    assert len(loaded) == 1, "a re-import whose texts are all cached loads no model"
    assert first.exit_code == 0, first.output
    assert "新增 2" in first.output
    assert "未变化 2" in second.output
    assert stored_count(configured, "buildings") == 2
    # The default model encoded both texts into the vector cache; the same file again encodes nothing.
    assert "新编码 2 条文本" in first.output
    assert "新编码 0 条文本" in second.output
    assert cached_vectors(configured) == 2


def test_import_without_encoding_or_without_a_model_still_imports(
    configured: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "buildings.jsonl"
    path.write_bytes(jsonl(building()))
    skipped = runner.invoke(app, ["import", "--no-encode", "buildings", str(path)])
    assert skipped.exit_code == 0, skipped.output
    assert "新编码" not in skipped.output
    monkeypatch.setenv("XINGPEI_EMBEDDING_MODEL", str(tmp_path / "no-model"))
    get_settings.cache_clear()
    path.write_bytes(jsonl(building(id="B2")))
    unencoded = runner.invoke(app, ["import", "buildings", str(path)])
    assert unencoded.exit_code == 0, unencoded.output
    assert "未编码（数据已导入，服务启动时再编码）" in unencoded.output
    assert stored_count(configured, "buildings") == 2
    assert cached_vectors(configured) == 0


def test_bad_file_exits_non_zero_lists_every_bad_row_and_writes_nothing(
    configured: str, tmp_path: Path
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl(building()))
    runner.invoke(app, ["import", "buildings", str(good)])
    bad = tmp_path / "bad.csv"
    header = ["id", "name", "district", "vacant_area_m2", "rent_yuan_m2_month", "fit_out"]
    bad.write_bytes(
        csv_bytes(
            header,
            ["B1", "改名", "渝中区", "100", "10", "shell"],
            ["B2", "甲", "江南区", "100", "10", "shell"],
            ["B3", "乙", "渝北区", "-1", "十元", "shell"],
        )
    )
    result = runner.invoke(app, ["import", "buildings", str(bad)])
    assert result.exit_code == 1
    assert "3 处错误" in result.output
    assert "第 3 行，district（所在区）" in result.output
    assert "第 4 行，vacant_area_m2（可用面积）" in result.output
    assert "第 4 行，rent_yuan_m2_month（租金）" in result.output
    engine = make_engine(configured)
    with make_session_factory(engine)() as session:
        assert session.scalars(select(Building.name)).all() == ["解放碑环球金融中心"]
    engine.dispose()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".xlsx"])
def test_export_writes_what_import_reads(configured: str, tmp_path: Path, suffix: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(enterprise(), enterprise(id="E2", credit_code=None, industries=None)))
    runner.invoke(app, ["import", "enterprises", str(source)])
    target = tmp_path / f"out{suffix}"
    exported = runner.invoke(app, ["export", "enterprises", str(target), "--chinese"])
    assert exported.exit_code == 0, exported.output
    again = runner.invoke(app, ["import", "enterprises", str(target)])
    assert again.exit_code == 0, again.output
    assert "未变化 2" in again.output


def test_export_to_an_unknown_format_is_refused(configured: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "buildings", str(tmp_path / "out.pdf")])
    assert result.exit_code == 2
    assert "不支持的文件格式" in result.output


def test_gen_writes_a_valid_catalogue_of_the_asked_size(configured: str, tmp_path: Path) -> None:
    path = tmp_path / "firms.csv"
    assert runner.invoke(app, ["gen", "enterprises", "1500", str(path), "--seed", "7"]).exit_code == 0
    result = runner.invoke(app, ["import", "enterprises", str(path), "--no-encode"])
    assert result.exit_code == 0, result.output
    assert stored_count(configured, "enterprises") == 1500


def test_users_add_prints_a_token_last_that_the_api_accepts(configured: str) -> None:
    result = runner.invoke(
        app, ["users", "add", "王主任", "--role", "admin", "--password-stdin"], input="密码123\n"
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    engine = make_engine(configured)
    from api.auth import user_for_token, verify_password

    with make_session_factory(engine)() as session:
        user = user_for_token(session, token)
        assert user is not None
        assert (user.name, user.role) == ("王主任", "admin")
        assert verify_password(user.password_hash, "密码123")
        assert token not in str(user.password_hash)
    engine.dispose()
    again = runner.invoke(app, ["users", "add", "王主任", "--role", "staff"])
    assert again.exit_code == 1
    assert "已存在" in again.output


def test_match_command_prints_the_api_json(configured: str, tmp_path: Path) -> None:
    buildings, firms = tmp_path / "b.jsonl", tmp_path / "e.jsonl"
    buildings.write_bytes(jsonl(building(), building(id="B2", district="江北区")))
    firms.write_bytes(jsonl(enterprise(required_area_m2=500, max_rent_yuan_m2_month=100)))
    runner.invoke(app, ["import", "buildings", str(buildings)])
    runner.invoke(app, ["import", "enterprises", str(firms)])
    result = runner.invoke(app, ["match", "buildings", "--enterprise", "E1", "-k", "5", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert {r["id"] for r in answer["results"]} == {"B1", "B2"}
    assert answer["weights_version"] == 1
    missing = runner.invoke(app, ["match", "enterprises", "--building", "NOPE"])
    assert missing.exit_code == 1
    assert "不存在" in missing.output
