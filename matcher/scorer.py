"""The scorer: weights → score, following the scikit-learn estimator contract."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator

from matcher.weights import Weights


class MatchScorer(BaseEstimator):  # type: ignore[misc]
    """Combines factor values (each 0..1) into a score by the administrator's weights.

    `__init__` only stores the weights (so `get_params`/`set_params`/`clone` work and weights can be
    searched); `fit` validates them into `weights_` and returns self.
    """

    def __init__(
        self,
        semantic: float = Weights().semantic,
        industry: float = Weights().industry,
        district: float = Weights().district,
        area: float = Weights().area,
        rent: float = Weights().rent,
        fit_out: float = Weights().fit_out,
        amenities: float = Weights().amenities,
        cluster: float = Weights().cluster,
        incentives: float = Weights().incentives,
        budget: float = Weights().budget,
        urgency: float = Weights().urgency,
        lexical_blend: float = Weights().lexical_blend,
        spread: float = Weights().spread,
    ) -> None:
        """Store every weight as given."""
        self.semantic = semantic
        self.industry = industry
        self.district = district
        self.area = area
        self.rent = rent
        self.fit_out = fit_out
        self.amenities = amenities
        self.cluster = cluster
        self.incentives = incentives
        self.budget = budget
        self.urgency = urgency
        self.lexical_blend = lexical_blend
        self.spread = spread

    @classmethod
    def from_weights(cls, weights: Weights) -> MatchScorer:
        """A fitted scorer for a validated weights object."""
        return cls(**weights.model_dump()).fit()

    def fit(self, x: object = None, y: object = None) -> MatchScorer:
        """Validate the weights (out-of-range values raise); nothing else needs learning."""
        self.weights_ = Weights(**self.get_params())
        return self

    def combine(self, factors: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Score [n] and each factor's contribution [n]; contributions add up to the score.

        The score is the weighted mean of the factors, so it lies in 0..1.
        """
        weights = self.weights_.factor_weights(tuple(factors))
        total = sum(weights.values()) or 1.0
        contributions = {
            name: weights[name] * np.asarray(values, dtype=np.float64) / total
            for name, values in factors.items()
        }
        score = np.sum(list(contributions.values()), axis=0) if contributions else np.zeros(0)
        return score, contributions
