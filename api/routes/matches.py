"""Matching endpoints: stored records in four directions, and ad-hoc firm profiles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool

from api.deps import OPTIONAL_LOGIN, MaybeUser, StaffUser, StateDep, WeightsDep
from api.schemas import EnterpriseCreate, MatchAnswer, RecordIdPath, error_responses
from api.state import AppState, WeightsInUse
from matcher.recommender import MatchResult
from models.enums import District
from models.records import RecordKind

router = APIRouter(prefix="/api/v1", tags=["matching"])
MAX_K = 50
K = Annotated[int, Query(ge=1, le=MAX_K, description=f"返回条数（最多 {MAX_K}）")]
Districts = Annotated[list[District] | None, Query(description="只看这些区（硬性筛选）")]


def match_answer(result: MatchResult, weights_version: int) -> dict[str, Any]:
    """The SPEC answer shape, naming the weights version used."""
    return {
        "results": [vars(match) for match in result.results],
        "requested": result.requested,
        "eligible": result.eligible,
        "excluded": result.excluded,
        "note": result.note,
        "weights_version": weights_version,
    }


def _answer(used: WeightsInUse, result: MatchResult) -> dict[str, Any]:
    """The answer naming the weights version it was scored with."""
    return match_answer(result, used.version)


def _stored(state: AppState, kind: RecordKind, record_id: str) -> Any:
    """A record the recommender holds; 404 when unknown."""
    try:
        return state.recommender.stored(kind, record_id)
    except KeyError:
        noun = {"buildings": "楼宇", "enterprises": "企业", "scenarios": "应用场景"}[kind]
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{noun}「{record_id}」不存在") from None


def _districts(values: list[District] | None) -> list[str]:
    """District filter values as strings."""
    return [district.value for district in values or []]


@router.get(
    "/enterprises/{record_id}/matches/buildings",
    response_model=MatchAnswer,
    summary="为企业找楼",
    responses=error_responses(401, 404, 422),
)
def firm_buildings(
    record_id: RecordIdPath,
    state: StateDep,
    used: WeightsDep,
    user: StaffUser,
    k: K = 10,
    district: Districts = None,
) -> Any:
    """The best buildings for a stored firm."""
    firm = _stored(state, "enterprises", record_id)
    return _answer(
        used, state.recommender.match_buildings(firm, k, weights=used.weights, districts=_districts(district))
    )


@router.get(
    "/enterprises/{record_id}/matches/scenarios",
    response_model=MatchAnswer,
    summary="为企业推荐场景",
    responses=error_responses(401, 404, 422),
)
def firm_scenarios(
    record_id: RecordIdPath,
    state: StateDep,
    used: WeightsDep,
    user: StaffUser,
    k: K = 10,
    district: Districts = None,
) -> Any:
    """The best open scenarios for a stored firm."""
    firm = _stored(state, "enterprises", record_id)
    return _answer(
        used, state.recommender.match_scenarios(firm, k, weights=used.weights, districts=_districts(district))
    )


@router.get(
    "/buildings/{record_id}/matches/enterprises",
    response_model=MatchAnswer,
    summary="为楼宇找企业",
    responses=error_responses(401, 404, 422),
)
def building_firms(
    record_id: RecordIdPath, state: StateDep, used: WeightsDep, user: StaffUser, k: K = 10
) -> Any:
    """The firms in the lead pool that fit a stored building."""
    building = _stored(state, "buildings", record_id)
    return _answer(used, state.recommender.match_enterprises_for_building(building, k, weights=used.weights))


@router.get(
    "/scenarios/{record_id}/matches/enterprises",
    response_model=MatchAnswer,
    summary="为场景找企业",
    responses=error_responses(401, 404, 422),
)
def scenario_firms(
    record_id: RecordIdPath, state: StateDep, used: WeightsDep, user: StaffUser, k: K = 10
) -> Any:
    """The firms that could take on a stored scenario."""
    scenario = _stored(state, "scenarios", record_id)
    return _answer(used, state.recommender.match_enterprises_for_scenario(scenario, k, weights=used.weights))


@router.post(
    "/match/buildings",
    response_model=MatchAnswer,
    summary="为临时企业画像找楼（不保存）",
    responses=error_responses(401, 422),
)
async def adhoc_buildings(
    body: EnterpriseCreate,
    state: StateDep,
    used: WeightsDep,
    user: StaffUser,
    k: K = 10,
    district: Districts = None,
) -> Any:
    """Buildings for a prospective firm that is not stored; its text is encoded off the event loop."""
    result = await run_in_threadpool(
        state.recommender.match_buildings, body, k, weights=used.weights, districts=_districts(district)
    )
    return _answer(used, result)


@router.post(
    "/match/scenarios",
    response_model=MatchAnswer,
    summary="为企业画像推荐场景（匿名可用，不保存）",
    responses=error_responses(401, 422),
    openapi_extra=OPTIONAL_LOGIN,
)
async def adhoc_scenarios(
    body: EnterpriseCreate,
    state: StateDep,
    used: WeightsDep,
    user: MaybeUser,
    k: K = 10,
    district: Districts = None,
) -> Any:
    """Open scenarios for a profile that is not stored; anyone may ask for their own profile."""
    result = await run_in_threadpool(
        state.recommender.match_scenarios, body, k, weights=used.weights, districts=_districts(district)
    )
    return _answer(used, result)
