"""Home, login and logout pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from api.deps import SessionDep, StateDep
from api.services import users
from api.web.session import CSRF_COOKIE, SESSION_COOKIE, CsrfChecked, PageUser
from api.web.templating import render
from models.catalogue import KIND_LABELS, count
from models.enums import ScenarioStatus
from models.scenario import Scenario

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """A local path to return to after login; anything else goes home (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/")
def home(request: Request, session: SessionDep, user: PageUser) -> Response:
    """The start page: what the catalogue holds and where each kind of user begins."""
    counts = {KIND_LABELS[kind]: count(session, kind) for kind in KIND_LABELS} if user else {}
    open_scenarios = session.scalar(
        select(func.count()).select_from(Scenario).where(Scenario.status == ScenarioStatus.open)
    )
    return render(request, "home.html", {"counts": counts, "open_scenarios": open_scenarios})


@router.get("/login")
def login_form(request: Request, user: PageUser, next: str | None = None) -> Response:
    """The login form."""
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    session: SessionDep,
    state: StateDep,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """Check the password, start a session and go where the user was heading."""
    client = request.client.host if request.client else ""
    try:
        _, token = users.login(
            session=session, limiter=state.limiter, name=name, password=password, client=client
        )
    except (users.BadCredentials, users.TooManyAttempts) as exc:
        context = {"next": _safe_next(next), "error": f"{exc}。", "name": name}
        return render(request, "login.html", context, status_code=status.HTTP_401_UNAUTHORIZED)
    response = RedirectResponse(_safe_next(next), status.HTTP_303_SEE_OTHER)
    secure = request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure)
    response.delete_cookie(CSRF_COOKIE)  # a fresh CSRF token for the new session
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, session: SessionDep) -> Response:
    """End the session: the token is deleted, the cookie cleared."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        users.logout(session=session, token=token)
    response = RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE)
    return response
