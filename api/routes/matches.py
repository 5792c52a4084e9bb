"""Matching endpoints, one table: stored records in four directions, and ad-hoc firm profiles."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import OPTIONAL_LOGIN, TokenCallerState, TokenStaffState
from api.schemas import EnterpriseCreate, MatchAnswer, RecordIdPath, error_responses, match_answer_json
from api.services import matching
from api.state import AppState
from matcher.directions import DIRECTIONS, Direction
from models.enums import District

router = APIRouter(prefix="/api/v1", tags=["matching"])
K = Annotated[int, Query(ge=1, le=matching.MAX_K, description=f"返回条数（最多 {matching.MAX_K}）")]
Districts = Annotated[list[District] | None, Query(description="只看这些区（硬性筛选）")]


@dataclass(frozen=True)
class Endpoint:
    """One matching operation: where it is, what it ranks, where its query comes from and who may ask."""

    path: str
    direction: Direction
    description: str
    ad_hoc: bool = False
    """Whether the query is the request body, a firm profile not stored (else the record in the path)."""
    public: bool = False
    """Whether anyone may ask (for their own profile); otherwise staff only."""
    summary: str | None = None
    """The operation's summary, when not the direction's title."""

    @property
    def name(self) -> str:
        """The operation's name, which its OpenAPI operationId starts with."""
        return f"adhoc_{self.direction.result}" if self.ad_hoc else self.direction.name


ENDPOINTS = (
    Endpoint(
        "/enterprises/{record_id}/matches/buildings",
        DIRECTIONS["firm_buildings"],
        "The best buildings for a stored firm.",
    ),
    Endpoint(
        "/enterprises/{record_id}/matches/scenarios",
        DIRECTIONS["firm_scenarios"],
        "The best open scenarios for a stored firm.",
    ),
    Endpoint(
        "/buildings/{record_id}/matches/enterprises",
        DIRECTIONS["building_firms"],
        "The firms in the lead pool that fit a stored building.",
    ),
    Endpoint(
        "/scenarios/{record_id}/matches/enterprises",
        DIRECTIONS["scenario_firms"],
        "The firms that could take on a stored scenario.",
    ),
    Endpoint(
        "/match/buildings",
        DIRECTIONS["firm_buildings"],
        "Buildings for a prospective firm that is not stored; its text is encoded off the event loop.",
        ad_hoc=True,
        summary="为临时企业画像找楼（不保存）",
    ),
    Endpoint(
        "/match/scenarios",
        DIRECTIONS["firm_scenarios"],
        "Open scenarios for a profile that is not stored; anyone may ask for their own profile.",
        ad_hoc=True,
        public=True,
        summary="为企业画像推荐场景（匿名可用，不保存）",
    ),
)


def _signature(endpoint: Endpoint) -> inspect.Signature:
    """The parameters FastAPI reads: the query (path id or body), the state behind the token check, k and
    the district filter.

    No request session: the token is checked against the token cache, and the answer opens a session of
    its own.
    """

    def parameter(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
        """A keyword parameter: FastAPI reads its annotation and default."""
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)

    query = parameter("body", EnterpriseCreate) if endpoint.ad_hoc else parameter("record_id", RecordIdPath)
    found = [
        query,
        parameter("state", TokenCallerState if endpoint.public else TokenStaffState),
        parameter("k", K, 10),
    ]
    if endpoint.direction.result != "enterprises":  # results with a district can be filtered by it
        found.append(parameter("district", Districts, None))
    return inspect.Signature(found)


def _handler(endpoint: Endpoint) -> Callable[..., Any]:
    """The function answering one endpoint (`matching.answer` decides whether on the event loop)."""

    async def answer(
        *,
        state: AppState,
        k: int,
        record_id: str | None = None,
        body: EnterpriseCreate | None = None,
        district: list[District] | None = None,
    ) -> Response:
        """The match answer as JSON bytes, which FastAPI sends as they are; 404 when the stored record is
        unknown."""
        record = body if body is not None else record_id
        assert record is not None
        districts = [value.value for value in district or []]
        found = await matching.answer(
            state=state, direction=endpoint.direction, record=record, k=k, districts=districts
        )
        return Response(match_answer_json(found.json()), media_type="application/json")

    vars(answer)["__signature__"] = _signature(endpoint)
    return answer


def register(target: APIRouter, endpoints: tuple[Endpoint, ...]) -> None:
    """Add each endpoint to a router, as a GET of a stored record or a POST of an ad-hoc profile."""
    for endpoint in endpoints:
        target.add_api_route(
            endpoint.path,
            _handler(endpoint),
            methods=["POST" if endpoint.ad_hoc else "GET"],
            name=endpoint.name,
            summary=endpoint.summary or endpoint.direction.title,
            description=endpoint.description,
            response_model=MatchAnswer,
            responses=error_responses(401, 422) if endpoint.ad_hoc else error_responses(401, 404, 422),
            openapi_extra=OPTIONAL_LOGIN if endpoint.public else None,
        )


register(router, ENDPOINTS)
