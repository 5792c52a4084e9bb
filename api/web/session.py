"""Web sign-in: a session cookie holding an API token, CSRF tokens on every form, page-level roles."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Form, Header, Request

from api.auth import user_for_token
from api.deps import SessionDep
from models.user import Role, User

SESSION_COOKIE = "xingpei_session"
CSRF_COOKIE = "xingpei_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """A page that needs a signed-in user was asked for anonymously; answered with a redirect to /login."""


class Forbidden(Exception):
    """A signed-in user asked for a page their role may not see; answered with the 403 page."""


class CsrfRejected(Exception):
    """A form arrived without the CSRF token of this browser; answered with a 403 page."""


def csrf_token(request: Request) -> str:
    """This browser's CSRF token: the cookie's, or a new one that `render` sets as the cookie."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return token


def check_csrf(
    request: Request,
    csrf_token: Annotated[str | None, Form()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> None:
    """Refuse a form or script POST whose token (field or header) differs from the browser's cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = csrf_token or x_csrf_token or ""
    if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfRejected


CsrfChecked = Depends(check_csrf)


def web_user(request: Request, session: SessionDep) -> User | None:
    """The user of the session cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    user = user_for_token(session, token)
    if user is not None:
        session.expunge(user)  # stays readable by the error pages after the request's session rolls back
        request.state.user = user
    return user


PageUser = Annotated[User | None, Depends(web_user)]


async def require_staff_page(user: PageUser) -> User:
    """Staff or admin, else a redirect to the login page."""
    if user is None:
        raise LoginRequired
    return user


StaffPage = Annotated[User, Depends(require_staff_page)]


async def require_admin_page(user: StaffPage) -> User:
    """Admin only; staff see the 403 page."""
    if user.role != Role.admin:
        raise Forbidden
    return user


AdminPage = Annotated[User, Depends(require_admin_page)]
