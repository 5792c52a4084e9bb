"""The answers equal those of re-ranking every eligible row: the candidate pool loses nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from unittest.mock import patch

import numpy as np
import pytest

from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher import spread
from matcher.directions import DIRECTIONS
from matcher.hashing import HashingEncoder
from matcher.recommender import Recommender
from matcher.weights import Weights
from models.records import BuildingRecord, EnterpriseRecord, ScenarioRecord

TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def recommender() -> Recommender:
    """A recommender over 600 buildings, 60 firms and 400 scenarios."""
    return Recommender(HashingEncoder(), today=TODAY).load(
        {
            "buildings": [BuildingRecord.model_validate(r) for r in generate_buildings(600, seed=21)],
            "enterprises": [EnterpriseRecord.model_validate(r) for r in generate_enterprises(60, seed=21)],
            "scenarios": [
                ScenarioRecord.model_validate(r)
                for r in generate_scenarios(400, seed=21, reference_date=TODAY)
            ],
        }
    )


def _answers(recommender: Recommender) -> list[object]:
    """Both directions for every firm, at several spread strengths and sizes of k."""
    answers: list[object] = []
    for firm in recommender.tables["enterprises"].records:
        assert isinstance(firm, EnterpriseRecord)
        for strength in (0.0, 0.5, 1.0):
            for k in (1, 10, 50):
                weights = Weights(spread=strength)
                answers.append(recommender.match(DIRECTIONS["firm_buildings"], firm, k, weights=weights))
                answers.append(recommender.match(DIRECTIONS["firm_scenarios"], firm, k, weights=weights))
    return answers


def _every_eligible_row(
    scores: np.ndarray,
    eligible: np.ndarray,
    groups: Sequence[np.ndarray],
    districts: np.ndarray,
    strength: float,
    k: int,
    ids: Callable[[np.ndarray], Sequence[str]],
) -> tuple[np.ndarray, np.ndarray]:
    """`pick` without a pool: the greedy re-ranking of all eligible rows, sorted by score and id."""
    rows = np.flatnonzero(eligible)
    names = ids(rows)
    rows = rows[sorted(range(len(rows)), key=lambda i: (-scores[rows[i]], names[i]))]
    chosen, penalties = spread.spread_rerank(scores[rows], districts[rows], strength, k)
    return rows[chosen], penalties


def test_the_pool_answers_as_re_ranking_every_row(recommender: Recommender) -> None:
    pooled = _answers(recommender)
    with patch.object(spread, "pick", _every_eligible_row):
        exhaustive = _answers(recommender)
    assert pooled == exhaustive
