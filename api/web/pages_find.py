"""Staff pages: 为企业找楼 (a stored or typed-in firm → buildings), 为楼宇找企业, and 加入跟进 on results.

加入跟进 is implemented once here (`follow_result`) for every results page, the scenario pages' included.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import ImmutableMultiDict, QueryParams

from api.deps import SessionDep, StateDep
from api.services import leads, matching
from api.services.catalogue import RecordNotFound
from api.services.write import Refused, ServiceError
from api.state import AppState
from api.web.district_map import MapMark, district_map
from api.web.session import CSRF_FIELD, CsrfChecked, StaffPage
from api.web.templating import render
from matcher.directions import DIRECTIONS
from matcher.recommender import Match
from matcher.registry import FACTORS
from matcher.weights import Weights
from models.clock import china_today
from models.enums import Amenity, District, Industry
from models.incentives import IncentiveStanding, incentive_standing
from models.lead import Lead, LeadKind
from models.records import BuildingRecord, EnterpriseRecord
from models.row_errors import describe
from models.user import User

router = APIRouter(include_in_schema=False)

K_CHOICES = (5, 10, 20)
DEFAULT_K = 10
SEARCH_LIMIT = 12
ADHOC_ID = "adhoc"
ADHOC_NAME = "意向企业"
NEW_FIRM_ID = re.compile(r"QY\d{8}[0-9A-F]{6}")
"""A typed-in firm's id once 加入跟进 stores it: QY, the date, six random hex digits (drawn with its page)."""
FollowFrom = Literal["buildings", "firms"]
FOLLOW_NOTES: dict[FollowFrom, str] = {
    "buildings": "从「为企业找楼」匹配结果加入跟进",
    "firms": "从「为楼宇找企业」匹配结果加入跟进",
}
"""The note of a lead's first entry, by the page it was started from."""
KEPT_WHEN_STORED = ("k", "district")
"""What a typed-in firm's search keeps when the firm, once stored, is shown by its id."""
MAX_BACK = 100_000
"""The longest search a 加入跟进 form carries back (a 10,000-character profile, percent-encoded)."""
PROFILE_FIELDS = (
    "name",
    "description",
    "headcount",
    "required_area_m2",
    "max_rent_yuan_m2_month",
    "needs_move_in_ready",
    "origin",
)
LIST_FIELDS = ("industries", "preferred_districts")
FACTOR_LABELS = {
    **{name: Weights.label(name) for name in Weights.model_fields if name in FACTORS},
    "spread": "满天星分散",
}
"""Each factor's label, in the order of the weights page; the spread penalty last."""


@dataclass(frozen=True)
class Cost:
    """Monthly rent of a building for a firm: rent × the area the firm would lease."""

    rent: float
    area: float
    basis: str
    """Which area: 需求面积, 最小分割面积 or 可用面积."""

    @property
    def monthly(self) -> float:
        """Yuan per month."""
        return self.rent * self.area


@dataclass(frozen=True)
class Incentive:
    """Whether a firm gets a building's new-entrant support: a tone (good/warn/bad) and the words."""

    tone: str
    text: str


INCENTIVE_WORDS = {
    IncentiveStanding.eligible: ("good", "{origin}企业"),
    IncentiveStanding.ineligible: ("bad", "市内迁移企业不享受新引进企业入驻政策"),
    IncentiveStanding.unknown: ("warn", "企业来源未填写，确认不属于市内迁移后可享受"),
}
"""Each standing's tone and the words after its label."""


@dataclass(frozen=True)
class Component:
    """One factor's contribution to a score."""

    name: str
    label: str
    value: float


@dataclass
class FirmQuery:
    """A parsed 为企业找楼 form: the firm (stored or typed in), filters, and what was wrong."""

    firm: EnterpriseRecord | None = None
    stored: bool = False
    only: list[str] = field(default_factory=list)
    k: int = DEFAULT_K
    errors: list[str] = field(default_factory=list)
    bad: set[str] = field(default_factory=set)
    """The form fields named by the errors, marked on the page."""
    form: dict[str, Any] = field(default_factory=dict)


