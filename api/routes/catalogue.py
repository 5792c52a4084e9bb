"""CRUD for buildings, enterprises and scenarios, with filters and capped pagination."""

# The schemas of the three kinds are built at import time (api.schemas), which mypy cannot follow.
# mypy: disable-error-code="valid-type, name-defined, attr-defined"

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from api.deps import OPTIONAL_LOGIN, AdminUser, MaybeUser, SessionDep, StaffUser, StateDep
from api.schemas import CREATE, MAX_PAGE, READ, UPDATE, Page, RecordIdPath, error_responses, printable
from api.services import catalogue, listings
from models.catalogue import TABLES
from models.enums import District, FitOut, Industry, Origin, ScenarioDomain, ScenarioStatus
from models.records import RecordKind
from models.scenario import takes_applications

router = APIRouter(prefix="/api/v1", tags=["catalogue"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"每页条数（最多 {MAX_PAGE}）")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Text = Annotated[
    str | None, Query(max_length=100, description="在名称和介绍中搜索"), AfterValidator(printable)
]
Number = Annotated[float | None, Query(ge=0, le=1e9)]


@router.get(
    "/buildings",
    response_model=Page[READ["buildings"]],
    summary="楼宇列表",
    responses=error_responses(401, 422),
)
def list_buildings(
    session: SessionDep,
    user: StaffUser,
    limit: Limit = 20,
    offset: Offset = 0,
    district: District | None = None,
    industry: Industry | None = None,
    fit_out: FitOut | None = None,
    rent_min: Number = None,
    rent_max: Number = None,
    area_min: Number = None,
    area_max: Number = None,
    q: Text = None,
) -> dict[str, Any]:
    """Buildings, filtered by district, focus industry, fit-out, rent and vacant-area ranges and text."""
    return listings.buildings(
        session,
        limit=limit,
        offset=offset,
        district=district,
        industry=industry,
        fit_out=fit_out,
        rent_min=rent_min,
        rent_max=rent_max,
        area_min=area_min,
        area_max=area_max,
        q=q,
    )


@router.get(
    "/enterprises",
    response_model=Page[READ["enterprises"]],
    summary="企业线索列表",
    responses=error_responses(401, 422),
)
def list_enterprises(
    session: SessionDep,
    user: StaffUser,
    limit: Limit = 20,
    offset: Offset = 0,
    district: District | None = None,
    industry: Industry | None = None,
    origin: Origin | None = None,
    area_min: Number = None,
    area_max: Number = None,
    q: Text = None,
) -> dict[str, Any]:
    """Firms (leads, never public), by preferred district, declared industry, origin, area need, text."""
    return listings.enterprises(
        session,
        limit=limit,
        offset=offset,
        district=district,
        industry=industry,
        origin=origin,
        area_min=area_min,
        area_max=area_max,
        q=q,
    )


@router.get(
    "/scenarios",
    response_model=Page[READ["scenarios"]],
    summary="应用场景列表（匿名可看征集中的场景）",
    responses=error_responses(401, 422),
    openapi_extra=OPTIONAL_LOGIN,
)
def list_scenarios(
    session: SessionDep,
    state: StateDep,
    user: MaybeUser,
    limit: Limit = 20,
    offset: Offset = 0,
    status: Annotated[ScenarioStatus | None, Query()] = None,
    domain: ScenarioDomain | None = None,
    district: District | None = None,
    industry: Industry | None = None,
    budget_min: Number = None,
    budget_max: Number = None,
    q: Text = None,
) -> dict[str, Any]:
    """Scenarios; anonymous visitors see only those taking applications today (as the web pages do)."""
    return listings.scenarios(
        session,
        limit=limit,
        offset=offset,
        open_on=state.recommender.day() if user is None else None,
        status=status,
        domain=domain,
        district=district,
        industry=industry,
        budget_min=budget_min,
        budget_max=budget_max,
        q=q,
    )


def _stored(session: SessionDep, kind: RecordKind, record_id: str, public_on: date | None) -> Any:
    """A stored row, 404 when absent (or, `public_on` a day, a scenario not taking applications then)."""
    row = session.get(TABLES[kind], record_id)
    if row is None or (public_on is not None and not takes_applications(row.status, row.deadline, public_on)):
        raise catalogue.RecordNotFound(kind, record_id)
    return row


def _crud(kind: RecordKind, noun: str, Writer: Any, Reader: Any) -> None:  # noqa: N803
    """Register get / create / update / delete for one kind."""
    create_schema, update_schema, read_schema = CREATE[kind], UPDATE[kind], READ[kind]
    public = Reader is MaybeUser
    denied = (401, 403) if Writer is AdminUser else (401,)

    @router.get(
        f"/{kind}/{{record_id}}",
        response_model=read_schema,
        summary=f"{noun}详情",
        name=f"get_{kind}",
        responses=error_responses(401, 404, 422),
        openapi_extra=OPTIONAL_LOGIN if public else None,
    )
    def get_one(
        record_id: RecordIdPath, session: SessionDep, state: StateDep, user: Reader
    ) -> dict[str, Any]:
        """One record by id; 404 when unknown."""
        public_on = state.recommender.day() if user is None else None
        return listings.read(kind, _stored(session, kind, record_id, public_on))

    @router.post(
        f"/{kind}",
        response_model=read_schema,
        status_code=201,
        summary=f"新建{noun}",
        name=f"create_{kind}",
        responses=error_responses(*denied, 409, 422, 503),
    )
    def create(body: create_schema, session: SessionDep, state: StateDep, user: Writer) -> dict[str, Any]:
        """Create a record; 409 when the id is taken."""
        return catalogue.create(session=session, actor=user, live=state, kind=kind, record=body)

    @router.patch(
        f"/{kind}/{{record_id}}",
        response_model=read_schema,
        summary=f"修改{noun}",
        name=f"update_{kind}",
        responses=error_responses(*denied, 404, 422, 503),
    )
    def update(
        record_id: RecordIdPath, body: update_schema, session: SessionDep, state: StateDep, user: Writer
    ) -> dict[str, Any]:
        """Change some fields of a record; the whole record is validated again."""
        changes = body.model_dump(mode="json", exclude_unset=True)
        return catalogue.patch(
            session=session, actor=user, live=state, kind=kind, record_id=record_id, changes=changes
        )

    @router.delete(
        f"/{kind}/{{record_id}}",
        status_code=204,
        summary=f"删除{noun}",
        name=f"delete_{kind}",
        responses=error_responses(*denied, 404, 422, 503),
    )
    def delete(record_id: RecordIdPath, session: SessionDep, state: StateDep, user: Writer) -> None:
        """Delete a record (audited); 404 when unknown."""
        catalogue.delete(session=session, actor=user, live=state, kind=kind, record_id=record_id)


_crud("buildings", "楼宇", StaffUser, StaffUser)
_crud("enterprises", "企业", StaffUser, StaffUser)
_crud("scenarios", "应用场景", AdminUser, MaybeUser)
