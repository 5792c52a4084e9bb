"""The web application: `create_app()` with a lifespan that opens the database and loads the matcher once."""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import balance, errors, web
from api.config import Settings, get_settings
from api.database import open_database
from api.embedding import cached_encoder
from api.loading import load_state
from api.malloc import limit_arenas
from api.routes import allocation, auth, catalogue, imports, indicators, leads, matches, weights
from api.state import AppState
from matcher.encoder import Encoder
from models.database import make_session_factory

log = logging.getLogger("uvicorn.error")
WORKER_HEADER = "X-Xingpei-Worker"
"""Response header naming the process id that answered (tells the workers of `serve --workers N` apart)."""


class WorkerHeader:
    """Pure ASGI middleware that adds `X-Xingpei-Worker: <pid>` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the header when the response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = (WORKER_HEADER.lower().encode(), str(os.getpid()).encode())

        async def send_with_worker(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_worker)


def create_app(settings: Settings | None = None, encoder: Encoder | None = None) -> FastAPI:
    """Build the application; heavy resources are loaded in the lifespan, never at import time.

    `encoder` replaces the configured embedding model (tests pass a small one).
    """
    settings = settings or get_settings()
    limit_arenas(settings.malloc_arenas)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started = time.monotonic()
        engine = open_database(settings)
        sessions = make_session_factory(engine)
        cached = cached_encoder(settings, sessions, encoder)
        opened = time.monotonic()
        log.info("正在载入目录与向量（首次启动需为全部记录编码，之后从缓存读取）…")
        app.state.xingpei = await run_in_threadpool(load_state, settings, sessions, cached)
        log.info(
            "已就绪：新编码 %d 条文本；数据库 %.1f 秒，目录 %.1f 秒（嵌入模型在首次需要编码时才打开）",
            cached.encoded,
            opened - started,
            time.monotonic() - opened,
        )
        # Out of the garbage collector's sight until shutdown: a full collection walked the loaded objects
        # (300,000 at 10k buildings + 10k scenarios) and held the worker for 170-240 ms, twice a minute
        # under load; frozen, 6-20 ms (bench/README.md, "Garbage collection"). Loading leaves no cyclic
        # garbage to keep (a full collection then frees 0-10 objects); what is dropped later is still freed.
        gc.freeze()
        balance.announce()
        yield
        gc.unfreeze()
        engine.dispose()

    app = FastAPI(
        title="星配 Xingpei API",
        description="重庆软件和信息服务业“满天星”行动计划：楼宇、企业与应用场景的供需匹配。",
        version="1",
        lifespan=lifespan,
    )
    app.add_middleware(WorkerHeader)
    errors.install(app)
    app.include_router(
        matches.router
    )  # first: a request walks the routes in order, and matches are most asked
    web.install(app)
    for module in (catalogue, imports, weights, auth, leads, indicators, allocation):
        app.include_router(module.router)

    @app.get("/healthz", tags=["system"], summary="健康检查")
    def healthz(request: Request) -> dict[str, Any]:
        """Whether the database answers and the indexes are loaded."""
        state: AppState = request.app.state.xingpei
        with state.sessions() as session:
            session.execute(text("SELECT 1"))
        sizes = {kind: len(table) for kind, table in state.recommender.tables.items()}
        return {"status": "ok", "database": "ok", "index": sizes, "weights_version": state.weights_version}

    return app
