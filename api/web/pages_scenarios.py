"""The public scenario pages (场景推荐): open scenarios with filters, recommendations for a firm, details.

Signed-in staff also see 加入跟进 (or the open lead) on each match result, of a firm and of a scenario.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, ImmutableMultiDict, QueryParams

from api.deps import SessionDep, StateDep
from api.schemas import printable
from api.services import leads, matching
from api.services.listings import contains, text_search
from api.state import AppState
from api.web.pages_find import (
    ADHOC_ID,
    ADHOC_NAME,
    MAX_BACK,
    Problem,
    ResultsPage,
    back_of,
    follow_result,
    followed_lead,
    new_firm_id,
)
from api.web.session import CsrfChecked, PageUser, StaffPage
from api.web.templating import render
from matcher.directions import DIRECTIONS
from matcher.recommender import Match
from matcher.weights import Weights
from models.catalogue import get_record, to_record
from models.enterprise import Enterprise
from models.enums import District, Industry, LabelledEnum, ScenarioDomain
from models.lead import Lead, LeadKind
from models.records import EnterpriseRecord, ScenarioRecord
from models.row_errors import describe
from models.scenario import Scenario, takes_applications, taking_applications
from models.user import User

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
RECOMMENDED = 10
FIRMS_SHOWN = 5
CANDIDATES = 10
UNNAMED = "我的企业"
"""What a firm describing itself is called when it gives no name (staff typing in a prospect: 意向企业)."""
MAX_BUDGET = 1e9
SORTS = {"deadline": "截止日期最近", "budget": "预算最高"}
FILTER_LABELS = {
    "q": "搜索",
    "domain": "场景方向",
    "district": "所在区",
    "industry": "所需产业",
    "budget_min": "预算下限（万元）",
    "budget_max": "预算上限（万元）",
}
FACTOR_LABELS = {
    name: Weights.label(name) for name in (*DIRECTIONS["firm_scenarios"].pairing.factors, "spread")
}
Values = ImmutableMultiDict[str, Any]
FollowFrom = Literal["scenarios", "scenario"]
FOLLOW_NOTES: dict[FollowFrom, str] = {
    "scenarios": "从「场景推荐」匹配结果加入跟进",
    "scenario": "从场景详情「适合承接的企业」加入跟进",
}
"""The note of a lead's first entry: started from a firm's scenarios, or from a scenario's firms."""


def _text(values: Values, key: str) -> str:
    """A submitted text value, stripped; files and absent keys are empty."""
    value = values.get(key)
    return value.strip() if isinstance(value, str) else ""


def _texts(values: Values, key: str) -> list[str]:
    """Every submitted text value of a repeated field (checkboxes)."""
    return [value.strip() for value in values.getlist(key) if isinstance(value, str) and value.strip()]


def _today(state: AppState) -> date:
    """The day deadlines are judged on (the recommender's, so that lists and matches agree)."""
    return state.recommender.day()


# ---- filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What a visitor narrowed the open scenarios to."""

    q: str = ""
    domain: ScenarioDomain | None = None
    district: District | None = None
    industry: Industry | None = None
    budget_min: float | None = None
    budget_max: float | None = None
    sort: str = "deadline"

    def pairs(self) -> list[tuple[str, str]]:
        """The non-empty filters as form fields, for links and hidden inputs."""
        values = [(name, getattr(self, name)) for name in FILTER_LABELS]
        given = [(name, value) for name, value in values if value is not None and value != ""]
        pairs = [(name, f"{value:g}" if isinstance(value, float) else str(value)) for name, value in given]
        return pairs + ([("sort", self.sort)] if self.sort != "deadline" else [])

    def link(self, **extra: str | int) -> str:
        """The list page's address with these filters (and extra parameters such as the page)."""
        query = urlencode(self.pairs() + [(name, str(value)) for name, value in extra.items()])
        return f"/scenarios?{query}" if query else "/scenarios"

    def admits(self, scenario: ScenarioRecord) -> bool:
        """Whether a recommended scenario passes the filters (the district is applied by the matcher)."""
        budget = scenario.budget_wan_yuan or 0.0
        text = f"{scenario.title} {scenario.description} {scenario.owner or ''}".lower()
        return (
            (self.domain is None or scenario.domain == self.domain)
            and (self.industry is None or self.industry in scenario.industries)
            and (self.budget_min is None or budget >= self.budget_min)
            and (self.budget_max is None or budget <= self.budget_max)
            and (not self.q or self.q.lower() in text)
        )