def monthly_cost(building: BuildingRecord, firm: EnterpriseRecord | None) -> Cost:
    """Rent × the firm's area need (at least the smallest unit), or × the vacant area without a need."""
    need = firm.required_area_m2 if firm else None
    if need:
        if building.min_unit_m2 and building.min_unit_m2 > need:
            return Cost(building.rent_yuan_m2_month, building.min_unit_m2, "最小分割面积")
        return Cost(building.rent_yuan_m2_month, need, "需求面积")
    return Cost(building.rent_yuan_m2_month, building.vacant_area_m2, "可用面积")


def incentive(building: BuildingRecord, firm: EnterpriseRecord | None) -> Incentive | None:
    """The firm's standing for the building's incentives (SPEC: none for in-city relocations)."""
    if not building.incentives:
        return None
    if firm is None:
        return Incentive("warn", "是否适用取决于企业来源：市内迁移企业不享受")
    standing = incentive_standing(firm.origin)
    tone, words = INCENTIVE_WORDS[standing]
    origin = firm.origin.label if firm.origin else ""
    return Incentive(tone, f"{standing.label}：{words.format(origin=origin)}")


def components(values: dict[str, float]) -> list[Component]:
    """Each factor's contribution, in the order of the weights page; the spread penalty last."""
    # Rounded to the shown precision, and +0.0 turns a -0.0 (no spread penalty) into 0.0.
    return [
        Component(name, FACTOR_LABELS[name], round(values[name], 3) + 0.0)
        for name in FACTOR_LABELS
        if name in values
    ]


def amenity_labels(codes: Iterable[str]) -> list[str]:
    """Chinese names of a building's amenities (unknown ones as written)."""
    return [Amenity.label_of(code) for code in codes]


def _form_values(params: QueryParams) -> dict[str, Any]:
    """What the user typed, to fill the form again."""
    values: dict[str, Any] = {name: params.get(name, "") for name in PROFILE_FIELDS}
    values.update({name: params.getlist(name) for name in LIST_FIELDS})
    values["district"] = params.getlist("district")
    values["k"] = params.get("k", str(DEFAULT_K))
    values["q"] = params.get("q", "")
    return values


def field_errors(exc: ValidationError, labels: dict[str, str]) -> list[tuple[str, str]]:
    """Validation errors as (field, `标签：原因`), one per bad field."""
    messages = []
    for error in exc.errors(include_url=False):
        name, message = describe(error)
        messages.append((name or "", f"{labels.get(name or '', name or '表单')}：{message}"))
    return messages


def _adhoc_firm(params: QueryParams, query: FirmQuery) -> EnterpriseRecord | None:
    """The typed-in profile as a record (not stored), or None with the errors noted."""
    data: dict[str, Any] = {name: params.get(name) for name in PROFILE_FIELDS}
    data.update({name: params.getlist(name) for name in LIST_FIELDS})
    data["id"] = ADHOC_ID
    data["name"] = (data["name"] or "").strip() or ADHOC_NAME
    if not (data.get("description") or "").strip():
        query.errors.append("企业简介：必填，请描述企业的主营业务")
        query.bad.add("description")
        return None
    try:
        return EnterpriseRecord.model_validate(data)
    except ValidationError as exc:
        for name, message in field_errors(exc, EnterpriseRecord.LABELS):
            query.errors.append(message)
            query.bad.add(name)
        return None


def _count(params: QueryParams, query: FirmQuery) -> int:
    """The number of results asked for (5, 10 or 20)."""
    raw = params.get("k") or str(DEFAULT_K)
    if raw.isdigit() and int(raw) in K_CHOICES:
        return int(raw)
    query.errors.append(f"结果数量：应为 {'、'.join(map(str, K_CHOICES))} 之一，实际为「{raw[:20]}」")
    return DEFAULT_K


