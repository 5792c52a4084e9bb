"""分配建议 (staff): the pool's assignment to buildings, its conflicts, scenario invitations, and Excel.

A district's staff see their district unless they choose another (or 全市); only administrators set the
district share (a fraction, as in the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from api.deps import SessionDep, StateDep
from api.services import allocation
from api.services.allocation import AllocationOut
from api.services.write import Invalid
from api.state import AppState
from api.web.pages_find import MAX_BACK, Problem, ResultsPage, back_of, follow_result, followed_lead
from api.web.session import CsrfChecked, StaffPage
from api.web.templating import render
from api.web.workbook import XLSX, Column, Sheet, workbook_bytes
from matcher.factors import DEFAULT_NEED_M2, M2_PER_HEAD
from models.clock import CHINA
from models.enums import District
from models.lead import LeadKind
from models.row_errors import describe
from models.user import Role, User

router = APIRouter(include_in_schema=False)
FOLLOW_NOTE = "从「分配建议」加入跟进"
NAMED = 6
"""Firms named in a conflict's row before the rest fold away."""
"""An export column: its header and width."""
ASSIGNMENT_COLUMNS: tuple[Column, ...] = (
    ("序号", 6),
    ("企业编号", 12),
    ("企业", 28),
    ("楼宇编号", 10),
    ("楼宇", 28),
    ("所在区", 11),
    ("面积(㎡)", 10),
    ("匹配度", 8),
    ("首选楼宇", 28),
    ("首选匹配度", 10),
    ("较首选损失", 10),
    ("跟进中", 12),
)
CONFLICT_COLUMNS: tuple[Column, ...] = (
    ("楼宇编号", 10),
    ("楼宇", 28),
    ("所在区", 11),
    ("可用面积(㎡)", 12),
    ("首选需求合计(㎡)", 15),
    ("企业数", 8),
    ("首选该楼宇的企业", 60),
)
SHOWN = 100
"""Rows of the assignments and the invitations shown until 显示全部 is asked for (the export has all)."""
INVITATION_COLUMNS: tuple[Column, ...] = (
    ("场景编号", 10),
    ("场景", 36),
    ("所在区", 11),
    ("邀请企业", 60),
    ("尚缺", 6),
)


@dataclass
class AllocationForm:
    """The form as sent: district and share as typed, and what is wrong with them."""

    district: str
    share: str
    errors: list[str] = field(default_factory=list)
    bad: set[str] = field(default_factory=set)
    chosen: District | None = None
    fraction: float | None = None
    everything: bool = False
    """Every row of the long tables, not only the first `SHOWN`."""

    def query(self) -> str:
        """The form as a query string (for the export link and 加入跟进's way back)."""
        return urlencode({"district": self.district, **({"share": self.share} if self.share else {})})


def parse_form(params: QueryParams, user: User) -> AllocationForm:
    """District (the user's own when not sent; empty for 全市) and share, with their errors."""
    district = params.get("district", user.district.value if user.district else "").strip()
    form = AllocationForm(district, params.get("share", "").strip(), everything=params.get("all") == "1")
    if district:
        try:
            form.chosen = District.parse(district)
        except ValueError:
            form.errors.append(f"范围：没有名为「{district[:20]}」的区")
            form.bad.add("district")
    if form.share:
        try:
            form.fraction = float(form.share)
        except ValueError:
            form.errors.append(f"单区占比上限：应为 0 到 1 之间的数字（如 0.3），实际为「{form.share[:20]}」")
            form.bad.add("share")
    return form


