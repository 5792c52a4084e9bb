"""File import over HTTP: the same all-or-nothing rules and row errors as `xingpei import`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, UploadFile, status
from sqlalchemy.orm import Session

from api.deps import AdminUser, SessionDep, StateDep
from api.schemas import ImportAnswer, error_responses
from api.state import AppState, note_own_write
from models.audit import record as audit
from models.catalogue import ImportReport, import_file, iter_records
from models.records import RecordKind
from models.user import User

router = APIRouter(prefix="/api/v1", tags=["import"])
MAX_UPLOAD_BYTES = 50 * 2**20
MAX_AUDIT_NAME = 64
"""Length of the audit log's target column."""


def _audit_name(filename: str) -> str:
    """The uploaded file's name as the audit log keeps it: printable and cut to the column's length."""
    return "".join(char for char in filename if char.isprintable())[:MAX_AUDIT_NAME]


def import_ledger(
    session: Session, state: AppState, user: User, kind: RecordKind, data: bytes, filename: str
) -> ImportReport:
    """Import a file all or nothing, audited and committed, and seen by the next match at once.

    The API and the 数据管理 page both import through here. Blocking (parsing, writing, encoding new
    texts): call it from a plain `def` route, which FastAPI runs on a worker thread.
    """
    report = import_file(session, kind, data, filename)
    audit(
        session,
        actor=user.name,
        action="import",
        target_kind=kind,
        target_id=_audit_name(filename),
        after={
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "drafted": report.drafted,
        },
    )
    session.commit()
    if report.created or report.updated:
        with state.lock:
            state.recommender.upsert(kind, list(iter_records(session, kind)))
            note_own_write(state, kind, report.stamp)
    return report


@router.post(
    "/import/{kind}",
    response_model=ImportAnswer,
    summary="导入台账文件（全部成功或全部不写）",
    responses=error_responses(401, 403, 413, 422),
)
def import_upload(
    kind: RecordKind, file: UploadFile, session: SessionDep, state: StateDep, user: AdminUser
) -> Any:
    """Import a .jsonl/.csv/.xlsx file; 422 lists every bad row, 413 when larger than 50 MiB."""
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "文件超过 50 MiB，请拆分后导入")
    report = import_ledger(session, state, user, kind, data, file.filename or "upload")
    return {**vars(report), "summary": report.summary()}
