"""The shortlist: buildings a staff user keeps for a firm; compare up to four, export to Excel."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import QueryParams

from api.deps import SessionDep, StateDep
from api.services import shortlist as shortlist_service
from api.state import AppState
from api.web.error_pages import error_page
from api.web.pages_find import (
    Cost,
    Incentive,
    amenity_labels,
    incentive,
    industry_label,
    monthly_cost,
    parse_find,
)
from api.web.session import CsrfChecked, StaffPage
from api.web.templating import render
from models.records import BuildingRecord, EnterpriseRecord
from models.shortlist import ShortlistItem

router = APIRouter(include_in_schema=False)

MAX_COMPARE = 4
CHONGQING = ZoneInfo("Asia/Shanghai")
NO_FIRM = "（未指定企业）"
GONE = "（已移出楼宇库）"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_COLUMNS: tuple[tuple[str, int], ...] = (
    ("企业", 26),
    ("楼宇编号", 10),
    ("楼宇名称", 28),
    ("所在区", 11),
    ("地址", 30),
    ("匹配度", 8),
    ("可租面积(㎡)", 12),
    ("最小分割面积(㎡)", 14),
    ("租金(元/㎡·月)", 13),
    ("计租面积(㎡)", 12),
    ("月租金(元)", 12),
    ("装修状态", 10),
    ("等级", 6),
    ("可入驻日期", 12),
    ("配套", 24),
    ("入驻政策", 40),
    ("政策适用", 30),
    ("推荐理由", 60),
    ("加入时间", 17),
)


@dataclass(frozen=True)
class Kept:
    """A shortlist row with the building as the catalogue holds it now (None once it left)."""

    item: ShortlistItem
    building: BuildingRecord | None
    firm: EnterpriseRecord | None
    cost: Cost | None
    incentive: Incentive | None


def _firm(profile: dict[str, Any] | None) -> EnterpriseRecord | None:
    """The firm profile saved with a row."""
    if not profile:
        return None
    try:
        return EnterpriseRecord.model_validate(profile)
    except ValidationError:
        return None


def _kept(state: AppState, item: ShortlistItem) -> Kept:
    """A row with its current building, monthly cost and incentive standing."""
    records = state.recommender.records["buildings"]
    building = records.get(item.building_id)
    firm = _firm(item.firm_profile)
    if not isinstance(building, BuildingRecord):
        return Kept(item, None, firm, None, None)
    return Kept(item, building, firm, monthly_cost(building, firm), incentive(building, firm))


def _items(session: SessionDep, user_id: int, ids: list[int] | None = None) -> list[ShortlistItem]:
    """A user's rows (only those named, in the order named, when `ids` is given)."""
    statement = select(ShortlistItem).where(ShortlistItem.user_id == user_id)
    if ids is not None:
        rows = {row.id: row for row in session.scalars(statement.where(ShortlistItem.id.in_(ids)))}
        return [rows[number] for number in ids if number in rows]
    return list(
        session.scalars(
            statement.order_by(ShortlistItem.firm_name, ShortlistItem.created_at, ShortlistItem.id)
        )
    )


@router.get("/shortlist")
def shortlist(request: Request, user: StaffPage, state: StateDep, session: SessionDep) -> Response:
    """The user's shortlist, grouped by firm, with compare and export."""
    kept = [_kept(state, item) for item in _items(session, user.id)]
    groups: dict[str, list[Kept]] = {}
    for row in kept:
        groups.setdefault(row.item.firm_name, []).append(row)
    context = {
        "groups": groups,
        "count": len(kept),
        "max_compare": MAX_COMPARE,
        "removed": request.query_params.get("removed"),
        "no_firm": NO_FIRM,
        "local_time": local_time,
    }
    return render(request, "shortlist.html", context)


def _score(raw: str) -> float | None:
    """The score carried by the form, rounded; None unless within -1..1 (spread may push it below 0)."""
    try:
        value = float(raw)
    except ValueError:
        return None
    return round(value, 4) if math.isfinite(value) and -1 <= value <= 1 else None


