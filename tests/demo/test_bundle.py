"""The bundled demo catalogue: in step with its generator, valid, and loadable into an empty database."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from demo.bundle import KINDS, catalogue_is_empty, demo_file, load_demo, write_demo_files
from models.building import Building
from models.enums import District, ScenarioStatus
from models.scenario import Scenario


def test_shipped_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    write_demo_files(tmp_path)
    for kind in KINDS:
        assert demo_file(kind, tmp_path).read_bytes() == demo_file(kind).read_bytes(), kind


def test_demo_loads_into_an_empty_database_with_the_promised_sizes(db_session: Session) -> None:
    assert catalogue_is_empty(db_session)
    reports = {report.kind: report for report in load_demo(db_session)}
    assert reports["buildings"].created >= 300
    assert reports["enterprises"].created >= 1000
    assert reports["scenarios"].created >= 300
    assert reports["scenarios"].drafted == 0
    assert not catalogue_is_empty(db_session)
    districts = set(db_session.scalars(select(Building.district)))
    assert districts == set(District)
    statuses = Counter(db_session.scalars(select(Scenario.status)))
    assert statuses[ScenarioStatus.open] > statuses[ScenarioStatus.draft] > 0
    assert statuses[ScenarioStatus.closed] > 0
