"""Request dependencies: the app state, a database session per request, and the signed-in user.

Dependencies that do no I/O are `async def`: FastAPI then calls them on the event loop instead of
handing each one to a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.state import AppState, WeightsInUse, keep_up
from models.user import Role, User

_bearer = HTTPBearer(
    auto_error=False, description="API 令牌：`xingpei users add` 生成，或 POST /api/v1/auth/login"
)


async def get_state(request: Request) -> AppState:
    """The state built by the lifespan."""
    state: AppState = request.app.state.xingpei
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    """A session that commits when the request succeeds and rolls back when it fails.

    Scoped to the function: the commit lands before the response is sent, so the client's next
    request (a browser following a 303, a script reading back what it wrote) always sees it.
    """
    with state.sessions() as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _unauthorised(detail: str) -> HTTPException:
    """A 401 asking for a bearer token."""
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def get_user(state: StateDep, session: SessionDep, credentials: Credentials) -> User | None:
    """The user of the bearer token, None for anonymous requests; 401 for an unknown token.

    A token seen in the last `api.freshness.TOKEN_SECONDS` is not looked up again (`api.auth.TokenCache`).
    """
    if credentials is None:
        return None
    user = state.tokens.user(session, credentials.credentials)
    if user is None:
        raise _unauthorised("令牌无效或已失效")
    return user


MaybeUser = Annotated[User | None, Depends(get_user)]
OPTIONAL_LOGIN: dict[str, Any] = {"security": [{}]}
"""`openapi_extra` of an operation anyone may call: the document then marks the bearer token as optional."""


async def require_staff(user: MaybeUser) -> User:
    """Staff or admin; 401 when not signed in."""
    if user is None:
        raise _unauthorised("需要登录")
    return user


StaffUser = Annotated[User, Depends(require_staff)]


async def _check_token(state: AppState, token: str) -> None:
    """401 unless `token` is a user's: one seen in the last `api.freshness.TOKEN_SECONDS` is answered on
    the event loop without copying its user; another is looked up on a worker thread, in a session of its own.
    """
    if state.tokens.knows(token):
        return
    if await run_in_threadpool(state.tokens.look_up, state.sessions, token) is None:
        raise _unauthorised("令牌无效或已失效")


async def token_staff_state(request: Request, credentials: Credentials) -> AppState:
    """The state, for routes without a request session that staff may call: 401 without a user's token.

    One dependency instead of the state, the user and the staff check: the match routes use none of the
    user's columns, and each dependency FastAPI solves costs the event loop on every request.
    """
    if credentials is None:
        raise _unauthorised("需要登录")
    state = await get_state(request)
    await _check_token(state, credentials.credentials)
    return state


TokenStaffState = Annotated[AppState, Depends(token_staff_state)]


async def token_caller_state(request: Request, credentials: Credentials) -> AppState:
    """`token_staff_state` for routes anyone may call: anonymous requests pass, a token must be a user's."""
    state = await get_state(request)
    if credentials is not None:
        await _check_token(state, credentials.credentials)
    return state


TokenCallerState = Annotated[AppState, Depends(token_caller_state)]


async def require_admin(user: StaffUser) -> User:
    """Admin only; 403 for staff."""
    if user.role != Role.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "需要管理员权限")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def current_weights(state: StateDep, session: SessionDep) -> WeightsInUse:
    """The newest catalogue and weights, picking up changes saved elsewhere (the CLI, another worker)."""
    return keep_up(state, session)


WeightsDep = Annotated[WeightsInUse, Depends(current_weights)]
