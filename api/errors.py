"""Errors as JSON with a Chinese message naming the field; bad input is a 4xx, never a 5xx."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.web.error_pages import error_page, is_page
from models.row_errors import ImportRejected, describe

log = logging.getLogger("xingpei")


def _field(loc: tuple[int | str, ...]) -> str:
    """A request error location as a dotted field name, without the `body`/`query` prefix."""
    parts = (
        [str(part) for part in loc[1:]]
        if loc and loc[0] in ("body", "query", "path", "header")
        else list(map(str, loc))
    )
    return ".".join(parts) or str(loc[0] if loc else "")


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    """422 with every bad field and its reason."""
    errors = []
    for error in exc.errors():
        field, message = describe(error)
        name = _field(tuple(error.get("loc", ()))) if error.get("type") != "cross_field" else field
        errors.append({"field": name, "message": message})
    summary = "；".join(f"{e['field']}：{e['message']}" for e in errors[:5])
    if is_page(request):
        return error_page(request, status.HTTP_422_UNPROCESSABLE_CONTENT, summary)
    return JSONResponse(
        {"detail": f"请求有误 — {summary}", "errors": errors}, status.HTTP_422_UNPROCESSABLE_CONTENT
    )


def _allowed_methods(request: Request) -> str:
    """Every method the requested path answers to, for the `Allow` header of a 405."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    """HTTP errors keep their status and carry `detail`; a body that cannot be parsed is a 422 like others."""
    if is_page(request):
        message = "您要找的页面不存在或已被删除。" if exc.status_code == 404 else str(exc.detail)
        return error_page(request, exc.status_code, message)
    if exc.status_code == status.HTTP_400_BAD_REQUEST:
        # Only FastAPI and Starlette answer 400 here: a body that is neither JSON nor well-formed multipart.
        message = f"请求体无法解析（应为 UTF-8 编码的 JSON，上传文件用 multipart/form-data：{exc.detail}）"
        errors = [{"field": "body", "message": message}]
        return JSONResponse(
            {"detail": f"请求有误 — body：{message}", "errors": errors}, status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        # Starlette names only the methods of the first route that matched the path.
        headers["Allow"] = _allowed_methods(request)
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=headers or None)


async def _rejected(request: Request, exc: ImportRejected) -> JSONResponse:
    """A rejected import: every bad row with its row number, field and reason."""
    rows = [{"row": e.row, "field": e.field, "message": e.message, "text": str(e)} for e in exc.errors]
    return JSONResponse({"detail": str(exc), "errors": rows}, status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _unexpected(request: Request, exc: Exception) -> Response:
    """Anything unforeseen: logged, and answered as JSON (or the error page for a browser)."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    if is_page(request):
        return error_page(
            request, status.HTTP_500_INTERNAL_SERVER_ERROR, "服务器出了点问题，已记录日志。请稍后再试。"
        )
    return JSONResponse({"detail": "服务器内部错误"}, status.HTTP_500_INTERNAL_SERVER_ERROR)


def install(app: FastAPI) -> None:
    """Register the handlers."""
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(ImportRejected, _rejected)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
