"""CRUD for buildings, enterprises and scenarios, with filters and capped pagination."""

# The schemas of the three kinds are built at import time (api.schemas), which mypy cannot follow.
# mypy: disable-error-code="valid-type, name-defined, attr-defined"

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ValidationError
from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session

from api.deps import OPTIONAL_LOGIN, AdminUser, MaybeUser, SessionDep, StaffUser, StateDep
from api.schemas import CREATE, MAX_PAGE, READ, UPDATE, Page, RecordIdPath, error_responses, printable
from api.state import AppState, note_own_write
from models.audit import record as audit
from models.building import Building
from models.catalogue import TABLES, delete_record, get_record, to_record, upsert_records
from models.enterprise import Enterprise
from models.enums import District, FitOut, Industry, Origin, ScenarioDomain, ScenarioStatus
from models.records import CatalogueRecord, RecordKind
from models.scenario import Scenario
from models.user import User

router = APIRouter(prefix="/api/v1", tags=["catalogue"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"每页条数（最多 {MAX_PAGE}）")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Text = Annotated[
    str | None, Query(max_length=100, description="在名称和介绍中搜索"), AfterValidator(printable)
]
Number = Annotated[float | None, Query(ge=0, le=1e9)]


def _contains(column: Any, value: str) -> Any:
    """A JSON list column that contains `value` (portable across SQLite and PostgreSQL)."""
    return cast(column, String).like(f'%"{value}"%')


def _page(session: Session, kind: RecordKind, query: Select[Any], limit: int, offset: int) -> dict[str, Any]:
    """Run a filtered listing: one page of read records and the total."""
    table = TABLES[kind]
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(table.id).limit(limit).offset(offset)).all()
    items = [_read(kind, row) for row in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _read(kind: RecordKind, row: Any) -> dict[str, Any]:
    """A stored row as its read schema."""
    return {**to_record(kind, row).model_dump(), "created_at": row.created_at, "updated_at": row.updated_at}


def _search(query: Select[Any], q: str | None, *columns: Any) -> Select[Any]:
    """Free-text search in the given columns."""
    if not q:
        return query
    pattern = f"%{q.replace('%', '').replace('_', '')}%"
    return query.where(or_(*(column.like(pattern) for column in columns)))


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
    query = select(Building)
    if district:
        query = query.where(Building.district == district)
    if industry:
        query = query.where(_contains(Building.focus_industries, industry.value))
    if fit_out:
        query = query.where(Building.fit_out == fit_out)
    for bound, condition in (
        (rent_min, Building.rent_yuan_m2_month >= (rent_min or 0)),
        (rent_max, Building.rent_yuan_m2_month <= (rent_max or 0)),
        (area_min, Building.vacant_area_m2 >= (area_min or 0)),
        (area_max, Building.vacant_area_m2 <= (area_max or 0)),
    ):
        if bound is not None:
            query = query.where(condition)
    query = _search(query, q, Building.name, Building.description, Building.address)
    return _page(session, "buildings", query, limit, offset)


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
    query = select(Enterprise)
    if district:
        query = query.where(_contains(Enterprise.preferred_districts, district.value))
    if industry:
        query = query.where(_contains(Enterprise.industries, industry.value))
    if origin:
        query = query.where(Enterprise.origin == origin)
    if area_min is not None:
        query = query.where(Enterprise.required_area_m2 >= area_min)
    if area_max is not None:
        query = query.where(Enterprise.required_area_m2 <= area_max)
    query = _search(query, q, Enterprise.name, Enterprise.description)
    return _page(session, "enterprises", query, limit, offset)


@router.get(
    "/scenarios",
    response_model=Page[READ["scenarios"]],
    summary="应用场景列表（匿名可看征集中的场景）",
    responses=error_responses(401, 422),
    openapi_extra=OPTIONAL_LOGIN,
)
def list_scenarios(
    session: SessionDep,
    user: MaybeUser,
    limit: Limit = 20,
    offset: Offset = 0,
    status_: Annotated[ScenarioStatus | None, Query(alias="status")] = None,
    domain: ScenarioDomain | None = None,
    district: District | None = None,
    industry: Industry | None = None,
    budget_min: Number = None,
    budget_max: Number = None,
    q: Text = None,
) -> dict[str, Any]:
    """Scenarios; anonymous visitors see only open ones."""
    query = select(Scenario)
    if user is None:
        query = query.where(Scenario.status == ScenarioStatus.open)
    if status_:
        query = query.where(Scenario.status == status_)
    if domain:
        query = query.where(Scenario.domain == domain)
    if district:
        query = query.where(Scenario.district == district)
    if industry:
        query = query.where(_contains(Scenario.industries, industry.value))
    if budget_min is not None:
        query = query.where(Scenario.budget_wan_yuan >= budget_min)
    if budget_max is not None:
        query = query.where(Scenario.budget_wan_yuan <= budget_max)
    query = _search(query, q, Scenario.title, Scenario.description, Scenario.owner)
    return _page(session, "scenarios", query, limit, offset)


def _not_found(kind: RecordKind, record_id: str) -> HTTPException:
    """404 naming what was not found."""
    noun = {"buildings": "楼宇", "enterprises": "企业", "scenarios": "应用场景"}[kind]
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{noun}「{record_id}」不存在")


def _stored(session: Session, kind: RecordKind, record_id: str, user: User | None) -> Any:
    """A stored row, 404 when absent (or not visible to an anonymous visitor)."""
    row = session.get(TABLES[kind], record_id)
    if row is None or (user is None and getattr(row, "status", None) != ScenarioStatus.open):
        raise _not_found(kind, record_id)
    return row


def _save(
    state: AppState,
    session: Session,
    kind: RecordKind,
    new: CatalogueRecord,
    user: User,
    before: CatalogueRecord | None,
) -> dict[str, Any]:
    """Write one record, audit it, commit, and make the next match see it."""
    report = upsert_records(session, kind, [new])
    audit(
        session,
        actor=user.name,
        action="update" if before else "create",
        target_kind=kind,
        target_id=new.id,
        before=before.model_dump(mode="json") if before else None,
        after=new.model_dump(mode="json"),
    )
    session.commit()
    with state.lock:
        state.recommender.upsert(kind, [new])
        note_own_write(state, kind, report.stamp)
    return _read(kind, session.get(TABLES[kind], new.id))


def _merge(kind: RecordKind, before: CatalogueRecord, changes: BaseModel) -> CatalogueRecord:
    """Apply a partial update, validating the whole record again (cross-field rules included)."""
    values = {**before.model_dump(mode="json"), **changes.model_dump(mode="json", exclude_unset=True)}
    try:
        return CREATE[kind].model_validate(values)
    except ValidationError as exc:
        # Answered like any bad body: every field and its reason.
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


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
    def get_one(record_id: RecordIdPath, session: SessionDep, user: Reader) -> dict[str, Any]:
        """One record by id; 404 when unknown."""
        return _read(kind, _stored(session, kind, record_id, user))

    @router.post(
        f"/{kind}",
        response_model=read_schema,
        status_code=201,
        summary=f"新建{noun}",
        name=f"create_{kind}",
        responses=error_responses(*denied, 409, 422),
    )
    def create(body: create_schema, session: SessionDep, state: StateDep, user: Writer) -> dict[str, Any]:
        """Create a record; 409 when the id is taken."""
        if get_record(session, kind, body.id) is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"编号「{body.id}」已存在，请用 PATCH 修改")
        return _save(state, session, kind, body, user, None)

    @router.patch(
        f"/{kind}/{{record_id}}",
        response_model=read_schema,
        summary=f"修改{noun}",
        name=f"update_{kind}",
        responses=error_responses(*denied, 404, 422),
    )
    def update(
        record_id: RecordIdPath, body: update_schema, session: SessionDep, state: StateDep, user: Writer
    ) -> dict[str, Any]:
        """Change some fields of a record; the whole record is validated again."""
        before = get_record(session, kind, record_id)
        if before is None:
            raise _not_found(kind, record_id)
        return _save(state, session, kind, _merge(kind, before, body), user, before)

    @router.delete(
        f"/{kind}/{{record_id}}",
        status_code=204,
        summary=f"删除{noun}",
        name=f"delete_{kind}",
        responses=error_responses(*denied, 404, 422),
    )
    def delete(record_id: RecordIdPath, session: SessionDep, state: StateDep, user: Writer) -> None:
        """Delete a record (audited); 404 when unknown."""
        before = get_record(session, kind, record_id)
        if before is None:
            raise _not_found(kind, record_id)
        stamp = delete_record(session, kind, record_id)
        audit(
            session,
            actor=user.name,
            action="delete",
            target_kind=kind,
            target_id=record_id,
            before=before.model_dump(mode="json"),
        )
        session.commit()
        with state.lock:
            state.recommender.remove(kind, [record_id])
            note_own_write(state, kind, stamp)


_crud("buildings", "楼宇", StaffUser, StaffUser)
_crud("enterprises", "企业", StaffUser, StaffUser)
_crud("scenarios", "应用场景", AdminUser, MaybeUser)
