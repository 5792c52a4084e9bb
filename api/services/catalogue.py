"""Buildings, enterprises and scenarios, one record at a time: create, change, replace and delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.listings import read
from api.services.write import (
    Actor,
    CatalogueChange,
    Conflict,
    Invalid,
    Live,
    NotFound,
    after_catalogue_write,
    commit,
)
from models.audit import record as audit
from models.catalogue import KIND_LABELS, TABLES, delete_record, get_record, upsert_records
from models.database import begin_write
from models.records import RECORD_TYPES, CatalogueRecord, RecordKind


class RecordNotFound(NotFound):
    """No record of this kind has this id (any more)."""

    def __init__(self, kind: RecordKind, record_id: str) -> None:
        """The message names the kind and the id."""
        super().__init__(f"{KIND_LABELS[kind]}「{record_id}」不存在")


class EditedMeanwhile(Conflict):
    """The record changed after the editor opened it: saving the whole form would undo that change."""

    def __init__(self, kind: RecordKind, record_id: str) -> None:
        """The message names the record and says that nothing was saved."""
        super().__init__(f"{KIND_LABELS[kind]}「{record_id}」在您编辑期间已被他人修改，本次未保存")


def version_of(session: Session, kind: RecordKind, record_id: str) -> str | None:
    """What an editor's form is based on: the stored record's content hash (None when there is none)."""
    table = TABLES[kind].__table__
    return session.scalar(select(table.c.content_hash).where(table.c.id == record_id))


def _stored(session: Session, kind: RecordKind, record_id: str) -> CatalogueRecord:
    """The stored record, or RecordNotFound."""
    record = get_record(session, kind, record_id)
    if record is None:
        raise RecordNotFound(kind, record_id)
    return record


def _write(
    session: Session,
    actor: Actor,
    live: Live | None,
    kind: RecordKind,
    record: CatalogueRecord,
    before: CatalogueRecord | None,
) -> dict[str, Any]:
    """Upsert one record, audit it, commit, make the next match see it; the record as written."""
    report = upsert_records(session, kind, [record])
    audit(
        session,
        actor=actor.name,
        action="update" if before else "create",
        target_kind=kind,
        target_id=record.id,
        before=before.model_dump(mode="json") if before else None,
        after=record.model_dump(mode="json"),
    )
    written = read(kind, session.get(TABLES[kind], record.id, populate_existing=True))
    commit(
        session,
        live,
        CatalogueChange(kind, report.stamp, put=[record]),
        *after_catalogue_write(session, kind),
    )
    return written


def create(
    *, session: Session, actor: Actor, live: Live | None, kind: RecordKind, record: CatalogueRecord
) -> dict[str, Any]:
    """Store a new record; Conflict when its id is taken."""
    begin_write(session)
    if get_record(session, kind, record.id) is not None:
        raise Conflict(f"编号「{record.id}」已存在，请用 PATCH 修改")
    return _write(session, actor, live, kind, record, None)


def patch(
    *,
    session: Session,
    actor: Actor,
    live: Live | None,
    kind: RecordKind,
    record_id: str,
    changes: Mapping[str, Any],
) -> dict[str, Any]:
    """Change some fields of a stored record and validate the whole record again (cross-field rules too).

    The fields are merged into the record as stored when the write lock is held, so two people
    changing different fields at once both keep their change.
    """
    begin_write(session)
    before = _stored(session, kind, record_id)
    values = {**before.model_dump(mode="json"), **changes}
    try:
        after = RECORD_TYPES[kind].model_validate(values)
    except ValidationError as exc:
        raise Invalid(exc.errors(include_url=False)) from None
    return _write(session, actor, live, kind, after, before)


def replace(
    *,
    session: Session,
    actor: Actor,
    live: Live | None,
    kind: RecordKind,
    record: CatalogueRecord,
    based_on: str | None,
) -> bool:
    """Store a whole edited record over the stored one; False (and nothing written) when nothing differs.

    `based_on` is `version_of` the record when the editor opened it: when someone saved it since,
    EditedMeanwhile, rather than silently undoing their change with the form's older values.
    """
    begin_write(session)
    before = _stored(session, kind, record.id)
    if record.model_dump() == before.model_dump():
        session.commit()
        return False
    if based_on is not None and version_of(session, kind, record.id) != based_on:
        raise EditedMeanwhile(kind, record.id)
    _write(session, actor, live, kind, record, before)
    return True


def delete(*, session: Session, actor: Actor, live: Live | None, kind: RecordKind, record_id: str) -> None:
    """Delete a stored record (audited with its last values)."""
    begin_write(session)
    before = _stored(session, kind, record_id)
    stamp = delete_record(session, kind, record_id)
    audit(
        session,
        actor=actor.name,
        action="delete",
        target_kind=kind,
        target_id=record_id,
        before=before.model_dump(mode="json"),
    )
    commit(
        session, live, CatalogueChange(kind, stamp, drop=[record_id]), *after_catalogue_write(session, kind)
    )
