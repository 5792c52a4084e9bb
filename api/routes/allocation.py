"""分配建议 over HTTP (staff): the pool's capacity-aware assignment to buildings, and scenario invitations."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep, StaffUser, StateDep
from api.schemas import error_responses
from api.services import allocation
from models.enums import District

router = APIRouter(prefix="/api/v1", tags=["allocation"])
Share = Annotated[
    float | None,
    Query(gt=0, le=1, description="单区分配占比上限（0–1，如 0.3；仅管理员可设，其他人设置为 403）"),
]


@router.get(
    "/allocation",
    response_model=allocation.AllocationOut,
    summary="分配建议",
    responses=error_responses(401, 403, 422),
)
def read_allocation(
    session: SessionDep,
    user: StaffUser,
    state: StateDep,
    district: Annotated[District | None, Query(description="只分配该区的楼宇（及该区的场景）")] = None,
    max_district_share: Share = None,
) -> allocation.AllocationOut:
    """The pool's firms assigned to buildings within their available area, the greedy answer, invitations."""
    return allocation.report(
        state=state, session=session, actor=user, district=district, share=max_district_share
    )
