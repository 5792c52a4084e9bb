"""Learning the weights from outcomes: which recommended pairs went on, read against their factor values.

Each recorded lead carries the components the server computed when it recommended the pair; a
component is the factor's value times its weight's share, so the values come back exactly
(`factor_values`). For each pairing (firm → buildings, firm → scenarios) a logistic regression of
"progressed" on the factor values estimates how much each factor moves the odds; those coefficients,
non-negative and put on the scale of the current weights, are the proposal (`learn_weights`).

Method and why. The pairs staff took up and the pairs firms looked at depend on the rank the pair was
shown at, whatever its fit (position bias). Inverse-propensity weighting needs the propensity per rank,
and estimating it from progress rates by rank alone mixes bias with fit, because the better pairs sit
at the top. So the rank enters the same regression as a feature, log(rank) (position-aware learning, as in
PAL, Guo et al. 2019, with the examination model p(rank) ∝ rank^−η of Joachims et al. 2017): the
factor coefficients are the effect of fit at a given rank, and −η is the position bias, reported as
each rank's propensity relative to rank 1 (one parameter: monotone, and steady on a few thousand
leads where one coefficient per rank wobbled; η < 0 is read as no bias). Since the
score is the weights' shares times the values, a coefficient is proportional to its weight within a
pairing; the two pairings share `semantic`, `industry` and `district`, which sets their common scale.
Negative coefficients (a factor that seems to hurt) are set to 0: weights are 0..1 and keep their meaning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from matcher.registry import OfferKind, factor_names
from matcher.weights import Weights

PAIRINGS: tuple[OfferKind, ...] = ("buildings", "scenarios")
MIN_EACH = 30
"""A pairing is learned from at least this many positive and this many negative outcomes."""
REGULARISATION = 10.0
"""The logistic regression's C (inverse L2 strength); factor values lie in 0..1."""
TOP_RANK = 10
"""The position bias is reported for ranks 1 to this."""


@dataclass(frozen=True)
class Outcome:
    """One recommended pair as learning reads it: where and when it was shown, its values, what happened."""

    pairing: OfferKind
    group: str
    """The list it was shown in (the firm), so that replays rank pairs within one list."""
    began: date
    rank: int
    values: Mapping[str, float]
    """Factor values 0..1 (NaN where the weights it was ranked under could not tell)."""
    progressed: bool


@dataclass(frozen=True)
class LearnedWeights:
    """The learned weights, which pairings they were learned from, and the position bias found."""

    weights: Weights
    learned: tuple[OfferKind, ...]
    position_bias: dict[int, float]
    """Rank → estimated propensity relative to rank 1 (firm → buildings, else firm → scenarios)."""


class TooFewOutcomes(ValueError):
    """Neither pairing has enough positive and negative outcomes to learn from."""


def factor_values(components: Mapping[str, float], weights: Weights) -> dict[str, float]:
    """The pair's factor values (0..1) from a match's components under `weights` (the spread left out).

    A component is the factor's value times its weight's share of the pairing's weights, as the scorer
    adds them up; dividing by that share gives the value back (NaN for a factor weighted 0).
    """
    names = [name for name in components if name != "spread"]
    shares = weights.factor_weights(tuple(names))
    total = sum(shares.values())
    return {
        name: min(1.0, max(0.0, components[name] * total / shares[name]))
        if shares[name] > 0
        else float("nan")
        for name in names
    }


def value_matrix(outcomes: Sequence[Outcome], pairing: OfferKind) -> np.ndarray:
    """[n, factors] values of the pairing's factors, a missing value replaced by its column's mean."""
    names = factor_names(pairing)
    matrix = np.array(
        [[outcome.values.get(name, np.nan) for name in names] for outcome in outcomes], dtype=float
    )
    matrix = matrix.reshape(len(outcomes), len(names))
    means = np.nanmean(np.where(np.isnan(matrix).all(axis=0), 0.5, matrix), axis=0) if len(outcomes) else 0.5
    return np.where(np.isnan(matrix), means, matrix)


def counts(outcomes: Sequence[Outcome]) -> tuple[int, int]:
    """How many outcomes progressed and how many did not."""
    positives = sum(outcome.progressed for outcome in outcomes)
    return positives, len(outcomes) - positives


def learnable(outcomes: Sequence[Outcome]) -> bool:
    """Whether there are enough positive and negative outcomes to learn from."""
    return min(counts(outcomes)) >= MIN_EACH


