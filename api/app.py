"""The web application: `create_app()` with a lifespan that opens the database once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from api.config import Settings, get_settings
from api.database import open_database
from models.catalogue import KIND_LABELS, count
from models.database import make_session_factory


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; the database is opened and migrated in the lifespan, not at import."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_database(settings)
        app.state.sessions = make_session_factory(engine)
        yield
        engine.dispose()

    app = FastAPI(title="星配 Xingpei", lifespan=lifespan)

    @app.get("/healthz")
    def healthz(request: Request) -> dict[str, Any]:
        """Report whether the database answers."""
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> str:
        """A minimal Chinese home page with the catalogue's size."""
        with request.app.state.sessions() as session:
            counts = {kind: count(session, kind) for kind in KIND_LABELS}
        items = "".join(f"<li>{KIND_LABELS[kind]}：{number} 条</li>" for kind, number in counts.items())
        return (
            "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>星配</title>"
            "<h1>星配 · 满天星供需匹配平台</h1>"
            f"<p>当前目录：</p><ul>{items}</ul></html>"
        )

    return app