def _choice(values: Values, key: str, enum: type[LabelledEnum], errors: dict[str, str]) -> Any:
    """An enum filter given by code or label; an unknown one is an error."""
    text = _text(values, key)
    if not text:
        return None
    try:
        return enum.parse(text)
    except ValueError:
        errors[key] = f"未知的选项「{text[:40]}」"
        return None


def _budget(values: Values, key: str, errors: dict[str, str]) -> float | None:
    """A budget bound in 万元: a number from 0 up."""
    text = _text(values, key)
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        errors[key] = f"请输入数字，实际为「{text[:40]}」"
        return None
    if not math.isfinite(number) or number > MAX_BUDGET:
        errors[key] = "数值过大，请输入合理的金额"
    elif number < 0:
        errors[key] = f"不能为负数，实际为 {number:g}"
    else:
        return number
    return None


def parse_filters(values: Values) -> tuple[Filters, dict[str, str]]:
    """Read the filters of a query string or form; bad ones are left out and named in `errors`."""
    errors: dict[str, str] = {}
    q = _text(values, "q")
    try:
        printable(q)
    except ValueError as exc:
        errors["q"], q = str(exc), ""
    if len(q) > 100:
        errors["q"], q = "不能超过 100 个字符", ""
    filters = Filters(
        q=q,
        domain=_choice(values, "domain", ScenarioDomain, errors),
        district=_choice(values, "district", District, errors),
        industry=_choice(values, "industry", Industry, errors),
        budget_min=_budget(values, "budget_min", errors),
        budget_max=_budget(values, "budget_max", errors),
        sort=_text(values, "sort") if _text(values, "sort") in SORTS else "deadline",
    )
    low, high = filters.budget_min, filters.budget_max
    if low is not None and high is not None and high < low:
        errors["budget_max"] = f"应不小于预算下限 {low:g}"
        filters = replace(filters, budget_max=None)
    return filters, errors


# ---- what the templates show -----------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioView:
    """A scenario as the pages show it: labels instead of codes, the budget and the days left."""

    record: ScenarioRecord
    budget: str
    days_left: int | None
    industries: list[str]

    @property
    def deadline_text(self) -> str:
        """The deadline and how far away it is."""
        deadline, days = self.record.deadline, self.days_left
        if deadline is None or days is None:
            return "长期征集"
        if days > 0:
            return f"{deadline.isoformat()}（还剩 {days} 天）"
        return (
            f"{deadline.isoformat()}（今天截止）"
            if days == 0
            else f"{deadline.isoformat()}（已过 {-days} 天）"
        )

    @property
    def urgent(self) -> bool:
        """Whether the deadline is a week away or less."""
        return self.days_left is not None and self.days_left <= 7


def scenario_view(record: ScenarioRecord, today: date) -> ScenarioView:
    """Prepare a scenario for display."""
    budget = (
        f"{record.budget_wan_yuan:,.2f}".rstrip("0").rstrip(".") + " 万元"
        if record.budget_wan_yuan
        else "未公布"
    )
    days = (record.deadline - today).days if record.deadline else None
    return ScenarioView(record, budget, days, [industry.label for industry in record.industries])


@dataclass(frozen=True)
class Recommendation:
    """One recommended scenario with the matcher's score, factor contributions and reasons."""

    match: Match
    scenario: ScenarioView
    following: Lead | None = None
    """The firm's open lead for the scenario (staff only), shown instead of 加入跟进."""

    @property
    def percent(self) -> int:
        """The score as a width for the score bar."""
        return max(0, min(100, round(self.match.score * 100)))