def _fit_pairing(
    outcomes: Sequence[Outcome], pairing: OfferKind
) -> tuple[dict[str, float], dict[int, float]]:
    """The pairing's non-negative factor coefficients and each rank's propensity relative to rank 1."""
    from sklearn.linear_model import LogisticRegression  # ~1 s to import: only when learning

    values = value_matrix(outcomes, pairing)
    ranks = np.array([outcome.rank for outcome in outcomes], dtype=float)
    labels = np.array([outcome.progressed for outcome in outcomes], dtype=int)
    features = np.hstack([values, np.log(ranks)[:, None]])
    coefficients = LogisticRegression(C=REGULARISATION, max_iter=2000).fit(features, labels).coef_[0]
    names = factor_names(pairing)
    factor_part = {name: max(0.0, float(value)) for name, value in zip(names, coefficients, strict=False)}
    exponent = min(0.0, float(coefficients[-1]))
    bias = {rank: float(rank**exponent) for rank in range(1, TOP_RANK + 1)}
    return factor_part, bias


def learn_weights(outcomes: Sequence[Outcome], base: Weights) -> LearnedWeights:
    """Weights learned from outcomes; a pairing too thin to learn from keeps `base`'s own factors.

    The other settings (`lexical_blend`, `spread`) stay as in `base`; raises TooFewOutcomes when neither
    pairing can be learned.
    """
    by_pairing = {pairing: [o for o in outcomes if o.pairing == pairing] for pairing in PAIRINGS}
    learned = tuple(pairing for pairing in PAIRINGS if learnable(by_pairing[pairing]))
    if not learned:
        raise TooFewOutcomes(
            f"每类推荐至少需要 {MIN_EACH} 条达到目标阶段的和 {MIN_EACH} 条未达到的已结束跟进；"
            + "，".join(
                f"{'楼宇' if pairing == 'buildings' else '场景'}现有 {pos} 条达到、{neg} 条未达到"
                for pairing, (pos, neg) in ((p, counts(by_pairing[p])) for p in PAIRINGS)
            )
        )
    fits = {pairing: _fit_pairing(by_pairing[pairing], pairing) for pairing in learned}
    merged = _on_one_scale({pairing: fit[0] for pairing, fit in fits.items()}, base)
    return LearnedWeights(
        weights=_as_weights(merged, base),
        learned=learned,
        position_bias=fits[learned[0]][1],
    )


def _on_one_scale(coefficients: Mapping[OfferKind, Mapping[str, float]], base: Weights) -> dict[str, float]:
    """One value per factor, on the scale of `base`; a pairing not learned keeps `base`'s own factors.

    The first learned pairing is scaled to `base`'s total over its factors; a second one is scaled to it
    by least squares on the factors they share (or to its own total when those are all 0 in either), and
    a shared factor takes the mean of both.
    """
    anchor, *others = coefficients
    merged = _to_total(coefficients[anchor], base)
    for pairing in others:
        values = coefficients[pairing]
        shared = [name for name in values if name in merged]
        own, theirs = np.array([values[name] for name in shared]), np.array([merged[name] for name in shared])
        fit = float(own @ own) * float(theirs @ theirs) > 0
        scaled = (
            {name: value * float(own @ theirs) / float(own @ own) for name, value in values.items()}
            if fit
            else _to_total(values, base)
        )
        merged = {
            name: (merged[name] + scaled[name]) / 2 if name in scaled else merged[name] for name in merged
        }
        merged |= {name: value for name, value in scaled.items() if name not in merged}
    for pairing in PAIRINGS:
        merged |= {
            name: value
            for name, value in base.factor_weights(factor_names(pairing)).items()
            if name not in merged
        }
    return merged


def _to_total(values: Mapping[str, float], base: Weights) -> dict[str, float]:
    """Values scaled to add up to what `base` gives the same factors (unchanged when they are all 0)."""
    total = sum(values.values())
    target = sum(base.factor_weights(tuple(values)).values())
    return {name: value * target / total if total > 0 else value for name, value in values.items()}


def _as_weights(values: Mapping[str, float], base: Weights) -> Weights:
    """Values as weights (scaled down if one exceeds 1), rounded to 0.001; the other settings from `base`."""
    scale = min(1.0, 1.0 / max(max(values.values()), 1e-12))
    return Weights(**(base.model_dump() | {name: round(value * scale, 3) for name, value in values.items()}))
