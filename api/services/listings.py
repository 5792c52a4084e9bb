"""Filtered, paged listings of the catalogue (reads only), shared by the API and the data page."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session

from models.building import Building
from models.catalogue import TABLES, to_record
from models.enterprise import Enterprise
from models.enums import District, FitOut, Industry, Origin, ScenarioDomain, ScenarioStatus
from models.records import RecordKind
from models.scenario import Scenario, taking_applications


def contains(column: Any, value: str) -> Any:
    """A JSON list column that contains `value` (portable across SQLite and PostgreSQL)."""
    return cast(column, String).like(f'%"{value}"%')


def text_search(query: Select[Any], q: str | None, *columns: Any) -> Select[Any]:
    """Free-text search in the given columns."""
    if not q:
        return query
    pattern = f"%{q.replace('%', '').replace('_', '')}%"
    return query.where(or_(*(column.like(pattern) for column in columns)))


def read(kind: RecordKind, row: Any) -> dict[str, Any]:
    """A stored row as its read schema: the record and when it was created and last changed."""
    return {**to_record(kind, row).model_dump(), "created_at": row.created_at, "updated_at": row.updated_at}


def _at_least(query: Select[Any], column: Any, bound: float | None) -> Select[Any]:
    """Rows whose column is at least the bound, when one is given."""
    return query if bound is None else query.where(column >= bound)


def _at_most(query: Select[Any], column: Any, bound: float | None) -> Select[Any]:
    """Rows whose column is at most the bound, when one is given."""
    return query if bound is None else query.where(column <= bound)


def page(session: Session, kind: RecordKind, query: Select[Any], limit: int, offset: int) -> dict[str, Any]:
    """Run a filtered listing: one page of read records (by id) and the total."""
    table = TABLES[kind]
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(table.__table__.c.id).limit(limit).offset(offset)).all()
    return {"items": [read(kind, row) for row in rows], "total": total, "limit": limit, "offset": offset}


def buildings(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    district: District | None = None,
    industry: Industry | None = None,
    fit_out: FitOut | None = None,
    rent_min: float | None = None,
    rent_max: float | None = None,
    area_min: float | None = None,
    area_max: float | None = None,
    q: str | None = None,
) -> dict[str, Any]:
    """Buildings by district, focus industry, fit-out, rent and vacant-area ranges and text."""
    query = select(Building)
    if district:
        query = query.where(Building.district == district)
    if industry:
        query = query.where(contains(Building.focus_industries, industry.value))
    if fit_out:
        query = query.where(Building.fit_out == fit_out)
    query = _at_most(
        _at_least(query, Building.rent_yuan_m2_month, rent_min), Building.rent_yuan_m2_month, rent_max
    )
    query = _at_most(_at_least(query, Building.vacant_area_m2, area_min), Building.vacant_area_m2, area_max)
    query = text_search(query, q, Building.name, Building.description, Building.address)
    return page(session, "buildings", query, limit, offset)


def enterprises(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    district: District | None = None,
    industry: Industry | None = None,
    origin: Origin | None = None,
    area_min: float | None = None,
    area_max: float | None = None,
    q: str | None = None,
) -> dict[str, Any]:
    """Firms (leads, never public) by preferred district, declared industry, origin, area need and text."""
    query = select(Enterprise)
    if district:
        query = query.where(contains(Enterprise.preferred_districts, district.value))
    if industry:
        query = query.where(contains(Enterprise.industries, industry.value))
    if origin:
        query = query.where(Enterprise.origin == origin)
    query = _at_most(
        _at_least(query, Enterprise.required_area_m2, area_min), Enterprise.required_area_m2, area_max
    )
    query = text_search(query, q, Enterprise.name, Enterprise.description)
    return page(session, "enterprises", query, limit, offset)


def scenarios(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    open_on: date | None = None,
    status: ScenarioStatus | None = None,
    domain: ScenarioDomain | None = None,
    district: District | None = None,
    industry: Industry | None = None,
    budget_min: float | None = None,
    budget_max: float | None = None,
    q: str | None = None,
) -> dict[str, Any]:
    """Scenarios by status, domain, district, industry, budget and text; `open_on`: only those it takes."""
    query = select(Scenario)
    if open_on is not None:
        query = query.where(taking_applications(open_on))
    if status:
        query = query.where(Scenario.status == status)
    if domain:
        query = query.where(Scenario.domain == domain)
    if district:
        query = query.where(Scenario.district == district)
    if industry:
        query = query.where(contains(Scenario.industries, industry.value))
    query = _at_most(
        _at_least(query, Scenario.budget_wan_yuan, budget_min), Scenario.budget_wan_yuan, budget_max
    )
    query = text_search(query, q, Scenario.title, Scenario.description, Scenario.owner)
    return page(session, "scenarios", query, limit, offset)