def _districts(values: Sequence[str], label: str, query: FirmQuery) -> list[str]:
    """Known district names; unknown ones are reported."""
    known = {district.value for district in District}
    bad = [value for value in values if value not in known]
    if bad:
        query.errors.append(f"{label}：未知的区「{'、'.join(bad)[:60]}」")
    return [value for value in values if value in known]


def parse_find(state: AppState, params: QueryParams) -> FirmQuery:
    """Read the 为企业找楼 form: a stored firm (`firm`) or a typed-in profile (`description` …)."""
    query = FirmQuery(form=_form_values(params))
    query.k = _count(params, query)
    query.only = _districts(params.getlist("district"), "只看这些区", query)
    firm_id = (params.get("firm") or "").strip()
    if firm_id:
        try:
            stored = matching.stored(state=state, kind="enterprises", record_id=firm_id)
        except RecordNotFound:
            query.errors.append(f"企业：编号「{firm_id[:64]}」不在企业库中")
        else:
            assert isinstance(stored, EnterpriseRecord)
            query.firm, query.stored = stored, True
    elif "description" in params:
        _districts(params.getlist("preferred_districts"), "意向区域", query)
        query.firm = _adhoc_firm(params, query)
    if query.errors:
        query.firm = None
    return query


def profile_params(firm: EnterpriseRecord) -> str:
    """A stored firm's profile as the query string of the typed-in form (to adjust and match again)."""
    pairs: list[tuple[str, str]] = [("name", firm.name), ("description", firm.description)]
    pairs += [("industries", code.value) for code in firm.industries]
    for name, value in (
        ("headcount", firm.headcount),
        ("required_area_m2", firm.required_area_m2),
        ("max_rent_yuan_m2_month", firm.max_rent_yuan_m2_month),
    ):
        if value is not None:
            pairs.append((name, f"{value:g}"))
    pairs += [("preferred_districts", district.value) for district in firm.preferred_districts]
    if firm.needs_move_in_ready:
        pairs.append(("needs_move_in_ready", "true"))
    if firm.origin:
        pairs.append(("origin", firm.origin.value))
    return urlencode(pairs)


def search(records: Iterable[Any], text: str, fields: Sequence[str]) -> list[Any]:
    """Records whose id equals the text or whose named fields contain it (case-insensitive), capped."""
    needle = text.strip().lower()
    if not needle:
        return []
    found = []
    for record in records:
        if record.id.lower() == needle or any(
            needle in str(getattr(record, name) or "").lower() for name in fields
        ):
            found.append(record)
            if len(found) == SEARCH_LIMIT:
                break
    return found


def industry_label(code: str) -> str:
    """Chinese name of an industry code."""
    return Industry.parse(code).label


def back_of(values: ImmutableMultiDict[str, Any]) -> str:
    """A search (query string or posted form) as a query string, without the notice and the CSRF token."""
    skipped = ("followed", CSRF_FIELD)
    return urlencode([(k, v) for k, v in values.multi_items() if isinstance(v, str) and k not in skipped])


def new_firm_id() -> str:
    """A fresh id for a typed-in firm, drawn once per results page so that every click there shares it."""
    return f"QY{china_today():%Y%m%d}{secrets.token_hex(3).upper()}"


def followed_lead(session: Session, params: ImmutableMultiDict[str, Any]) -> Lead | None:
    """The lead just started by 加入跟进 (`followed=N` after its redirect), for the notice."""
    raw = params.get("followed", "")
    return session.get(Lead, int(raw)) if raw.isdigit() and len(raw) <= 9 else None


@dataclass(frozen=True)
class Problem:
    """Why 加入跟进 wrote nothing: the HTTP status and the message shown above the results."""

    status: int
    message: str


