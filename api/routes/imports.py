"""File import over HTTP: the all-or-nothing rules and row errors of `xingpei import`, leads included."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, UploadFile, status
from pydantic import BaseModel

from api.deps import AdminUser, SessionDep, StateDep
from api.schemas import ImportAnswer, error_responses
from api.services import imports, lead_files
from models.records import RecordKind

router = APIRouter(prefix="/api/v1", tags=["import"])


class LeadImportAnswer(BaseModel):
    """What a lead import did."""

    rows: int
    created: int
    unchanged: int
    summary: str


def _upload(file: UploadFile) -> bytes:
    """The uploaded bytes; 413 when larger than the limit."""
    data = file.file.read(imports.MAX_UPLOAD_BYTES + 1)
    if len(data) > imports.MAX_UPLOAD_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "文件超过 50 MiB，请拆分后导入")
    return data


@router.post(
    "/import/leads",
    response_model=LeadImportAnswer,
    summary="导入跟进记录文件（全部成功或全部不写）",
    responses=error_responses(401, 403, 413, 422, 503),
)
def import_leads(file: UploadFile, session: SessionDep, state: StateDep, user: AdminUser) -> Any:
    """Import a follow-up ledger (.jsonl/.csv/.xlsx); 422 lists every bad row, 413 when larger than 50 MiB."""
    report = lead_files.import_lead_file(
        session=session, actor=user, live=state, data=_upload(file), filename=file.filename or "upload"
    )
    return {**vars(report), "summary": report.summary()}


@router.post(
    "/import/{kind}",
    response_model=ImportAnswer,
    summary="导入台账文件（全部成功或全部不写）",
    responses=error_responses(401, 403, 413, 422, 503),
)
def import_upload(
    kind: RecordKind, file: UploadFile, session: SessionDep, state: StateDep, user: AdminUser
) -> Any:
    """Import a .jsonl/.csv/.xlsx file; 422 lists every bad row, 413 when larger than 50 MiB."""
    report = imports.import_ledger(
        session=session,
        actor=user,
        live=state,
        kind=kind,
        data=_upload(file),
        filename=file.filename or "upload",
    )
    return {**vars(report), "summary": report.summary()}