def _page(
    request: Request,
    user: User,
    state: AppState,
    session: Session,
    params: QueryParams,
    problem: Problem | None = None,
) -> Response:
    """The page for these parameters: the form, and the suggestion unless the form or the share is refused."""
    form = parse_form(params, user)
    context: dict[str, Any] = {
        "form": form,
        "admin": user.role == Role.admin,
        "followed": followed_lead(session, params),
        "problem": problem,
        "back": back_of(params),
        "m2_per_head": M2_PER_HEAD,
        "default_need": DEFAULT_NEED_M2,
        "named": NAMED,
        "shown": None if form.everything else SHOWN,
    }
    if not form.errors:
        try:
            found = allocation.report(
                state=state, session=session, actor=user, district=form.chosen, share=form.fraction
            )
        except Invalid as exc:
            for error in exc.errors:
                form.errors.append(describe(error)[1])
            form.bad.add("share")
        else:
            context |= {"found": found, "export": f"/allocation.xlsx?{form.query()}"}
    code = problem.status if problem else status.HTTP_422_UNPROCESSABLE_CONTENT if form.errors else 200
    return render(request, "allocation.html", context, status_code=code)


@router.get("/allocation")
def allocation_page(request: Request, user: StaffPage, state: StateDep, session: SessionDep) -> Response:
    """分配建议: the summary, conflicts, suggested assignment and scenario invitations."""
    return _page(request, user, state, session, request.query_params)


@router.post("/allocation/follow", dependencies=[CsrfChecked])
def follow(
    request: Request,
    user: StaffPage,
    state: StateDep,
    session: SessionDep,
    enterprise_id: Annotated[str, Form(min_length=1, max_length=64)],
    building_id: Annotated[str, Form(min_length=1, max_length=64)],
    back: Annotated[str, Form(max_length=MAX_BACK)] = "",
    rank: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """加入跟进 on a suggested assignment: start the building lead, then back to the row."""
    results = ResultsPage(
        path="/allocation",
        kind=LeadKind.building,
        note=FOLLOW_NOTE,
        show=partial(_page, request, user, state, session),
    )
    return follow_result(
        results,
        user=user,
        state=state,
        session=session,
        enterprise_id=enterprise_id,
        offer_id=building_id,
        back=back,
        new_id="",
        rank=rank,
    )


def export_sheets(found: AllocationOut) -> list[Sheet]:
    """The suggestion, the conflicts and the invitations, one sheet each."""
    assignments = [
        [
            number,
            item.enterprise_id,
            item.enterprise_name,
            item.building_id,
            item.building_name,
            item.district,
            round(item.area_m2, 1),
            round(item.score, 4),
            item.first_choice_name,
            round(item.first_choice_score, 4),
            round(item.loss, 4),
            f"{item.lead.id}（{item.lead.stage.label}）" if item.lead else None,
        ]
        for number, item in enumerate(found.assignments, start=1)
    ]
    conflicts = [
        [
            over.building_id,
            over.building_name,
            over.district,
            over.available_m2,
            over.wanted_m2,
            len(over.enterprise_ids),
            "、".join(over.enterprise_names),
        ]
        for over in found.greedy.overbooked_buildings
    ]
    invitations = [
        [
            item.scenario_id,
            item.scenario_title,
            item.district or "市级",
            "、".join(
                f"{name}（{score:.2f}）"
                for name, score in zip(item.enterprise_names, item.scores, strict=True)
            ),
            item.shortfall,
        ]
        for item in found.scenario_invitations
    ]
    return [
        ("建议分配", ASSIGNMENT_COLUMNS, assignments),
        ("冲突", CONFLICT_COLUMNS, conflicts),
        ("场景邀请", INVITATION_COLUMNS, invitations),
    ]


@router.get("/allocation.xlsx")
def export(request: Request, user: StaffPage, state: StateDep, session: SessionDep) -> Response:
    """The page's suggestion as Excel: 建议分配, 冲突 and 场景邀请 sheets."""
    form = parse_form(request.query_params, user)
    if form.errors:
        return _page(request, user, state, session, request.query_params)
    found = allocation.report(
        state=state, session=session, actor=user, district=form.chosen, share=form.fraction
    )
    name = f"分配建议-{found.scope}-{datetime.now(CHINA):%Y%m%d}.xlsx"
    disposition = f"attachment; filename=\"allocation.xlsx\"; filename*=UTF-8''{quote(name)}"
    content = workbook_bytes(export_sheets(found))
    return Response(content, media_type=XLSX, headers={"Content-Disposition": disposition})
