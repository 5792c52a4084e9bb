"""跟进 (SPEC §8): the board of leads by stage, a lead's page with its timeline, and moving a lead on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from api.deps import SessionDep, StateDep
from api.services import leads, matching
from api.services.write import Conflict, Forbidden, Refused
from api.state import AppState
from api.web.admin_forms import PostedForm, china_time
from api.web.pages_data import cell
from api.web.pages_find import Component, components
from api.web.pages_shortlist import MAX_COMPARE
from api.web.session import CsrfChecked, StaffPage
from api.web.templating import render
from models.base import utcnow
from models.clock import china_date
from models.enums import District, Industry, LabelledEnum
from models.lead import (
    FACT_LABELS,
    FACT_NAMES,
    FACTS,
    Lead,
    LeadEvent,
    LeadKind,
    LostReason,
    Stage,
    refusal,
    stage_label,
    stages_of,
)
from models.lead_facts import StageChange, StageFacts
from models.records import BuildingRecord
from models.row_errors import describe
from models.user import Role, User

router = APIRouter(include_in_schema=False)

CARDS_PER_COLUMN = 20
"""Cards a board column shows; the rest are one click away (that stage alone, page by page)."""
STAGE_PAGE = 60
"""Cards per page when the board shows one stage."""
MAX_PAGE = 10_000
BOARD_FIELDS = (
    "kind",
    "district",
    "stage",
    "industry",
    "owner",
    "enterprise",
    "building",
    "scenario",
    "page",
)
FORM_LABELS = {**FACT_LABELS, "stage": "新阶段", "note": "备注", "expected_version": "版本"}
LeadIdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="跟进记录编号")]
LabelledT = TypeVar("LabelledT", bound=LabelledEnum)


# ---- the board ---------------------------------------------------------------------------------


@dataclass
class BoardQuery:
    """The board's filters as typed (to fill the form again), as parsed, and what was wrong with them."""

    form: dict[str, str]
    kind: LeadKind = LeadKind.building
    filters: leads.LeadFilters = field(default_factory=leads.LeadFilters)
    page: int = 1
    errors: list[str] = field(default_factory=list)

    def link(self, **changes: str) -> str:
        """The board's address with some parameters changed (an empty value drops one)."""
        values = {**self.form, **changes}
        return "/leads?" + urlencode({name: value for name, value in values.items() if value})


def _choice(enum: type[LabelledT], raw: str, label: str, errors: list[str]) -> LabelledT | None:
    """A member by code or Chinese label; an unknown value is reported and left out."""
    if not raw:
        return None
    try:
        return enum.parse(raw)
    except ValueError:
        errors.append(f"{label}：未知的取值「{raw[:20]}」")
        return None


def parse_board(params: QueryParams) -> BoardQuery:
    """Read the board's filters: kind, district, stage, industry, owner, and one firm/building/scenario."""
    form = {name: (params.get(name) or "").strip()[:64] for name in BOARD_FIELDS}
    query = BoardQuery(form)
    kind = _choice(LeadKind, form["kind"], "类型", query.errors) or LeadKind.building
    if form["building"] or form["scenario"]:
        kind = LeadKind.building if form["building"] else LeadKind.scenario
    stage = _choice(Stage, form["stage"], "阶段", query.errors)
    if stage is not None and stage not in stages_of(kind):
        query.errors.append(f"阶段：{kind.label}跟进没有「{stage_label(kind, stage)}」阶段")
        stage = None
    district = _choice(District, form["district"], "区域", query.errors)
    industry = _choice(Industry, form["industry"], "产业", query.errors)
    page = form["page"]
    query.page = int(page) if page.isdigit() and 1 <= int(page) <= MAX_PAGE else 1
    query.kind = kind
    form["kind"] = kind.value
    query.filters = leads.LeadFilters(
        stage=stage,
        kind=kind,
        district=district.value if district else None,
        industry=industry.value if industry else None,
        owner=form["owner"] or None,
        enterprise=form["enterprise"] or None,
        building=form["building"] or None,
        scenario=form["scenario"] or None,
    )
    return query


@dataclass(frozen=True)
class Column:
    """One stage of the board: its first cards, how many leads it holds, and where to see them all."""

    stage: Stage
    label: str
    leads: list[Lead]
    total: int
    link: str


def days_in_stage(lead: Lead) -> int:
    """Whole days since the lead reached its current stage."""
    return (utcnow() - lead.stage_at).days


def stage_day(lead: Lead) -> str:
    """The day (in Chongqing) the lead reached its current stage."""
    return china_date(lead.stage_at).isoformat()