@dataclass
class Profile:
    """What a firm typed about itself, kept to fill the form in again."""

    name: str = ""
    description: str = ""
    headcount: str = ""
    industries: list[str] = field(default_factory=list)
    preferred_districts: list[str] = field(default_factory=list)


def parse_profile(values: Values, unnamed: str) -> tuple[Profile, EnterpriseRecord | None, dict[str, str]]:
    """The firm described in the form as an ad-hoc record (not stored), or the errors naming each field."""
    profile = Profile(
        name=_text(values, "name"),
        description=_text(values, "description"),
        headcount=_text(values, "headcount"),
        industries=_texts(values, "industries"),
        preferred_districts=_texts(values, "preferred_districts"),
    )
    data = {"id": ADHOC_ID, **vars(profile), "name": profile.name or unnamed}
    try:
        return profile, EnterpriseRecord.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            name, message = describe(error)
            errors.setdefault(name or "", message)
        return profile, None, errors


# ---- queries ---------------------------------------------------------------------------------


def _filtered(filters: Filters, today: date) -> Select[Any]:
    """The public scenarios (those taking applications `today`) passing the filters."""
    query = select(Scenario).where(taking_applications(today))
    if filters.domain:
        query = query.where(Scenario.domain == filters.domain)
    if filters.district:
        query = query.where(Scenario.district == filters.district)
    if filters.industry:
        query = query.where(contains(Scenario.industries, filters.industry.value))
    if filters.budget_min is not None:
        query = query.where(Scenario.budget_wan_yuan >= filters.budget_min)
    if filters.budget_max is not None:
        query = query.where(Scenario.budget_wan_yuan <= filters.budget_max)
    return text_search(query, filters.q, Scenario.title, Scenario.description, Scenario.owner)


