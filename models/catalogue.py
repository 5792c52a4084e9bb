"""The catalogue service: validate whole files, upsert them atomically, and read them back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from models.base import Base, utcnow
from models.building import Building
from models.catalogue_stamp import bump
from models.enterprise import Enterprise
from models.interchange import RawRow, read_rows
from models.records import RECORD_TYPES, BuildingRecord, CatalogueRecord, RecordKind, ScenarioRecord
from models.row_errors import ImportRejected, RowError, row_errors
from models.scenario import Scenario

TABLES: dict[RecordKind, type[Base]] = {
    "buildings": Building,
    "enterprises": Enterprise,
    "scenarios": Scenario,
}
KIND_LABELS: dict[RecordKind, str] = {"buildings": "楼宇", "enterprises": "企业", "scenarios": "应用场景"}
CHUNK = 2000
Progress = Callable[[int], None]
"""Called with the number of rows just processed."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did: rows read, created, updated, unchanged, and scenarios kept as drafts."""

    kind: RecordKind
    rows: int
    created: int
    updated: int
    unchanged: int
    drafted: int = 0
    stamp: int = 0
    """The kind's catalogue stamp after this write (0 when nothing changed)."""

    def summary(self) -> str:
        """One line in Chinese for people."""
        text = (
            f"{KIND_LABELS[self.kind]}：共 {self.rows} 行，新增 {self.created}，"
            f"更新 {self.updated}，未变化 {self.unchanged}"
        )
        if self.drafted:
            text += f"；{self.drafted} 个场景缺少业主单位、建设边界或预算，已存为草稿（draft）"
        return text


def content_hash(record: CatalogueRecord) -> str:
    """A stable hash of a record's content, used to skip unchanged rows (and cached vectors)."""
    canonical = json.dumps(record.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def validate_rows(
    kind: RecordKind, rows: Sequence[RawRow], progress: Progress | None = None
) -> tuple[list[CatalogueRecord], list[RowError]]:
    """Validate every row, collecting all errors, including ids repeated within the file."""
    record_type = RECORD_TYPES[kind]
    records: list[CatalogueRecord] = []
    errors: list[RowError] = []
    first_row_of: dict[str, int] = {}
    for done, row in enumerate(rows, start=1):
        raw_id = str(row.values.get("id") or "").strip()
        if raw_id in first_row_of:
            message = f"编号「{raw_id}」与第 {first_row_of[raw_id]} 行重复"
            errors.append(RowError(row.number, "id", message, record_type.LABELS["id"]))
        elif raw_id:
            first_row_of[raw_id] = row.number
        try:
            records.append(record_type.model_validate(row.values))
        except ValidationError as exc:
            errors.extend(row_errors(row.number, exc, record_type.LABELS))
        if progress and done % 1000 == 0:
            progress(1000)
    if progress:
        progress(len(rows) % 1000)
    return records, errors


def check_rows(
    kind: RecordKind,
    rows: Sequence[RawRow],
    read_errors: Sequence[RowError],
    progress: Progress | None = None,
) -> list[CatalogueRecord]:
    """Validate the rows read from a file; raise ImportRejected listing every bad row (reading's included)."""
    records, row_problems = validate_rows(kind, rows, progress)
    errors = [*read_errors, *row_problems]
    if errors:
        raise ImportRejected(errors)
    return records


def parse_file(
    kind: RecordKind, data: bytes, filename: str, progress: Progress | None = None
) -> list[CatalogueRecord]:
    """Read and validate a whole file; raise ImportRejected listing every bad row."""
    rows, errors = read_rows(data, filename, RECORD_TYPES[kind])
    return check_rows(kind, rows, errors, progress)


def _row_values(record: CatalogueRecord) -> dict[str, Any]:
    """Column values for a record, with enums and lists as stored."""
    values = record.model_dump(mode="python")
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = [str(item) for item in value]
    values["content_hash"] = content_hash(record)
    return values


def _vacancy_columns(table: Table) -> list[Any]:
    """The columns that date a building's vacancy (none for other kinds)."""
    return [table.c.vacant_area_m2, table.c.vacancy_as_of] if "vacancy_as_of" in table.c else []


def _vacancy(record: CatalogueRecord, old: Any, now: datetime) -> dict[str, Any]:
    """A building's `vacancy_as_of`: now when its vacancy is new or a new figure, else as it was."""
    if not isinstance(record, BuildingRecord):
        return {}
    unchanged = old is not None and old.vacant_area_m2 == record.vacant_area_m2
    return {"vacancy_as_of": old.vacancy_as_of if unchanged else now}


def upsert_records(
    session: Session, kind: RecordKind, records: Sequence[CatalogueRecord], progress: Progress | None = None
) -> ImportReport:
    """Insert new records and update changed ones by id, in the caller's transaction."""
    table = cast(Table, TABLES[kind].__table__)
    update_changed = update(table).where(table.c.id == bindparam("record_id"))
    created = updated = unchanged = 0
    now = utcnow()
    for chunk in _chunks(records):
        ids = [record.id for record in chunk]
        query = select(table.c.id, table.c.content_hash, *_vacancy_columns(table)).where(table.c.id.in_(ids))
        existing = {row.id: row for row in session.execute(query)}
        inserts, updates = [], []
        for record in chunk:
            values = _row_values(record)
            old = existing.get(record.id)
            if old is None:
                inserts.append(
                    {**values, **_vacancy(record, None, now), "created_at": now, "updated_at": now}
                )
            elif old.content_hash != values["content_hash"]:
                values |= _vacancy(record, old, now)
                updates.append({**values, "record_id": values.pop("id"), "updated_at": now})
            else:
                unchanged += 1
        if inserts:
            session.execute(insert(table), inserts)
        if updates:
            session.execute(update_changed, updates)
        created += len(inserts)
        updated += len(updates)
        if progress:
            progress(len(chunk))
    drafted = sum(1 for record in records if isinstance(record, ScenarioRecord) and record.drafted)
    stamp = bump(session, kind) if created or updated else 0
    return ImportReport(kind, len(records), created, updated, unchanged, drafted, stamp)


def import_file(
    session: Session,
    kind: RecordKind,
    data: bytes,
    filename: str,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate a whole file and upsert it; on any bad row nothing is written (ImportRejected)."""
    records = parse_file(kind, data, filename, progress)
    return upsert_records(session, kind, records, progress)


def to_record(kind: RecordKind, row: Base) -> CatalogueRecord:
    """The interchange record of a stored row."""
    record_type = RECORD_TYPES[kind]
    values = {key: getattr(row, key) for key in record_type.model_fields}
    return record_type.model_validate(values)


def iter_records(session: Session, kind: RecordKind) -> Iterator[CatalogueRecord]:
    """Every stored record of a kind, ordered by id."""
    table = TABLES[kind]
    rows = session.scalars(select(table).order_by(table.__table__.c.id).execution_options(yield_per=CHUNK))
    for row in rows:
        yield to_record(kind, row)


def count(session: Session, kind: RecordKind) -> int:
    """How many records of a kind are stored."""
    return session.scalar(select(func.count()).select_from(TABLES[kind])) or 0


def get_record(session: Session, kind: RecordKind, record_id: str) -> CatalogueRecord | None:
    """A stored record by id."""
    row = session.get(TABLES[kind], record_id)
    return None if row is None else to_record(kind, row)


def delete_record(session: Session, kind: RecordKind, record_id: str) -> int:
    """Delete a record by id; the kind's new catalogue stamp, or 0 when there was no such record."""
    row = session.get(TABLES[kind], record_id)
    if row is None:
        return 0
    session.delete(row)
    session.flush()
    return bump(session, kind)