@dataclass(frozen=True)
class BuildingResult:
    """One ranked building with what the page shows about it."""

    match: Match
    building: BuildingRecord
    cost: Cost
    incentive: Incentive | None
    components: list[Component]
    following: Lead | None
    """The result's open lead, shown instead of 加入跟进."""


@router.get("/find/buildings")
def find_buildings(request: Request, user: StaffPage, state: StateDep, session: SessionDep) -> Response:
    """为企业找楼: the form, and for a stored or typed-in firm the ranked buildings with a map."""
    return _buildings_page(request, state, session, request.query_params)


def _buildings_page(
    request: Request, state: AppState, session: Session, params: QueryParams, problem: Problem | None = None
) -> Response:
    """The 为企业找楼 page for these query parameters, with why a 加入跟进 failed when one did."""
    used = matching.catch_up(state=state, session=session)  # a firm saved by another worker is found
    query = parse_find(state, params)
    context: dict[str, Any] = {
        "query": query,
        "form": query.form,
        "k_choices": K_CHOICES,
        "firms_found": search(state.recommender.records["enterprises"].values(), query.form["q"], ("name",)),
        "followed": followed_lead(session, params),
        "problem": problem,
        "industry_label": industry_label,
        "amenity_labels": amenity_labels,
        "empty_map": district_map([]),
    }
    firm = query.firm
    if firm is not None:
        result = matching.rank(
            state=state,
            used=used,
            direction=DIRECTIONS["firm_buildings"],
            record=firm,
            k=query.k,
            districts=query.only,
        ).result
        ids = [match.id for match in result.results]
        following = leads.open_leads_of(session, LeadKind.building, [firm.id], ids) if query.stored else {}
        results = []
        for match in result.results:
            building = match.record
            assert isinstance(building, BuildingRecord)
            results.append(
                BuildingResult(
                    match,
                    building,
                    monthly_cost(building, firm),
                    incentive(building, firm),
                    components(match.components),
                    following.get((firm.id, match.id)),
                )
            )
        marks = [MapMark(m.rank, m.name, m.district or "") for m in result.results]
        context |= {
            "result": result,
            "results": results,
            "guesses": result.industries,
            "standing": incentive_standing(firm.origin),
            "map": district_map(
                marks, preferred=[d.value for d in firm.preferred_districts], only=query.only
            ),
            "back": back_of(params),
            "adjust": profile_params(firm) if query.stored else None,
            "new_firm_id": None if query.stored else new_firm_id(),
        }
    return render(request, "find_buildings.html", context, status_code=_status(problem, query.errors))


def _status(problem: Problem | None, errors: Sequence[str]) -> int:
    """A failed 加入跟进's status, else 422 for a form with errors, else 200."""
    if problem is not None:
        return problem.status
    return status.HTTP_422_UNPROCESSABLE_CONTENT if errors else status.HTTP_200_OK


@dataclass(frozen=True)
class FirmResult:
    """One ranked firm for a building, with its monthly rent there and its incentive standing."""

    match: Match
    firm: EnterpriseRecord
    cost: Cost
    standing: IncentiveStanding
    incentive: Incentive | None
    components: list[Component]
    following: Lead | None
    """The result's open lead, shown instead of 加入跟进."""


def _floor(building: BuildingRecord, raw: str, errors: list[str]) -> BuildingRecord:
    """The building with its vacant area replaced by a floor's (a vacant floor offered on its own)."""
    try:
        area = float(raw)
    except ValueError:
        errors.append(f"空置面积：应为数字，实际为「{raw[:20]}」")
        return building
    if not 0 < area <= building.vacant_area_m2:
        errors.append(
            f"空置面积：应大于 0 且不超过楼宇可用面积 {building.vacant_area_m2:,.0f}㎡，实际为 {area:g}"
        )
        return building
    min_unit = building.min_unit_m2 if building.min_unit_m2 and building.min_unit_m2 <= area else None
    return building.model_copy(update={"vacant_area_m2": area, "min_unit_m2": min_unit})


