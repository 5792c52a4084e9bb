"""The bundled demo: in step with its generator, valid, loadable with its history into an empty database."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from demo.bundle import KINDS, catalogue_is_empty, demo_file, demo_records, load_demo, write_demo_files
from demo.history_store import HistoryReport
from demo.vectors import SessionVectorStore
from matcher.encoder import CachedEncoder
from matcher.hashing import HashingEncoder
from matcher.text import record_text
from models.building import Building
from models.catalogue import ImportReport, iter_records
from models.enums import District, ScenarioStatus
from models.lead import Lead
from models.scenario import Scenario


def test_shipped_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    write_demo_files(tmp_path)
    for kind in KINDS:
        assert demo_file(kind, tmp_path).read_bytes() == demo_file(kind).read_bytes(), kind


def test_demo_loads_into_an_empty_database_with_the_promised_sizes_and_its_history(
    db_session: Session,
) -> None:
    assert catalogue_is_empty(db_session)
    model = HashingEncoder()
    loaded = load_demo(db_session, model)
    reports = {report.kind: report for report in loaded if isinstance(report, ImportReport)}
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
    stored = {kind: list(iter_records(db_session, kind)) for kind in KINDS}
    assert stored == demo_records()  # what the history is drawn from in tests without a database
    history = next(report for report in loaded if isinstance(report, HistoryReport))
    assert history.leads == db_session.scalar(select(func.count()).select_from(Lead))
    assert history.leads > 2_000
    assert "跟进记录" in history.summary()
    texts = [record_text(record) for records in stored.values() for record in records]
    assert set(texts) <= set(model.calls)
    cached = CachedEncoder(HashingEncoder(), SessionVectorStore(db_session))
    cached.encode(texts)
    assert cached.encoded == 0  # the server's start finds every catalogue text's vector in the cache
