"""The follow-up pipeline over HTTP (SPEC §8): list, start and read leads, and move them stage by stage."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import AfterValidator

from api.deps import SessionDep, StaffUser, StateDep
from api.lead_schemas import LeadIn, LeadOut, LeadPage, StageChangeIn, lead_out
from api.schemas import MAX_PAGE, error_responses, printable
from api.services import leads
from models.enums import District, Industry
from models.lead import LeadKind, Stage

router = APIRouter(prefix="/api/v1", tags=["leads"])
LeadId = Annotated[int, Path(ge=1, le=2**31 - 1, description="跟进记录编号")]
Id = Annotated[str | None, Query(min_length=1, max_length=64), AfterValidator(printable)]


@router.get("/leads", response_model=LeadPage, summary="跟进列表", responses=error_responses(401, 422))
def list_leads(
    session: SessionDep,
    user: StaffUser,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    stage: Stage | None = None,
    kind: LeadKind | None = None,
    district: District | None = None,
    industry: Industry | None = None,
    enterprise: Id = None,
    building: Id = None,
    scenario: Id = None,
    owner: Id = None,
) -> LeadPage:
    """Leads narrowed by stage, kind, district, industry, enterprise, building, scenario or owner."""
    filters = leads.LeadFilters(
        stage=stage,
        kind=kind,
        district=district.value if district else None,
        industry=industry.value if industry else None,
        enterprise=enterprise,
        building=building,
        scenario=scenario,
        owner=owner,
    )
    found, total = leads.find(session, filters, limit=limit, offset=offset, with_history=True)
    return LeadPage(items=[lead_out(lead) for lead in found], total=total, limit=limit, offset=offset)


@router.post(
    "/leads",
    response_model=LeadOut,
    status_code=status.HTTP_201_CREATED,
    summary="新建跟进",
    responses=error_responses(401, 404, 409, 422, 503),
)
def start_lead(body: LeadIn, session: SessionDep, user: StaffUser, state: StateDep) -> LeadOut:
    """Start a lead at 推介/推荐; the server records where the current weights rank the pair."""
    lead = leads.start(
        session=session,
        actor=user,
        live=state,
        state=state,
        enterprise=body.enterprise_id,
        kind=body.kind,
        offer_id=body.offer_id,
        note=body.note,
    )
    return lead_out(lead)


@router.get(
    "/leads/{lead_id}", response_model=LeadOut, summary="跟进详情", responses=error_responses(401, 404, 422)
)
def read_lead(lead_id: LeadId, session: SessionDep, user: StaffUser) -> LeadOut:
    """A lead with its whole stage history."""
    return lead_out(leads.get(session, lead_id))


@router.post(
    "/leads/{lead_id}/stage",
    response_model=LeadOut,
    summary="推进跟进阶段",
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
def advance_lead(
    lead_id: LeadId, body: StageChangeIn, session: SessionDep, user: StaffUser, state: StateDep
) -> LeadOut:
    """Move a lead on with the stage's facts; 409 when it changed meanwhile, 422 for an illegal move."""
    lead = leads.advance(session=session, actor=user, live=state, lead_id=lead_id, change=body)
    return lead_out(lead)
