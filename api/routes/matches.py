"""Matching endpoints: stored records in four directions, and ad-hoc firm profiles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool

from api.deps import MaybeUser, StaffUser, StateDep
from api.schemas import MatchAnswer
from api.state import AppState
from matcher.recommender import MatchResult
from models.enums import District
from models.records import EnterpriseRecord, RecordKind

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


def _answer(state: AppState, result: MatchResult) -> dict[str, Any]:
    """The answer with the state's current weights version."""
    return match_answer(result, state.weights_version)


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


@router.get("/enterprises/{record_id}/matches/buildings", response_model=MatchAnswer, summary="为企业找楼")
def firm_buildings(
    record_id: str, state: StateDep, user: StaffUser, k: K = 10, district: Districts = None
) -> Any:
    """The best buildings for a stored firm."""
    firm = _stored(state, "enterprises", record_id)
    return _answer(state, state.recommender.match_buildings(firm, k, districts=_districts(district)))


@router.get(
    "/enterprises/{record_id}/matches/scenarios", response_model=MatchAnswer, summary="为企业推荐场景"
)
def firm_scenarios(
    record_id: str, state: StateDep, user: StaffUser, k: K = 10, district: Districts = None
) -> Any:
    """The best open scenarios for a stored firm."""
    firm = _stored(state, "enterprises", record_id)
    return _answer(state, state.recommender.match_scenarios(firm, k, districts=_districts(district)))


@router.get("/buildings/{record_id}/matches/enterprises", response_model=MatchAnswer, summary="为楼宇找企业")
def building_firms(record_id: str, state: StateDep, user: StaffUser, k: K = 10) -> Any:
    """The firms in the lead pool that fit a stored building."""
    return _answer(
        state, state.recommender.match_enterprises_for_building(_stored(state, "buildings", record_id), k)
    )


@router.get("/scenarios/{record_id}/matches/enterprises", response_model=MatchAnswer, summary="为场景找企业")
def scenario_firms(record_id: str, state: StateDep, user: StaffUser, k: K = 10) -> Any:
    """The firms that could take on a stored scenario."""
    return _answer(
        state, state.recommender.match_enterprises_for_scenario(_stored(state, "scenarios", record_id), k)
    )


@router.post("/match/buildings", response_model=MatchAnswer, summary="为临时企业画像找楼（不保存）")
async def adhoc_buildings(
    body: EnterpriseRecord, state: StateDep, user: StaffUser, k: K = 10, district: Districts = None
) -> Any:
    """Buildings for a prospective firm that is not stored; its text is encoded off the event loop."""
    result = await run_in_threadpool(
        state.recommender.match_buildings, body, k, districts=_districts(district)
    )
    return _answer(state, result)


@router.post("/match/scenarios", response_model=MatchAnswer, summary="为企业画像推荐场景（匿名可用，不保存）")
async def adhoc_scenarios(
    body: EnterpriseRecord, state: StateDep, user: MaybeUser, k: K = 10, district: Districts = None
) -> Any:
    """Open scenarios for a profile that is not stored; anyone may ask for their own profile."""
    result = await run_in_threadpool(
        state.recommender.match_scenarios, body, k, districts=_districts(district)
    )
    return _answer(state, result)
