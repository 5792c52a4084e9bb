"""Checking learning against the truth: demo histories from a known model, and the outcomes learning reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache

import numpy as np

from demo.bundle import demo_records
from demo.history import HistoryLead, shown_pairs, simulate
from demo.preference import TRUE_WEIGHTS, PreferenceModel
from demo.shown import ShownPair
from matcher.hashing import HashingEncoder
from matcher.outcomes import Outcome, factor_values
from matcher.recommender import Recommender
from matcher.weights import Weights
from models.clock import china_date
from models.lead import OutcomeStage, outcome

TODAY = date(2026, 12, 6)
"""A fixed day, so that the histories do not depend on when the tests run."""
TRUE = Weights(**(Weights().model_dump() | TRUE_WEIGHTS))
"""The weights the true preference model weighs factors by."""


@cache
def demo_shown() -> tuple[ShownPair, ...]:
    """What the recommender (default weights, model-free encoder) shows the demo's sample of firms."""
    recommender = Recommender(HashingEncoder(), weights=Weights(), today=TODAY).load(demo_records())
    return tuple(shown_pairs(recommender))


@cache
def demo_history(pure_noise: bool = False) -> tuple[HistoryLead, ...]:
    """The demo history drawn from the true model, or from pure noise."""
    return tuple(simulate(demo_shown(), today=TODAY, model=PreferenceModel(pure_noise=pure_noise)))


def outcomes_of(history: Sequence[HistoryLead], stage: OutcomeStage) -> list[Outcome]:
    """The decided leads of a history as learning reads them (the service reads stored leads alike)."""
    found = []
    for lead in history:
        reached = outcome(lead.kind, [event.stage for event in lead.events], lead.stage, stage)
        if reached is not None:
            values = factor_values(lead.components, Weights())
            began = china_date(lead.events[0].at)
            found.append(Outcome(lead.kind.offers, lead.enterprise_id, began, lead.rank, values, reached))
    return found


def cosine(first: Weights, second: Weights) -> float:
    """The cosine of two weights' factor weights."""
    a = np.array([getattr(first, name) for name in TRUE_WEIGHTS])
    b = np.array([getattr(second, name) for name in TRUE_WEIGHTS])
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
