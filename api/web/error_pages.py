"""Error pages for browsers: a redirect to sign in, a clear 403, friendly 404 and 500 pages."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.web.session import CsrfRejected, Forbidden, LoginRequired
from api.web.templating import render

API_PREFIXES = ("/api/", "/healthz", "/openapi.json", "/docs", "/redoc", "/static/")
TITLES = {
    status.HTTP_403_FORBIDDEN: "没有权限",
    status.HTTP_404_NOT_FOUND: "页面不存在",
    status.HTTP_405_METHOD_NOT_ALLOWED: "不支持的操作",
    status.HTTP_422_UNPROCESSABLE_CONTENT: "填写有误",
    status.HTTP_500_INTERNAL_SERVER_ERROR: "出错了",
}


def is_page(request: Request) -> bool:
    """Whether a request is for a web page (answered in HTML) rather than the JSON API."""
    return not request.url.path.startswith(API_PREFIXES)


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """The error page for a status, with a message in Chinese."""
    title = TITLES.get(status_code, "请求未能完成")
    context = {"status": status_code, "title": title, "message": message}
    return render(request, "error.html", context, status_code=status_code)


async def _login_required(request: Request, exc: LoginRequired) -> Response:
    """Send an anonymous visitor to the login page, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status.HTTP_303_SEE_OTHER)


async def _forbidden(request: Request, exc: Forbidden) -> Response:
    """The 403 page for a role that may not see the page."""
    message = "此页面仅限管理员使用。如需访问，请联系系统管理员调整您的角色。"
    return error_page(request, status.HTTP_403_FORBIDDEN, message)


async def _csrf(request: Request, exc: CsrfRejected) -> Response:
    """The 403 page for a form without this browser's CSRF token."""
    message = "表单已过期或来源不明（CSRF 校验失败）。请刷新页面后重新提交。"
    return error_page(request, status.HTTP_403_FORBIDDEN, message)


def install(app: FastAPI) -> None:
    """Register the page-level handlers."""
    app.add_exception_handler(LoginRequired, _login_required)  # type: ignore[arg-type]
    app.add_exception_handler(Forbidden, _forbidden)  # type: ignore[arg-type]
    app.add_exception_handler(CsrfRejected, _csrf)  # type: ignore[arg-type]
