"""The server-rendered web front end (Chinese first): pages call the same services as the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web import (
    error_pages,
    pages_allocation,
    pages_auth,
    pages_dashboard,
    pages_data,
    pages_find,
    pages_indicators,
    pages_leads,
    pages_letter,
    pages_scenarios,
    pages_shortlist,
    pages_weights,
)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PAGE_MODULES = (
    pages_auth,
    pages_find,
    pages_leads,
    pages_letter,
    pages_shortlist,
    pages_scenarios,
    pages_weights,
    pages_data,
    pages_dashboard,
    pages_indicators,
    pages_allocation,
)


def install(app: FastAPI) -> None:
    """Mount the static files, the page routers and the page-level error handlers."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in PAGE_MODULES:
        app.include_router(module.router)
    error_pages.install(app)