@router.get("/leads")
def board(request: Request, user: StaffPage, session: SessionDep) -> Response:
    """跟进看板: a column per stage (the first cards of each), or one stage page by page."""
    query = parse_board(request.query_params)
    one = query.filters.stage
    size = STAGE_PAGE if one else CARDS_PER_COLUMN
    columns = []
    for stage in (one,) if one else stages_of(query.kind):
        found, total = leads.find(
            session,
            replace(query.filters, stage=stage),
            limit=size,
            offset=(query.page - 1) * size if one else 0,
        )
        link = query.link(stage=stage.value, page="")
        columns.append(Column(stage, stage_label(query.kind, stage), found, total, link))
    tabs = []
    for kind in LeadKind:
        _, total = leads.find(session, replace(query.filters, kind=kind, stage=None), limit=0)
        tabs.append((kind, total, query.link(kind=kind.value, stage="", page="", building="", scenario="")))
    context = {
        "query": query,
        "form": query.form,
        "columns": columns,
        "tabs": tabs,
        "one": one,
        "pages": max(1, -(-columns[0].total // size)) if one else 1,
        "stages": [(stage, stage_label(query.kind, stage)) for stage in stages_of(query.kind)],
        "days_in_stage": days_in_stage,
        "stage_day": stage_day,
        "mine": query.link(owner=user.name, page=""),
        "cards_per_column": CARDS_PER_COLUMN,
        "max_compare": MAX_COMPARE,
    }
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if query.errors else status.HTTP_200_OK
    return render(request, "leads_board.html", context, status_code=code)


# ---- one lead ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactField:
    """One stage fact as the form asks for it."""

    name: str
    label: str
    stage: Stage
    widget: str
    """number, date or select."""
    step: str


FACT_FIELDS = tuple(
    FactField(
        name,
        FACT_LABELS[name],
        stage,
        {"moved_in_on": "date", "lost_reason": "select"}.get(name, "number"),
        "1" if name.endswith("headcount") else "any",
    )
    for stage, names in FACTS.items()
    for name in names
)


@dataclass
class StageForm:
    """The advance form as typed: the chosen stage, the note, the facts, and why it was not saved."""

    expected_version: str
    stage: str = ""
    note: str = ""
    facts: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    bad: set[str] = field(default_factory=set)
    problem: str | None = None

    @classmethod
    def posted(cls, form: PostedForm) -> StageForm:
        """The submitted form's text values."""
        values = {name: value.strip() for name, value in form.items() if isinstance(value, str)}
        return cls(
            expected_version=values.get("expected_version", ""),
            stage=values.get("stage", ""),
            note=values.get("note", ""),
            facts={name: values[name] for name in FACT_NAMES if values.get(name)},
        )

    def data(self) -> dict[str, Any]:
        """What `StageChange` validates: the stage, note, version and the facts filled in."""
        return {
            "stage": self.stage,
            "note": self.note,
            "expected_version": self.expected_version,
            **self.facts,
        }

    def refused(self, exc: ValidationError) -> None:
        """Note each bad field and its reason in Chinese."""
        for error in exc.errors(include_url=False):
            name, message = describe(error)
            self.bad.add(name or "")
            label = FORM_LABELS.get(name or "", "表单")
            self.errors.append(message if error["type"] == "cross_field" else f"{label}：{message}")


@dataclass(frozen=True)
class Step:
    """One entry of a lead's timeline."""

    at: str
    actor: str
    from_label: str | None
    to_label: str
    stage: Stage
    note: str
    facts: list[tuple[str, str]]


def fact_lines(values: dict[str, Any]) -> list[tuple[str, str]]:
    """Stage facts as (Chinese label, shown value), in the order of the stages' facts."""
    try:
        typed = StageFacts.model_validate(values).given()
    except ValidationError:  # an entry from before a rule tightened: shown as it was written
        typed = values
    return [(FACT_LABELS.get(name, name), cell(value)) for name, value in typed.items()]


def timeline(lead: Lead) -> list[Step]:
    """The lead's history, oldest first."""
    return [_step(lead, event) for event in lead.history]


def _step(lead: Lead, event: LeadEvent) -> Step:
    """One history entry as the timeline shows it."""
    return Step(
        china_time(event.at),
        event.actor,
        stage_label(lead.kind, event.from_stage) if event.from_stage else None,
        stage_label(lead.kind, event.stage),
        event.stage,
        event.note,
        fact_lines(event.facts),
    )


def current_facts(lead: Lead) -> list[tuple[str, str]]:
    """The facts the lead holds now (signed, moved in, won or lost), with the signing day."""
    lines = fact_lines({name: value for name in FACT_NAMES if (value := getattr(lead, name)) is not None})
    return [("签约日期", cell(lead.signed_on)), *lines] if lead.signed_on is not None else lines


def next_stages(lead: Lead) -> list[tuple[Stage, str]]:
    """The stages the lead may move to now, in pipeline order (`lost` last)."""
    return [
        (stage, stage_label(lead.kind, stage))
        for stage in stages_of(lead.kind)
        if refusal(lead.kind, lead.stage, stage) is None
    ]


@dataclass(frozen=True)
class Links:
    """Where the pair's two sides open for this user."""

    firm: str
    offer: str


def links(lead: Lead, user: User) -> Links:
    """Admins open the records' detail pages; staff the matching pages of the firm and the building."""
    firm, offer = quote(lead.enterprise_id), quote(lead.offer_id)
    if lead.kind == LeadKind.scenario:
        offer_link = f"/scenarios/{offer}"
    elif user.role == Role.admin:
        offer_link = f"/admin/data/buildings/{offer}"
    else:
        offer_link = f"/find/firms?building={offer}"
    firm_link = (
        f"/admin/data/enterprises/{firm}" if user.role == Role.admin else f"/find/buildings?firm={firm}"
    )
    return Links(firm_link, offer_link)


def _available(state: AppState, session: Session, lead: Lead) -> tuple[float, float] | None:
    """A building lead's building: its available area now and its ledger vacancy (None once it left)."""
    if lead.building_id is None:
        return None
    matching.catch_up(state=state, session=session)  # a signing saved by another worker counts
    now = state.recommender.records["buildings"].get(lead.building_id)
    ledger = state.recommender.ledger.get(lead.building_id)
    if not isinstance(now, BuildingRecord) or ledger is None:
        return None
    return now.vacant_area_m2, ledger.vacant_area_m2


def lead_page(
    request: Request,
    state: AppState,
    session: Session,
    user: User,
    lead: Lead,
    form: StageForm,
    *,
    moved: bool = False,
    status_code: int = 200,
) -> Response:
    """Render a lead: the pair, its stage and facts, the match it started from, its timeline, the form."""
    choices = next_stages(lead)
    chosen = form.stage or next((stage.value for stage, _ in choices if stage != Stage.lost), "")
    match_parts: list[Component] = components(lead.match_components or {})
    context = {
        "lead": lead,
        "links": links(lead, user),
        "facts": current_facts(lead),
        "match_parts": match_parts,
        "steps": timeline(lead),
        "choices": choices,
        "chosen": chosen,
        "form": form,
        "fields": [spec for spec in FACT_FIELDS if any(spec.stage == stage for stage, _ in choices)],
        "reasons": list(LostReason),
        "may_change": leads.may_change(user, lead),
        "area": _available(state, session, lead),
        "moved": moved,
        "days": days_in_stage(lead),
        "created": china_time(lead.created_at),
    }
    return render(request, "lead_detail.html", context, status_code=status_code)


@router.get("/leads/{lead_id:int}")
def show_lead(
    request: Request, lead_id: LeadIdPath, user: StaffPage, state: StateDep, session: SessionDep
) -> Response:
    """A lead's page; `moved` says it was just moved on (by this user's form)."""
    lead = leads.get(session, lead_id)
    form = StageForm(expected_version=str(lead.version))
    moved = "moved" in request.query_params
    return lead_page(request, state, session, user, lead, form, moved=moved)


@router.post("/leads/{lead_id:int}/stage", dependencies=[CsrfChecked])
def move_lead(
    request: Request,
    lead_id: LeadIdPath,
    user: StaffPage,
    state: StateDep,
    session: SessionDep,
    posted: PostedForm,
) -> Response:
    """Move a lead on with the stage's facts; a refused change comes back on the form, as typed."""
    form = StageForm.posted(posted)
    try:
        change = StageChange.model_validate(form.data())
    except ValidationError as exc:
        form.refused(exc)
        lead = leads.get(session, lead_id)
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return lead_page(request, state, session, user, lead, form, status_code=code)
    try:
        lead = leads.advance(session=session, actor=user, live=state, lead_id=lead_id, change=change)
    except (Conflict, Refused, Forbidden) as exc:
        session.rollback()
        form.problem = str(exc)
        if isinstance(exc, Conflict):
            form.problem += "。您填写的内容都已保留，下方时间线已是最新进展；核对后可直接再次提交。"
        lead = leads.get(session, lead_id)
        if isinstance(exc, Conflict):
            form.expected_version = str(lead.version)
        return lead_page(request, state, session, user, lead, form, status_code=exc.status)
    target = f"/leads/{lead.id}?moved=1#timeline"
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)
