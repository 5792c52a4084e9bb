"""Jinja2 templates (autoescaped) and the one helper every page renders through."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.web.session import CSRF_COOKIE, CSRF_FIELD, csrf_token
from models.enums import District, FitOut, Industry, ScenarioBatch, ScenarioDomain
from models.user import Role, User

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.globals.update(
    District=District,
    Industry=Industry,
    FitOut=FitOut,
    ScenarioDomain=ScenarioDomain,
    ScenarioBatch=ScenarioBatch,
    CSRF_FIELD=CSRF_FIELD,
)


@dataclass(frozen=True)
class NavItem:
    """One entry of the top navigation."""

    href: str
    label: str


def navigation(user: User | None) -> list[NavItem]:
    """The pages this user may open, in the order of their daily work."""
    items = [NavItem("/scenarios", "场景推荐")]
    if user is not None:
        items = [NavItem("/find/buildings", "为企业找楼"), NavItem("/find/firms", "为楼宇找企业"), *items]
        items.append(NavItem("/leads", "跟进"))
        items.append(NavItem("/allocation", "分配建议"))
        items.append(NavItem("/indicators", "计划指标"))
    if user is not None and user.role == Role.admin:
        items += [NavItem("/admin/weights", "权重调优"), NavItem("/admin/data", "数据管理")]
        items.append(NavItem("/admin/dashboard", "指标看板"))
    return items


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the signed-in user, the navigation and this browser's CSRF token."""
    user: User | None = getattr(request.state, "user", None)
    token = csrf_token(request)
    page = {"user": user, "nav": navigation(user), "csrf": token, "path": request.url.path, **(context or {})}
    response = templates.TemplateResponse(request, name, page, status_code=status_code)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )
    return response