@router.get("/find/firms")
def find_firms(request: Request, user: StaffPage, state: StateDep, session: SessionDep) -> Response:
    """为楼宇找企业: pick a building (optionally a vacant floor's area) and see the firms that fit it."""
    return _firms_page(request, state, session, request.query_params)


def _firms_page(
    request: Request, state: AppState, session: Session, params: QueryParams, problem: Problem | None = None
) -> Response:
    """The 为楼宇找企业 page for these query parameters, with why a 加入跟进 failed when one did."""
    used = matching.catch_up(state=state, session=session)  # a building saved by another worker is found
    errors: list[str] = []
    form = {name: params.get(name, "") for name in ("q", "building", "area", "floor", "k")}
    context: dict[str, Any] = {
        "form": form,
        "errors": errors,
        "followed": followed_lead(session, params),
        "problem": problem,
        "k_choices": K_CHOICES,
        "buildings_found": search(
            state.recommender.records["buildings"].values(), form["q"], ("name", "address")
        ),
    }
    k = int(form["k"]) if form["k"].isdigit() and int(form["k"]) in K_CHOICES else DEFAULT_K
    building_id = form["building"].strip()
    if building_id:
        try:
            stored = matching.stored(state=state, kind="buildings", record_id=building_id)
        except RecordNotFound:
            errors.append(f"楼宇：编号「{building_id[:64]}」不在楼宇库中")
        else:
            assert isinstance(stored, BuildingRecord)
            context["building"] = stored
            offered = _floor(stored, form["area"].strip(), errors) if form["area"].strip() else stored
            if not errors:
                result = matching.rank(
                    state=state, used=used, direction=DIRECTIONS["building_firms"], record=offered, k=k
                ).result
                firm_ids = [match.id for match in result.results]
                following = leads.open_leads_of(session, LeadKind.building, firm_ids, [stored.id])
                firms = []
                for match in result.results:
                    firm = match.record
                    assert isinstance(firm, EnterpriseRecord)
                    firms.append(
                        FirmResult(
                            match,
                            firm,
                            monthly_cost(offered, firm),
                            incentive_standing(firm.origin),
                            incentive(offered, firm),
                            components(match.components),
                            following.get((firm.id, stored.id)),
                        )
                    )
                context |= {"offered": offered, "result": result, "firms": firms, "back": back_of(params)}
    return render(request, "find_firms.html", context, status_code=_status(problem, errors))


RESULTS: dict[FollowFrom, Callable[[Request, AppState, Session, QueryParams, Problem], Response]] = {
    "buildings": _buildings_page,
    "firms": _firms_page,
}
"""Each find page by the name its 加入跟进 form sends."""


TypedIn = Callable[[QueryParams], EnterpriseRecord | list[str]]
"""Reads a search's typed-in firm (not stored), or says what is wrong with it."""


@dataclass(frozen=True)
class ResultsPage:
    """The results page a 加入跟进 was clicked on: its address, its leads' kind, and how to show it again."""

    path: str
    kind: LeadKind
    note: str
    """The note of the lead's first entry."""
    show: Callable[[QueryParams, Problem], Response]
    """The page for a search's parameters, with why 加入跟进 wrote nothing."""
    typed_in: TypedIn | None = None
    """How to read the search's typed-in firm; None on pages of stored firms only."""
    kept: tuple[str, ...] = ()
    """What a typed-in firm's search keeps when the firm, once stored, is shown by its id (`firm=`)."""


def _typed_in_firm(state: AppState, params: QueryParams) -> EnterpriseRecord | list[str]:
    """The 为企业找楼 search's typed-in firm, or its errors."""
    query = parse_find(state, params)
    return query.errors if query.firm is None or query.stored else query.firm


