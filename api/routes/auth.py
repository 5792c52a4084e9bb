"""Sign-in for programs: trade a name and password for a bearer token (rate-limited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from api.deps import AdminUser, SessionDep, StateDep
from api.schemas import LoginIn, TokenOut, error_responses
from api.services import users
from models.audit import AuditEntry

router = APIRouter(prefix="/api/v1", tags=["auth"])
MAX_AUDIT_PAGE = 500
MAX_OFFSET = 10_000_000


@router.post(
    "/auth/login",
    response_model=TokenOut,
    summary="用户名密码换取 API 令牌",
    responses=error_responses(401, 422, 429),
)
def login(body: LoginIn, request: Request, session: SessionDep, state: StateDep) -> Any:
    """A new token for valid credentials; 401 otherwise, 429 after repeated failures."""
    client = request.client.host if request.client else ""
    user, token = users.login(
        session=session, limiter=state.limiter, name=body.name, password=body.password, client=client
    )
    return {"token": token, "role": user.role.value}


@router.get("/audit", summary="审计日志（管理员）", responses=error_responses(401, 403, 422))
def audit_log(
    session: SessionDep,
    user: AdminUser,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE, description=f"条数（最多 {MAX_AUDIT_PAGE}）")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[dict[str, Any]]:
    """The newest audit entries first."""
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "target_kind": e.target_kind,
            "target_id": e.target_id,
            "before": e.before,
            "after": e.after,
        }
        for e in entries
    ]
