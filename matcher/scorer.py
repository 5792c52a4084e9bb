"""The scorer: weights → score, following the scikit-learn estimator contract."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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

    def _shares(self, names: tuple[str, ...]) -> dict[str, float]:
        """Each named factor's weight over the sum of their weights."""
        weights = self.weights_.factor_weights(names)
        total = sum(weights.values()) or 1.0
        return {name: weight / total for name, weight in weights.items()}

    def combine(self, factors: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Score [n] and each factor's contribution [n]; contributions add up to the score.

        The score is the weighted mean of the factors, so it lies in 0..1.
        """
        shares = self._shares(tuple(factors))
        contributions = {
            name: np.asarray(values, dtype=np.float64) * shares[name] for name, values in factors.items()
        }
        return _total(contributions.values()), contributions

    def score(self, factors: Mapping[str, np.ndarray]) -> np.ndarray:
        """The score [n] alone, the same numbers `combine` gives, without keeping the contributions."""
        shares = self._shares(tuple(factors))
        return _total(np.asarray(values, dtype=np.float64) * shares[name] for name, values in factors.items())


def _total(parts: Iterable[np.ndarray]) -> np.ndarray:
    """The sum of arrays [n], added in order."""
    total: np.ndarray | None = None
    for part in parts:
        total = part.copy() if total is None else np.add(total, part, out=total)
    return np.zeros(0) if total is None else total
