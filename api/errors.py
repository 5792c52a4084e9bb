"""Errors as JSON with a Chinese message naming the field; bad input is a 4xx, never a 5xx."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.services.write import Invalid, ServiceError
from api.web.error_pages import error_page, is_page
from models.database import WriteBusy, is_lock_timeout
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


async def _validation(request: Request, exc: RequestValidationError | Invalid) -> Response:
    """422 with every bad field and its reason (of the request, or of the record a change would leave)."""
    errors = []
    for error in exc.errors() if isinstance(exc, RequestValidationError) else exc.errors:
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


def _refused(
    request: Request, status_code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """A refused request: the error page for a browser, JSON with `detail` for a program."""
    if is_page(request):
        response: Response = error_page(request, status_code, message)
        response.headers.update(headers or {})
        return response
    return JSONResponse({"detail": message}, status_code, headers=headers)


async def _service(request: Request, exc: ServiceError) -> Response:
    """A write a service refused (not found, a conflict, bad credentials …): its status and message."""
    return _refused(request, exc.status, str(exc))


BUSY_HEADERS = {"Retry-After": "2"}
"""A busy database answers 503 and asks the client to try again shortly."""


async def _busy(request: Request, exc: WriteBusy) -> Response:
    """503: another write held the database too long; nothing was written."""
    return _refused(request, status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), BUSY_HEADERS)


async def _database(request: Request, exc: DBAPIError) -> Response:
    """A lock or a constraint that another writer won: 503 or 409 rather than a 500; others are unexpected."""
    if isinstance(exc, IntegrityError):
        message = "与其他人同时保存的数据冲突，本次未保存，请刷新后重试"
        return _refused(request, status.HTTP_409_CONFLICT, message)
    if is_lock_timeout(exc):
        return await _busy(request, WriteBusy())
    return await _unexpected(request, exc)


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
    app.add_exception_handler(Invalid, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(ServiceError, _service)  # type: ignore[arg-type]
    app.add_exception_handler(WriteBusy, _busy)  # type: ignore[arg-type]
    app.add_exception_handler(DBAPIError, _database)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
