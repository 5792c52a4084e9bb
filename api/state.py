"""What the app holds for its lifetime: the database sessions and the loaded recommender."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from api import weights_service
from api.auth import LoginLimiter
from api.config import Settings
from matcher.encoder import Encoder
from matcher.recommender import KINDS, Recommender
from matcher.weights import Weights
from models.catalogue import iter_records
from models.catalogue_stamp import stamps, versions
from models.records import RecordKind


@dataclass
class AppState:
    """Sessions, the recommender over the current catalogue, and the current weights version."""

    settings: Settings
    sessions: sessionmaker[Session]
    recommender: Recommender
    weights_version: int
    catalogue_stamps: dict[str, int]
    """The catalogue stamp of each kind that the recommender's tables reflect."""
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Serialises changes to the recommender's tables."""


def load_state(settings: Settings, sessions: sessionmaker[Session], encoder: Encoder) -> AppState:
    """Read the catalogue and the current weights, and build the recommender once."""
    with sessions.begin() as session:
        version = weights_service.current(session)
        catalogue = {kind: list(iter_records(session, kind)) for kind in KINDS}
        weights = Weights(**version.weights)
        number = version.version
        seen = stamps(session)
    recommender = Recommender(encoder, weights=weights).load(catalogue)
    return AppState(settings, sessions, recommender, number, seen)


def note_own_write(state: AppState, kind: RecordKind, stamp: int) -> None:
    """After this process applied its own write to the recommender, record its stamp as seen.

    Only when no other process wrote in between (the stamp moved by exactly one); otherwise the next
    query reloads the kind from the database. Call with `state.lock` held.
    """
    if stamp and state.catalogue_stamps.get(kind) == stamp - 1:
        state.catalogue_stamps[kind] = stamp


@dataclass(frozen=True)
class WeightsInUse:
    """The weights a request scores with, and their version, read together."""

    weights: Weights
    version: int


def synchronise(state: AppState, session: Session) -> WeightsInUse:
    """Catch up with catalogue and weights changes saved elsewhere (the CLI, another worker).

    One query when nothing changed; a kind another process wrote is reloaded from the database.
    """
    seen = versions(session)
    stale = [kind for kind in KINDS if seen.catalogue.get(kind, 0) != state.catalogue_stamps.get(kind, 0)]
    with state.lock:
        for kind in stale:
            state.recommender.replace(kind, list(iter_records(session, kind)))
            state.catalogue_stamps[kind] = seen.catalogue.get(kind, 0)
        if seen.weights > state.weights_version:
            saved = weights_service.current(session)
            state.recommender.weights = Weights(**saved.weights)
            state.weights_version = saved.version
        return WeightsInUse(state.recommender.weights, state.weights_version)