@router.post("/shortlist/add", dependencies=[CsrfChecked])
def add(
    request: Request,
    user: StaffPage,
    state: StateDep,
    session: SessionDep,
    building_id: Annotated[str, Form(min_length=1, max_length=64)],
    back: Annotated[str, Form(max_length=30_000)] = "",
    score: Annotated[str, Form(max_length=40)] = "",
    rank: Annotated[str, Form(max_length=4)] = "",
    reasons: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Keep a building for the firm of the search it was found in; adding it again refreshes the row."""
    building = state.recommender.records["buildings"].get(building_id)
    if not isinstance(building, BuildingRecord):
        return error_page(request, status.HTTP_404_NOT_FOUND, f"楼宇「{building_id}」不存在。")
    firm = parse_find(state, QueryParams(back)).firm if back else None
    shortlist_service.keep(
        session=session,
        user=user,
        building=building,
        firm=firm,
        score=_score(score),
        reasons=reasons or [],
        query=back,
    )
    if not back:
        return RedirectResponse("/shortlist", status.HTTP_303_SEE_OTHER)
    anchor = f"#result-{rank}" if rank.isdigit() else ""
    target = f"/find/buildings?{back}&added={quote(building_id)}{anchor}"
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


@router.post("/shortlist/{item_id}/remove", dependencies=[CsrfChecked])
def remove(item_id: int, user: StaffPage, session: SessionDep) -> Response:
    """Take a row off the user's own shortlist."""
    shortlist_service.remove(session=session, user=user, item_id=item_id)
    return RedirectResponse("/shortlist?removed=1", status.HTTP_303_SEE_OTHER)


def _ids(values: list[str]) -> list[int]:
    """Row ids from `ids=1&ids=2` or `ids=1,2`, in order, without repeats."""
    numbers = [part.strip() for value in values for part in value.split(",")]
    return list(dict.fromkeys(int(part) for part in numbers if part.isdigit() and len(part) <= 12))


def _standout(values: list[float], pick: Callable[[list[float]], float]) -> float | None:
    """The value to mark (lowest rent, best score), only when the buildings differ in it."""
    return pick(values) if len(set(values)) > 1 else None


@router.get("/shortlist/compare")
def compare(
    request: Request,
    user: StaffPage,
    state: StateDep,
    session: SessionDep,
    ids: Annotated[list[str] | None, Query(max_length=200)] = None,
) -> Response:
    """Up to four shortlisted buildings side by side; the lowest monthly rent and best score marked."""
    wanted = _ids(ids or [])
    rows = [_kept(state, item) for item in _items(session, user.id, wanted)]
    notice = None
    if len(rows) > MAX_COMPARE:
        notice = f"最多并排对比 {MAX_COMPARE} 个，已显示所选的前 {MAX_COMPARE} 个。"
        rows = rows[:MAX_COMPARE]
    costs = [row.cost.monthly for row in rows if row.cost]
    scores = [row.item.score for row in rows if row.item.score is not None]
    context = {
        "rows": rows,
        "notice": notice,
        "cheapest": _standout(costs, min),
        "best": _standout(scores, max),
        "amenity_labels": amenity_labels,
        "industry_label": industry_label,
    }
    return render(request, "compare.html", context)


def local_time(moment: datetime) -> datetime:
    """A stored UTC time as Chongqing's wall-clock time (naive, as Excel keeps it)."""
    return moment.astimezone(CHONGQING).replace(tzinfo=None)


def _cell_values(row: Kept) -> list[Any]:
    """One export row, in the order of EXPORT_COLUMNS."""
    item, building, cost, standing = row.item, row.building, row.cost, row.incentive
    firm = item.firm_name or NO_FIRM
    reasons = "；".join(item.reasons)
    if building is None:
        values: list[Any] = [None] * len(EXPORT_COLUMNS)
        values[:6] = [firm, item.building_id, item.building_name, item.district, GONE, item.score]
        values[-2:] = [reasons, local_time(item.created_at)]
        return values
    return [
        firm,
        building.id,
        building.name,
        building.district.value,
        building.address,
        item.score,
        building.vacant_area_m2,
        building.min_unit_m2,
        building.rent_yuan_m2_month,
        cost.area if cost else None,
        round(cost.monthly, 2) if cost else None,
        building.fit_out.label,
        building.grade.label if building.grade else None,
        building.available_from,
        "、".join(amenity_labels(building.amenities)),
        building.incentives,
        standing.text if standing else None,
        reasons,
        local_time(item.created_at),
    ]


def workbook_bytes(rows: list[Kept]) -> bytes:
    """The shortlist as an .xlsx file: Chinese headers, one row per kept building, text never a formula."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "候选清单"
    sheet.append([title for title, _ in EXPORT_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(_cell_values(row))
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
            cell.alignment = Alignment(vertical="top", wrap_text=isinstance(cell.value, str))
    for index, (_, width) in enumerate(EXPORT_COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = width
    sheet.freeze_panes = "A2"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@router.get("/shortlist/export.xlsx")
def export(user: StaffPage, state: StateDep, session: SessionDep) -> Response:
    """Download the whole shortlist as Excel."""
    rows = [_kept(state, item) for item in _items(session, user.id)]
    name = f"候选清单-{datetime.now():%Y%m%d}.xlsx"
    disposition = f"attachment; filename=\"shortlist.xlsx\"; filename*=UTF-8''{quote(name)}"
    return Response(workbook_bytes(rows), media_type=XLSX, headers={"Content-Disposition": disposition})
