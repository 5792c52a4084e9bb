"""The shortlist, now the first stages of building leads: compare up to four side by side, export to Excel.

A selection is the leads ticked on the 跟进 board (`ids`) or one firm's open building leads
(`enterprise`). The old /shortlist addresses lead to the user's own leads at 推介.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep, StateDep
from api.services import leads, matching
from api.services.write import NotFound
from api.state import AppState
from api.web.pages_find import (
    Component,
    Cost,
    Incentive,
    amenity_labels,
    components,
    incentive,
    industry_label,
    monthly_cost,
)
from api.web.session import StaffPage
from api.web.templating import render
from api.web.workbook import XLSX, Column, workbook_bytes
from models.clock import CHINA
from models.lead import Lead, LeadKind, Stage
from models.records import BuildingRecord, EnterpriseRecord

router = APIRouter(include_in_schema=False)

MAX_COMPARE = 4
MAX_SELECTED = 200
"""The most leads one selection (and so one export) holds."""
STRENGTHS = 3
"""The strongest factors shown for each compared building."""
GONE = "（已移出楼宇库）"
EXPORT_COLUMNS: tuple[Column, ...] = (
    ("跟进编号", 9),
    ("企业", 26),
    ("楼宇编号", 10),
    ("楼宇名称", 28),
    ("所在区", 11),
    ("地址", 30),
    ("跟进阶段", 9),
    ("负责人", 12),
    ("推介排名", 9),
    ("匹配度", 8),
    ("可用面积(㎡)", 12),
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
    ("各因素贡献", 60),
    ("创建时间", 17),
)


@dataclass(frozen=True)
class Compared:
    """A building lead with its building as matched now (None once it left), the firm, cost and incentive."""

    lead: Lead
    building: BuildingRecord | None
    firm: EnterpriseRecord | None
    cost: Cost | None
    incentive: Incentive | None
    parts: list[Component]

    @property
    def strengths(self) -> list[Component]:
        """The factors that added most to the match score."""
        ranked = sorted((part for part in self.parts if part.value > 0), key=lambda part: -part.value)
        return ranked[:STRENGTHS]


def _compared(state: AppState, lead: Lead) -> Compared:
    """A lead with its building's available area, the firm's monthly cost there and its incentive standing."""
    building = state.recommender.records["buildings"].get(lead.building_id or "")
    firm = state.recommender.records["enterprises"].get(lead.enterprise_id)
    firm = firm if isinstance(firm, EnterpriseRecord) else None
    parts = components(lead.match_components or {})
    if not isinstance(building, BuildingRecord):
        return Compared(lead, None, firm, None, None, parts)
    return Compared(lead, building, firm, monthly_cost(building, firm), incentive(building, firm), parts)


def _ids(values: list[str]) -> list[int]:
    """Lead ids from `ids=1&ids=2` or `ids=1,2`, in order, without repeats."""
    numbers = [part.strip() for value in values for part in value.split(",")]
    return list(dict.fromkeys(int(part) for part in numbers if part.isdigit() and len(part) <= 9))


def selection(session: Session, ids: list[str], enterprise: str) -> tuple[list[Lead], list[str]]:
    """The building leads named by id (in that order), or a firm's open building leads; and notices."""
    notices: list[str] = []
    if enterprise:
        filters = leads.LeadFilters(kind=LeadKind.building, enterprise=enterprise, open_only=True)
        found, _ = leads.find(session, filters, limit=MAX_SELECTED)
        return found, notices
    chosen: list[Lead] = []
    for number in _ids(ids)[:MAX_SELECTED]:
        try:
            lead = leads.get(session, number)
        except NotFound:
            notices.append(f"跟进 {number} 不存在，已略过。")
            continue
        if lead.kind == LeadKind.building:
            chosen.append(lead)
        else:
            notices.append(f"跟进 {number} 是场景跟进，不参与楼宇对比。")
    return chosen, notices


def _standout(values: list[float], pick: Callable[[list[float]], float]) -> float | None:
    """The value to mark (lowest rent, best score), only when the buildings differ in it."""
    return pick(values) if len(set(values)) > 1 else None


