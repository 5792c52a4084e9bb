"""Importing, upserting and exporting the catalogue against the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.building import Building
from models.capacity import CAPACITY_STAMP
from models.catalogue import content_hash, count, import_file, iter_records, parse_file
from models.catalogue_stamp import stamps, versions
from models.interchange import write_records
from models.records import RECORD_TYPES, RecordKind
from models.row_errors import ImportRejected
from models.scenario import Scenario
from models.weights_version import WeightsVersion
from tests.files import building, enterprise, jsonl, scenario

SAMPLES = {"buildings": building, "enterprises": enterprise, "scenarios": scenario}


def test_import_creates_then_changes_nothing_on_the_same_file(db_session: Session) -> None:
    data = jsonl(building(), building(id="B2", name="观音桥大厦", district="江北区"))
    first = import_file(db_session, "buildings", data, "b.jsonl")
    second = import_file(db_session, "buildings", data, "b.jsonl")
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert count(db_session, "buildings") == 2


def test_upsert_updates_changed_rows_by_id(db_session: Session) -> None:
    import_file(db_session, "buildings", jsonl(building(), building(id="B2")), "b.jsonl")
    report = import_file(
        db_session, "buildings", jsonl(building(rent_yuan_m2_month=60), building(id="B3")), "b.jsonl"
    )
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    stored = db_session.get(Building, "B1")
    assert stored is not None
    assert stored.rent_yuan_m2_month == 60
    assert count(db_session, "buildings") == 3


def test_a_rejected_file_writes_nothing(db_session: Session) -> None:
    import_file(db_session, "buildings", jsonl(building()), "b.jsonl")
    bad = jsonl(building(rent_yuan_m2_month=10), building(id="B2"), building(id="B3", district="江南区"))
    with pytest.raises(ImportRejected):
        import_file(db_session, "buildings", bad, "b.jsonl")
    assert count(db_session, "buildings") == 1
    stored = db_session.get(Building, "B1")
    assert stored is not None
    assert stored.rent_yuan_m2_month == 85


def test_drafted_scenarios_are_counted_and_stored_as_drafts(db_session: Session) -> None:
    data = jsonl(scenario(), scenario(id="S2", budget_wan_yuan=None), scenario(id="S3", owner=None))
    report = import_file(db_session, "scenarios", data, "s.jsonl")
    assert report.drafted == 2
    assert "2 个场景" in report.summary()
    statuses = {row.id: row.status for row in db_session.execute(select(Scenario.id, Scenario.status))}
    assert statuses == {"S1": "open", "S2": "draft", "S3": "draft"}


def test_database_refuses_an_open_scenario_without_budget(db_session: Session) -> None:
    values = parse_file("scenarios", jsonl(scenario()), "s.jsonl")[0].model_dump()
    values.update(budget_wan_yuan=None, content_hash="x")
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.add(Scenario(**values))


def test_database_refuses_negative_area(db_session: Session) -> None:
    values = parse_file("buildings", jsonl(building()), "b.jsonl")[0].model_dump()
    values.update(vacant_area_m2=-1, min_unit_m2=None, content_hash="x")
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.add(Building(**values))


@pytest.mark.parametrize("kind", ["buildings", "enterprises", "scenarios"])
@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".xlsx"])
@pytest.mark.parametrize("chinese", [False, True])
def test_export_then_reimport_gives_the_same_catalogue(
    db_session: Session, tmp_path: Path, kind: RecordKind, suffix: str, chinese: bool
) -> None:
    sample = SAMPLES[kind]
    rows = [sample(), sample(id="X2", description='简介含有逗号,引号"和竖线之外的符号；以及换行\n第二行')]
    import_file(db_session, kind, jsonl(*rows), "in.jsonl")
    before = [content_hash(record) for record in iter_records(db_session, kind)]
    path = tmp_path / f"out{suffix}"
    write_records(iter_records(db_session, kind), path, RECORD_TYPES[kind], chinese=chinese)
    reread = parse_file(kind, path.read_bytes(), path.name)
    assert [content_hash(record) for record in reread] == before
    report = import_file(db_session, kind, path.read_bytes(), path.name)
    assert report.unchanged == len(rows)


def test_xlsx_export_keeps_formula_like_text_as_text(db_session: Session, tmp_path: Path) -> None:
    import_file(db_session, "buildings", jsonl(building(description='=HYPERLINK("http://x")')), "b.jsonl")
    path = tmp_path / "b.xlsx"
    write_records(iter_records(db_session, "buildings"), path, RECORD_TYPES["buildings"])
    record = parse_file("buildings", path.read_bytes(), path.name)[0]
    assert record.model_dump()["description"] == '=HYPERLINK("http://x")'


def test_versions_reads_every_stamp_and_the_newest_weights_in_one_query(db_session: Session) -> None:
    before = versions(db_session)
    assert before.catalogue == stamps(db_session)
    assert set(before.catalogue) == {*RECORD_TYPES, CAPACITY_STAMP}
    import_file(db_session, "buildings", jsonl(building()), "b.jsonl")
    newest = before.weights + 7
    db_session.add(WeightsVersion(version=newest, weights={}, reason="测试", author="test"))
    db_session.flush()
    after = versions(db_session)
    assert after.catalogue == {**before.catalogue, "buildings": before.catalogue["buildings"] + 1}
    assert after.weights == newest
