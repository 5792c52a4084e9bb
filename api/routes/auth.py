"""Sign-in for programs: trade a name and password for a bearer token (rate-limited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy import select

from api.auth import issue_token, verify_password
from api.deps import AdminUser, SessionDep, StateDep
from api.schemas import LoginIn, TokenOut, error_responses
from models.audit import AuditEntry
from models.user import User

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
    key = f"{body.name}|{request.client.host if request.client else ''}"
    if state.limiter.blocked(key):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "登录失败次数过多，请稍后再试")
    user = session.scalar(select(User).where(User.name == body.name))
    if user is None or not verify_password(user.password_hash, body.password):
        state.limiter.failed(key)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "用户名或密码错误")
    state.limiter.succeeded(key)
    token = issue_token(session, user)
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
