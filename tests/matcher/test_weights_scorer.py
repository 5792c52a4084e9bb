"""The weights object and the scikit-learn style scorer."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.base import clone

from matcher.recommender import KINDS
from matcher.registry import FACTORS, factor_columns
from matcher.scorer import MatchScorer
from matcher.tables import columns_of
from matcher.weights import BUILDING_FACTORS, SCENARIO_FACTORS, Weights


def test_every_weight_has_a_chinese_meaning_and_a_valid_default() -> None:
    for name, info in Weights.model_fields.items():
        assert info.description, name
        assert any("\u4e00" <= char <= "\u9fff" for char in info.description), name
        assert 0.0 <= getattr(Weights(), name) <= 1.0


@pytest.mark.parametrize(("name", "value"), [("semantic", -0.1), ("industry", 1.5), ("spread", 2.0)])
def test_out_of_range_weights_are_rejected(name: str, value: float) -> None:
    with pytest.raises(ValidationError) as caught:
        Weights(**{name: value})
    assert caught.value.errors()[0]["loc"] == (name,)


def test_unknown_weight_is_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        Weights(popularity=0.5)  # type: ignore[call-arg]
    assert caught.value.errors()[0]["type"] == "extra_forbidden"


def test_every_registered_factor_has_a_weight_and_its_columns() -> None:
    assert set(FACTORS) <= set(Weights.model_fields)
    assert set(BUILDING_FACTORS) | set(SCENARIO_FACTORS) == set(FACTORS)
    for kind in KINDS:
        assert set(factor_columns(kind)) <= set(columns_of(kind, []))


def test_scorer_params_are_exactly_the_weights() -> None:
    scorer = MatchScorer()
    assert scorer.get_params() == Weights().model_dump()
    assert list(inspect.signature(MatchScorer).parameters) == list(Weights.model_fields)
    with pytest.raises(TypeError, match="popularity"):
        MatchScorer(popularity=0.5)


def test_set_params_clone_and_fit_follow_the_estimator_contract() -> None:
    scorer = MatchScorer().set_params(industry=0.9)
    copy = clone(scorer)
    assert copy.get_params()["industry"] == 0.9
    assert copy.fit() is copy
    assert copy.weights_.industry == 0.9
    assert not hasattr(MatchScorer(), "weights_")


def test_fit_rejects_invalid_weights() -> None:
    with pytest.raises(ValidationError):
        MatchScorer(rent=3.0).fit()


def test_contributions_add_up_to_a_score_between_zero_and_one() -> None:
    scorer = MatchScorer.from_weights(Weights())
    rng = np.random.default_rng(3)
    factors = {name: rng.random(50) for name in BUILDING_FACTORS}
    score, contributions = scorer.combine(factors)
    assert np.allclose(np.sum(list(contributions.values()), axis=0), score)
    assert ((score >= 0) & (score <= 1)).all()
    perfect, _ = scorer.combine({name: np.ones(1) for name in BUILDING_FACTORS})
    assert perfect[0] == pytest.approx(1.0)


def test_a_heavier_weight_moves_the_ranking() -> None:
    factors = {name: np.array([0.5, 0.5]) for name in BUILDING_FACTORS}
    factors["rent"] = np.array([1.0, 0.0])
    factors["industry"] = np.array([0.0, 1.0])
    rent_first, _ = MatchScorer.from_weights(Weights(rent=1.0, industry=0.1)).combine(factors)
    industry_first, _ = MatchScorer.from_weights(Weights(rent=0.1, industry=1.0)).combine(factors)
    assert rent_first[0] > rent_first[1]
    assert industry_first[1] > industry_first[0]


def test_score_gives_the_numbers_combine_adds_up_bit_for_bit() -> None:
    """Ranking orders by `score` and explains by `combine`: mixed dtypes and single values included."""
    scorer = MatchScorer.from_weights(Weights(area=0.2, rent=0.0))
    rng = np.random.default_rng(5)
    factors = {
        name: rng.random(1) if i % 4 == 3 else rng.random(300).astype(np.float32 if i % 2 else np.float64)
        for i, name in enumerate(BUILDING_FACTORS)
    }
    combined, _ = scorer.combine(factors)
    assert scorer.score(factors).tolist() == combined.tolist()