def _firm_to_follow(
    typed_in: TypedIn, state: AppState, session: Session, params: QueryParams, new_id: str
) -> str | EnterpriseRecord:
    """The results page's typed-in firm under its drawn id; its id alone once an earlier click stored it."""
    if not NEW_FIRM_ID.fullmatch(new_id):
        raise Refused("意向企业的新编号缺失或格式不对，请重新匹配后再加入跟进")
    matching.catch_up(state=state, session=session)  # a click served by another worker stored it
    try:
        matching.stored(state=state, kind="enterprises", record_id=new_id)
    except RecordNotFound:
        found = typed_in(params)
        if isinstance(found, list):
            raise Refused("企业画像有误，未能加入跟进：" + "；".join(found)) from None
        return found.model_copy(update={"id": new_id})
    return new_id


def _as_stored(page: ResultsPage, params: QueryParams, firm_id: str) -> QueryParams:
    """A typed-in firm's search as the stored firm's: its id with the search's kept filters."""
    kept = [(key, value) for key, value in params.multi_items() if key in page.kept]
    return QueryParams([("firm", firm_id), *kept])


def _results_link(path: str, params: QueryParams, lead: Lead, rank: str) -> str:
    """Back to the results, with the notice of the lead just started and the result in view."""
    pairs = [(key, value) for key, value in params.multi_items() if key != "followed"]
    anchor = f"#result-{rank}" if rank.isdigit() else ""
    return f"{path}?{urlencode([*pairs, ('followed', str(lead.id))])}{anchor}"


def follow_result(
    page: ResultsPage,
    *,
    user: User,
    state: AppState,
    session: Session,
    enterprise_id: str,
    offer_id: str,
    back: str,
    new_id: str,
    rank: str,
) -> Response:
    """加入跟进: start a lead for a result (a typed-in firm is stored with it); refusals show on the page."""
    params = QueryParams(back)
    typed_in = page.typed_in if enterprise_id == ADHOC_ID else None
    firm: str | EnterpriseRecord = enterprise_id
    try:
        if typed_in is not None:
            firm = _firm_to_follow(typed_in, state, session, params, new_id)
            if isinstance(firm, str):  # stored by an earlier click on the same page: show it stored
                params = _as_stored(page, params, firm)
        lead = leads.start(
            session=session,
            actor=user,
            live=state,
            state=state,
            enterprise=firm,
            kind=page.kind,
            offer_id=offer_id,
            note=page.note,
        )
    except ServiceError as exc:
        session.rollback()  # a typed-in firm stored before the refusal is not kept either
        return page.show(params, Problem(exc.status, str(exc)))
    if typed_in is not None:
        params = _as_stored(page, params, lead.enterprise_id)
    return RedirectResponse(_results_link(page.path, params, lead, rank), status.HTTP_303_SEE_OTHER)


@router.post("/find/follow", dependencies=[CsrfChecked])
def follow(
    request: Request,
    user: StaffPage,
    state: StateDep,
    session: SessionDep,
    page: Annotated[FollowFrom, Form()],
    enterprise_id: Annotated[str, Form(min_length=1, max_length=64)],
    building_id: Annotated[str, Form(min_length=1, max_length=64)],
    back: Annotated[str, Form(max_length=MAX_BACK)] = "",
    new_id: Annotated[str, Form(max_length=64)] = "",
    rank: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    """加入跟进 on 为企业找楼 or 为楼宇找企业: start a building lead for a result."""
    results = ResultsPage(
        path=f"/find/{page}",
        kind=LeadKind.building,
        note=FOLLOW_NOTES[page],
        show=partial(RESULTS[page], request, state, session),
        typed_in=partial(_typed_in_firm, state) if page == "buildings" else None,
        kept=KEPT_WHEN_STORED,
    )
    return follow_result(
        results,
        user=user,
        state=state,
        session=session,
        enterprise_id=enterprise_id,
        offer_id=building_id,
        back=back,
        new_id=new_id,
        rank=rank,
    )
