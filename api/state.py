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


@dataclass
class AppState:
    """Sessions, the recommender over the current catalogue, and the current weights version."""

    settings: Settings
    sessions: sessionmaker[Session]
    recommender: Recommender
    weights_version: int
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
    recommender = Recommender(encoder, weights=weights).load(catalogue)
    return AppState(settings, sessions, recommender, number)
