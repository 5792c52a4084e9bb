"""The plan's indicators over HTTP (SPEC §8): the figures for staff, and the targets an admin edits."""

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import AfterValidator

from api.deps import AdminUser, SessionDep, StaffUser, StateDep
from api.schemas import AsSent, error_responses
from api.services import indicators
from models.enums import District

router = APIRouter(prefix="/api/v1", tags=["indicators"])
Scope = Annotated[
    str,
    Path(min_length=1, max_length=20, description="全市，或区名（如 渝北区）"),
    AfterValidator(indicators.known_scope),
]


class TargetsIn(AsSent, indicators.TargetValues):
    """`PUT /indicators/targets/{scope}` as sent: each JSON value already of a type its field allows."""


@router.get(
    "/indicators",
    response_model=indicators.Indicators,
    summary="计划指标",
    responses=error_responses(401, 422),
)
def read_indicators(
    session: SessionDep, user: StaffUser, district: District | None = None
) -> indicators.Indicators:
    """The plan's figures against their targets and broken down; the funnel, conversion and trend."""
    return indicators.report(session, district)


@router.put(
    "/indicators/targets/{scope}",
    response_model=indicators.TargetsOut,
    summary="修改指标目标",
    responses=error_responses(401, 403, 422, 503),
)
def put_targets(
    scope: Scope, body: TargetsIn, session: SessionDep, user: AdminUser, state: StateDep
) -> indicators.TargetsOut:
    """Replace the targets of 全市 or a district; a figure left out or null has no target (admin, audited)."""
    return indicators.set_targets(
        session=session, actor=user, live=state, scope=scope, values=body.model_dump()
    )