def _listing(session: Session, filters: Filters, today: date, page_text: str) -> dict[str, Any]:
    """One page of the filtered public scenarios, soonest deadline (or largest budget) first."""
    query = _filtered(filters, today)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(int(page_text), 1), pages) if page_text.isdigit() and len(page_text) < 7 else 1
    order: tuple[Any, ...] = (Scenario.deadline.is_(None), Scenario.deadline, Scenario.id)
    if filters.sort == "budget":
        order = (Scenario.budget_wan_yuan.desc(), Scenario.id)
    rows = session.scalars(query.order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    views = [scenario_view(_scenario(row), today) for row in rows]
    return {"scenarios": views, "total": total, "page": page, "pages": pages}


def _scenario(row: Scenario) -> ScenarioRecord:
    """The record of a stored scenario row."""
    record = to_record("scenarios", row)
    assert isinstance(record, ScenarioRecord)
    return record


def _recommend(
    state: AppState, session: Session, firm: EnterpriseRecord, filters: Filters
) -> list[Recommendation]:
    """The best open scenarios for a firm that pass the filters, best first."""
    districts = [filters.district.value] if filters.district else []
    answer = matching.match(
        state=state,
        session=session,
        direction=DIRECTIONS["firm_scenarios"],
        record=firm,
        k=matching.MAX_K,
        districts=districts,
    )
    today = _today(state)
    picks = []
    for match in answer.result.results:
        scenario = match.record
        assert isinstance(scenario, ScenarioRecord)
        if filters.admits(scenario):
            picks.append(Recommendation(match, scenario_view(scenario, today)))
    return picks[:RECOMMENDED]


def _stored_firm(session: Session, text: str) -> tuple[EnterpriseRecord | None, list[Enterprise]]:
    """A stored firm by exact id or by a unique part of its name; otherwise the candidates by name."""
    try:
        printable(text)
    except ValueError:
        return None, []
    record = get_record(session, "enterprises", text[:64])
    if isinstance(record, EnterpriseRecord):
        return record, []
    query = text_search(select(Enterprise), text[:100], Enterprise.name).order_by(Enterprise.name)
    candidates = list(session.scalars(query.limit(CANDIDATES + 1)))
    if len(candidates) == 1:
        found = to_record("enterprises", candidates[0])
        assert isinstance(found, EnterpriseRecord)
        return found, []
    return None, candidates


def _firm_context(
    state: AppState, session: Session, user: User | None, text: str, filters: Filters
) -> dict[str, Any]:
    """Recommendations for a stored firm picked by staff; anonymous visitors learn nothing about firms."""
    if user is None:
        return {"firm_message": "按库中企业推荐仅供登录的招商人员使用；企业可在左侧描述自身情况获取推荐。"}
    firm, candidates = _stored_firm(session, text)
    if firm is not None:
        picks = _recommend(state, session, firm, filters)
        ids = [pick.match.id for pick in picks]
        found = leads.open_leads_of(session, LeadKind.scenario, [firm.id], ids)
        picks = [replace(pick, following=found.get((firm.id, pick.match.id))) for pick in picks]
        return {"firm": firm, "recommendations": picks, "mode": "stored"}
    if not candidates:
        message = f"未找到编号或名称为「{text}」的企业。"
    elif len(candidates) > CANDIDATES:
        message = (
            f"名称含「{text}」的企业超过 {CANDIDATES} 家，请输入更完整的名称或编号。前 {CANDIDATES} 家："
        )
    else:
        message = f"有 {len(candidates)} 家企业名称含「{text}」，请选择："
    return {"firm_message": message, "candidates": candidates[:CANDIDATES]}


# ---- pages -----------------------------------------------------------------------------------


async def _form(request: Request) -> FormData:
    """The posted form (read once, before the page runs in a worker thread)."""
    return await request.form()


def _page(
    request: Request,
    session: Session,
    state: AppState,
    user: User | None,
    values: Values,
    posted: bool,
    problem: Problem | None = None,
) -> Response:
    """The scenario page: filters, the profile form, and either recommendations or the listing."""
    filters, filter_errors = parse_filters(values)
    context: dict[str, Any] = {
        "mode": "list",
        "filters": filters,
        "filter_errors": filter_errors,
        "profile": Profile(),
        "profile_errors": {},
        "firm_text": _text(values, "firm")[:100],
        "sorts": SORTS,
        "factor_labels": FACTOR_LABELS,
        "labels": {**FILTER_LABELS, **EnterpriseRecord.LABELS},
        "problem": problem,
    }
    if user is not None:  # what 加入跟进 needs; anonymous visitors never see a lead
        context.update(followed=followed_lead(session, values), back=back_of(values))
    if posted:
        profile, firm, errors = parse_profile(values, UNNAMED if user is None else ADHOC_NAME)
        context.update(profile=profile, profile_errors=errors)
        if firm is not None:
            picks = _recommend(state, session, firm, filters)
            context.update(mode="adhoc", firm=firm, recommendations=picks)
            if user is not None:
                context["new_firm_id"] = new_firm_id()  # drawn once per page: every click there shares it
    elif context["firm_text"]:
        context.update(_firm_context(state, session, user, context["firm_text"], filters))
    if context["mode"] == "list":
        context.update(_listing(session, filters, _today(state), _text(values, "page")))
    failed = filter_errors or context["profile_errors"]
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if failed else status.HTTP_200_OK
    return render(request, "scenarios.html", context, problem.status if problem else code)


@router.get("/scenarios")
def scenarios(request: Request, session: SessionDep, state: StateDep, user: PageUser) -> Response:
    """Open scenarios with filters and paging; staff may ask for a stored firm's recommendations (?firm=)."""
    return _page(request, session, state, user, request.query_params, posted=False)


@router.post("/scenarios", dependencies=[CsrfChecked])
def recommend(
    request: Request,
    session: SessionDep,
    state: StateDep,
    user: PageUser,
    form: Annotated[FormData, Depends(_form)],
) -> Response:
    """Recommendations for the firm described in the form (never stored), within the filters."""
    return _page(request, session, state, user, form, posted=True)


def _is_public(scenario: ScenarioRecord, today: date) -> bool:
    """Whether anyone may see a scenario: it takes applications `today`."""
    return takes_applications(scenario.status, scenario.deadline, today)


@dataclass(frozen=True)
class FirmFit:
    """A firm that fits a scenario, with its open lead for the scenario, shown instead of 加入跟进."""

    match: Match
    following: Lead | None


@router.get("/scenarios/{scenario_id}")
def scenario_detail(
    scenario_id: str, request: Request, session: SessionDep, state: StateDep, user: PageUser
) -> Response:
    """One scenario; anyone may see an open one, staff see every status and the firms that fit it."""
    return _detail_page(request, session, state, user, scenario_id, request.query_params)


def _detail_page(
    request: Request,
    session: Session,
    state: AppState,
    user: User | None,
    scenario_id: str,
    params: QueryParams,
    problem: Problem | None = None,
) -> Response:
    """A scenario's page, with why a 加入跟进 on one of its firms wrote nothing when one did."""
    today = _today(state)
    row = session.get(Scenario, scenario_id) if len(scenario_id) <= 64 and scenario_id.isprintable() else None
    record = _scenario(row) if row is not None else None
    if record is None or (user is None and not _is_public(record, today)):
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    context: dict[str, Any] = {"scenario": scenario_view(record, today), "public": _is_public(record, today)}
    if user is not None:
        firms = matching.match(
            state=state, session=session, direction=DIRECTIONS["scenario_firms"], record=record, k=FIRMS_SHOWN
        ).result
        ids = [match.id for match in firms.results]
        found = leads.open_leads_of(session, LeadKind.scenario, ids, [record.id])
        fits = [FirmFit(match, found.get((match.id, record.id))) for match in firms.results]
        context |= {
            "firms": firms,
            "fits": fits,
            "followed": followed_lead(session, params),
            "problem": problem,
        }
    return render(request, "scenario_detail.html", context, problem.status if problem else status.HTTP_200_OK)


def _recommendations_again(
    request: Request, session: Session, state: AppState, user: User, params: QueryParams, problem: Problem
) -> Response:
    """The recommendations a 加入跟进 was clicked on: a stored firm's (`firm=`) or a typed-in profile's."""
    return _page(request, session, state, user, params, posted="firm" not in params, problem=problem)


def _typed_in(params: QueryParams) -> EnterpriseRecord | list[str]:
    """The typed-in profile of the recommendations a 加入跟进 was clicked on, or what is wrong with it."""
    _, firm, errors = parse_profile(params, ADHOC_NAME)
    if firm is not None:
        return firm
    return [f"{EnterpriseRecord.LABELS.get(name, name)}：{message}" for name, message in errors.items()]


@router.post("/scenarios/follow", dependencies=[CsrfChecked])
def follow(
    request: Request,
    user: StaffPage,
    state: StateDep,
    session: SessionDep,
    page: Annotated[FollowFrom, Form()],
    enterprise_id: Annotated[str, Form(min_length=1, max_length=64)],
    scenario_id: Annotated[str, Form(min_length=1, max_length=64)],
    back: Annotated[str, Form(max_length=MAX_BACK)] = "",
    new_id: Annotated[str, Form(max_length=64)] = "",
    rank: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    """加入跟进 on a firm's recommended scenarios or on a scenario's fitting firms: start a scenario lead."""
    if page == "scenario":
        results = ResultsPage(
            path=f"/scenarios/{quote(scenario_id, safe='')}",
            kind=LeadKind.scenario,
            note=FOLLOW_NOTES[page],
            show=partial(_detail_page, request, session, state, user, scenario_id),
        )
    else:
        results = ResultsPage(
            path="/scenarios",
            kind=LeadKind.scenario,
            note=FOLLOW_NOTES[page],
            show=partial(_recommendations_again, request, session, state, user),
            typed_in=_typed_in,
            kept=tuple(FILTER_LABELS),
        )
    return follow_result(
        results,
        user=user,
        state=state,
        session=session,
        enterprise_id=enterprise_id,
        offer_id=scenario_id,
        back=back,
        new_id=new_id,
        rank=rank,
    )