Ids = Annotated[list[str] | None, Query(max_length=MAX_SELECTED)]
Enterprise = Annotated[str, Query(max_length=64)]


@router.get("/leads/compare")
def compare(
    request: Request,
    user: StaffPage,
    state: StateDep,
    session: SessionDep,
    ids: Ids = None,
    enterprise: Enterprise = "",
) -> Response:
    """Up to four building leads side by side; the lowest monthly rent and best score marked."""
    matching.catch_up(state=state, session=session)  # buildings and signings saved by another worker
    chosen, notices = selection(session, ids or [], enterprise.strip())
    rows = [_compared(state, lead) for lead in chosen]
    selected = len(rows)
    if selected > MAX_COMPARE:
        notices.append(
            f"最多并排对比 {MAX_COMPARE} 个，已显示所选的前 {MAX_COMPARE} 个；导出包含全部 {selected} 个。"
        )
        rows = rows[:MAX_COMPARE]
    costs = [row.cost.monthly for row in rows if row.cost]
    scores = [row.lead.match_score for row in rows if row.lead.match_score is not None]
    query = urlencode(
        [("enterprise", enterprise)] if enterprise else [("ids", str(lead.id)) for lead in chosen]
    )
    context = {
        "rows": rows,
        "notices": notices,
        "selected": selected,
        "cheapest": _standout(costs, min),
        "best": _standout(scores, max),
        "amenity_labels": amenity_labels,
        "industry_label": industry_label,
        "export": f"/leads/compare/export.xlsx?{query}",
        "firm": rows[0].lead.enterprise_name if enterprise and rows else None,
    }
    return render(request, "compare.html", context)


def local_time(moment: datetime) -> datetime:
    """A stored UTC time as Chongqing's wall-clock time (naive, as Excel keeps it)."""
    return moment.astimezone(CHINA).replace(tzinfo=None)


def _cell_values(row: Compared) -> list[Any]:
    """One export row, in the order of EXPORT_COLUMNS."""
    lead, building, cost, standing = row.lead, row.building, row.cost, row.incentive
    parts = "；".join(f"{part.label} {part.value:+.3f}" for part in row.parts)
    head = [lead.id, lead.enterprise_name, lead.building_id, lead.offer_name, lead.district]
    follow = [lead.stage_name, lead.owner, lead.match_rank, lead.match_score]
    if building is None:
        values: list[Any] = [None] * len(EXPORT_COLUMNS)
        values[:10] = [*head, GONE, *follow]
        values[-2:] = [parts, local_time(lead.created_at)]
        return values
    return [
        *head,
        building.address,
        *follow,
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
        parts,
        local_time(lead.created_at),
    ]


def compared_workbook(rows: list[Compared]) -> bytes:
    """The selection as an .xlsx file: Chinese headers, one row per lead."""
    return workbook_bytes([("楼宇对比", EXPORT_COLUMNS, [_cell_values(row) for row in rows])])


@router.get("/leads/compare/export.xlsx")
def export(
    user: StaffPage, state: StateDep, session: SessionDep, ids: Ids = None, enterprise: Enterprise = ""
) -> Response:
    """Download the whole selection (not only the four compared) as Excel."""
    matching.catch_up(state=state, session=session)
    chosen, _ = selection(session, ids or [], enterprise.strip())
    rows = [_compared(state, lead) for lead in chosen]
    name = f"楼宇对比-{datetime.now(CHINA):%Y%m%d}.xlsx"
    disposition = f"attachment; filename=\"leads.xlsx\"; filename*=UTF-8''{quote(name)}"
    return Response(compared_workbook(rows), media_type=XLSX, headers={"Content-Disposition": disposition})


@router.get("/shortlist")
@router.get("/shortlist/compare")
@router.get("/shortlist/export.xlsx")
def old_shortlist(user: StaffPage) -> Response:
    """The old shortlist addresses: the user's own building leads at 推介 on the 跟进 board."""
    query = urlencode({"kind": LeadKind.building.value, "stage": Stage.recommended.value, "owner": user.name})
    return RedirectResponse(f"/leads?{query}", status.HTTP_303_SEE_OTHER)
