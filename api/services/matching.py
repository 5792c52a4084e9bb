"""Matching for routes, pages and the command line: catch up with writes saved elsewhere, match, answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import Session

from api.schemas import MatchOut
from api.services.catalogue import RecordNotFound
from api.state import AppState, WeightsInUse, checked_apart, held, keep_up, synchronise
from matcher.directions import Direction
from matcher.recommender import MatchResult
from models.enums import Industry
from models.records import CatalogueRecord, RecordKind

MAX_K = 50
"""The most results one match may ask for."""


@dataclass(frozen=True)
class Answer:
    """A match result and the version of the weights it was scored with."""

    result: MatchResult
    weights_version: int

    def json(self) -> dict[str, Any]:
        """The API's answer (SPEC §6): each result as `MatchOut` shows it, naming the weights version."""
        result = self.result
        return {
            "results": [
                {name: getattr(match, name) for name in MatchOut.model_fields} for match in result.results
            ],
            "requested": result.requested,
            "eligible": result.eligible,
            "excluded": result.excluded,
            "note": result.note,
            "industries": [
                {
                    "code": guess.code,
                    "label": Industry.parse(guess.code).label,
                    "probability": guess.confidence,
                    "declared": guess.declared,
                    "certainty": guess.certainty,
                    "evidence": list(guess.evidence),
                }
                for guess in result.industries
            ],
            "weights_version": self.weights_version,
        }


def catch_up(*, state: AppState, session: Session) -> WeightsInUse:
    """Take in what another worker or the command line saved (records, weights); the weights to match with."""
    return synchronise(state, session)


def stored(*, state: AppState, kind: RecordKind, record_id: str) -> CatalogueRecord:
    """A record of the catalogue by id; RecordNotFound when there is none."""
    try:
        return state.recommender.stored(kind, record_id)
    except KeyError:
        raise RecordNotFound(kind, record_id) from None


def match(
    *,
    state: AppState,
    session: Session,
    direction: Direction,
    record: CatalogueRecord | str,
    k: int,
    districts: Sequence[str] = (),
) -> Answer:
    """The best `k` for a record (ad hoc, or a stored one by id) with the current weights.

    Changes saved by another process are looked for at most every `api.freshness.CHECK_SECONDS`
    (`keep_up`), so that most matches need no round trip to the database.
    """
    used = keep_up(state, session)
    return rank(state=state, used=used, direction=direction, record=record, k=k, districts=districts)


async def answer(
    *,
    state: AppState,
    direction: Direction,
    record: CatalogueRecord | str,
    k: int,
    districts: Sequence[str] = (),
) -> Answer:
    """`match`, for a caller on an event loop.

    A stored record (by id) against a table scanned on one thread (`Recommender.single_threaded`) is
    matched right there: a few milliseconds, to which a worker thread's hand-off and its contention for
    the GIL would add a fifth. Only catching up with a write of this process (`held`) goes to a worker
    thread first. Anything else (a profile to encode, a large table) runs on a worker thread whole.
    """
    if isinstance(record, str) and state.recommender.single_threaded(direction):
        used = held(state)
        if used is None:
            used = await to_thread.run_sync(checked_apart, state)
        return rank(state=state, used=used, direction=direction, record=record, k=k, districts=districts)

    def on_thread() -> Answer:
        """`match`, in a session of its own (it connects only if `keep_up` asks the database)."""
        with state.sessions() as session:
            return match(
                state=state, session=session, direction=direction, record=record, k=k, districts=districts
            )

    return await to_thread.run_sync(on_thread)


def rank(
    *,
    state: AppState,
    used: WeightsInUse,
    direction: Direction,
    record: CatalogueRecord | str,
    k: int,
    districts: Sequence[str] = (),
) -> Answer:
    """The best `k` for a record with the weights `catch_up` returned (a caller that caught up already)."""
    query = stored(state=state, kind=direction.query, record_id=record) if isinstance(record, str) else record
    result = state.recommender.match(direction, query, k, weights=used.weights, districts=districts)
    return Answer(result, used.version)
