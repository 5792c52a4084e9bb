"""Start-up: build the app's state (the recommender over the catalogue, the weights) from the database."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings
from api.embedding import industry_model
from api.services import weights as weights_service
from api.state import AppState
from matcher.encoder import Encoder
from matcher.recommender import KINDS, Recommender
from matcher.weights import Weights
from models.capacity import CAPACITY_STAMP, load_capacity
from models.catalogue import iter_records
from models.catalogue_stamp import stamps


def load_state(settings: Settings, sessions: sessionmaker[Session], encoder: Encoder) -> AppState:
    """Read the catalogue and the current weights, and build the recommender once."""
    with sessions() as session:
        version = weights_service.current(session)
        catalogue = {kind: list(iter_records(session, kind)) for kind in KINDS}
        weights = Weights(**version.weights)
        number = version.version
        seen = stamps(session)
        capacity = load_capacity(session)
        session.commit()
    recommender = Recommender(encoder, weights=weights, industry_model=industry_model(settings, encoder))
    recommender.set_capacity(capacity.taken, capacity.placed)
    recommender.load(catalogue)
    return AppState(settings, sessions, recommender, number, seen, seen.get(CAPACITY_STAMP, 0))
