"""A request's writes are committed before its response starts, so the client's next request sees them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.app import create_app
from api.auth import create_user
from api.config import Settings
from api.web.session import CSRF_COOKIE
from matcher.hashing import HashingEncoder
from migrations import migrate
from models.database import make_engine, make_session_factory
from models.user import ApiToken, Role


class TokenCountAtResponseStart:
    """ASGI middleware noting, as each response starts, how many tokens another connection can see."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine
        self.seen: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def probing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                with self.engine.connect() as connection:
                    self.seen.append(connection.scalar(select(func.count()).select_from(ApiToken)) or 0)
            await send(message)

        await self.app(scope, receive, probing_send)


@pytest.fixture
def probed(fresh_database_url: str) -> Iterator[tuple[TestClient, TokenCountAtResponseStart]]:
    """An app with one admin, wrapped in the probe."""
    engine = make_engine(fresh_database_url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        create_user(session, name="admin", role=Role.admin, password="管理员密码")
        session.execute(text("DELETE FROM api_token"))
    app = create_app(Settings(database_url=fresh_database_url), encoder=HashingEncoder())
    probe = TokenCountAtResponseStart(app, engine)
    with TestClient(probe) as client:
        yield client, probe
    engine.dispose()


def test_api_login_token_is_committed_before_the_response(
    probed: tuple[TestClient, TokenCountAtResponseStart],
) -> None:
    client, probe = probed
    response = client.post("/api/v1/auth/login", json={"name": "admin", "password": "管理员密码"})
    assert response.status_code == 200
    assert probe.seen == [1]


def test_page_login_and_logout_commit_before_the_redirect(
    probed: tuple[TestClient, TokenCountAtResponseStart],
) -> None:
    client, probe = probed
    client.get("/login")
    csrf = client.cookies[CSRF_COOKIE]
    form = {"name": "admin", "password": "管理员密码", "csrf_token": csrf}
    signed_in = client.post("/login", data=form, follow_redirects=False)
    assert signed_in.status_code == 303
    assert probe.seen[-1] == 1
    client.get("/")  # the login rotated the CSRF cookie
    signed_out = client.post(
        "/logout", data={"csrf_token": client.cookies[CSRF_COOKIE]}, follow_redirects=False
    )
    assert signed_out.status_code == 303
    assert probe.seen[-1] == 0
