"""The scorer: weights → score, following the scikit-learn estimator contract (without importing it)."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from matcher.outcomes import Outcome, learn_weights
from matcher.weights import Weights

DEFAULTS: dict[str, float] = Weights().model_dump()
"""Every weight's default, in the order of `Weights`' fields."""


class MatchScorer:
    """Combines factor values (each 0..1) into a score by the administrator's weights.

    `__init__` only stores the weights, one keyword parameter per field of `Weights` (so `get_params`/
    `set_params`/`clone` work and weights can be searched); `fit` validates them into `weights_` and
    returns self. The contract is kept by hand: scikit-learn (about a second to import) is not needed to
    score, and every server process would import it.
    """

    def __init__(self, **weights: float) -> None:
        """Store each weight as given, the default for the others (`__signature__` names them all)."""
        unknown = sorted(weights.keys() - DEFAULTS.keys())
        if unknown:
            raise TypeError(f"MatchScorer got unknown weights: {', '.join(unknown)}")
        for name, default in DEFAULTS.items():
            setattr(self, name, weights.get(name, default))

    def get_params(self, deep: bool = True) -> dict[str, float]:
        """Every weight by name (`deep` is scikit-learn's; the scorer holds no nested estimator)."""
        return {name: getattr(self, name) for name in DEFAULTS}

    def set_params(self, **params: float) -> MatchScorer:
        """Set the named weights; an unknown name is a ValueError, as scikit-learn's estimators raise."""
        unknown = sorted(params.keys() - DEFAULTS.keys())
        if unknown:
            raise ValueError(f"Invalid parameter {unknown[0]!r} for estimator {self!r}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        """The class and the weights that differ from their defaults, as scikit-learn prints estimators."""
        changed = ", ".join(
            f"{name}={value!r}" for name, value in self.get_params().items() if value != DEFAULTS[name]
        )
        return f"{type(self).__name__}({changed})"

    @classmethod
    def from_weights(cls, weights: Weights) -> MatchScorer:
        """A fitted scorer for a validated weights object."""
        return cls(**weights.model_dump()).fit()

    def fit(self, x: Sequence[Outcome] | None = None, y: object = None) -> MatchScorer:
        """Validate the weights; given outcomes (each carries its label, so `y` is unused), learn them first.

        Learning (`matcher.outcomes.learn_weights`) replaces the factor weights by those the outcomes
        support, keeping the other settings; `learned_` then says what was learned and the position bias.
        """
        self.weights_ = Weights(**self.get_params())
        if x is not None:
            self.learned_ = learn_weights(x, self.weights_)
            self.weights_ = self.learned_.weights
            self.set_params(**self.weights_.model_dump())
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
        total: np.ndarray | None = None
        for name, values in factors.items():  # one scratch array for the products: tables can be large
            if total is None:
                total = np.multiply(values, shares[name], dtype=np.float64)
                part = np.empty_like(total)
            else:
                total += np.multiply(values, shares[name], out=part, dtype=np.float64)
        return np.zeros(0) if total is None else total


# scikit-learn reads an estimator's parameters from the signature of its `__init__`.
vars(MatchScorer.__init__)["__signature__"] = inspect.Signature(
    [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        *(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=float)
            for name, default in DEFAULTS.items()
        ),
    ]
)


def _total(parts: Iterable[np.ndarray]) -> np.ndarray:
    """The sum of arrays [n], added in order."""
    total: np.ndarray | None = None
    for part in parts:
        total = part.copy() if total is None else np.add(total, part, out=total)
    return np.zeros(0) if total is None else total
