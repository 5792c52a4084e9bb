"""The demo history's hidden preference model: what firms really weigh, known so that learning can be checked.

A pair's factor values x_f (each 0..1) are read back from the match's components
(`matcher.outcomes.factor_values`).
Its true utility weighs them the way the scorer weighs its own weights, by their shares:

    u = Σ_f TRUE_WEIGHTS[f] · x_f / Σ_f TRUE_WEIGHTS[f]      (f over the pairing's factors)

and each step of the pipeline is taken with probability

    P(step s) = examined(rank) · σ(α_s + β · (u − ū) + ε)

where examined(rank) = rank^−0.5 on the first step only (a result lower down is looked at less: the
position bias; 1 on later steps), ū is the mean utility of the shown pairs of the kind, ε ~ N(0, 0.5)
is drawn once per pair (what the catalogue does not say), β = 8, and α_s (per stage, `STEP_BIAS`) gives
plausible conversion. A step not taken ends the lead: `lost` (a reason drawn from what the pair lacks:
cost when the rent headroom is low, space when the area fits badly, ...), or `not_won` for a scenario
a firm applied to. With `pure_noise` the utility and the position bias are dropped (u = ū, examined = 1)
and reasons are drawn as for an average pair: outcomes depend on nothing a learner could see.

TRUE_WEIGHTS differ from the default weights (version 1) on purpose: firms care about rent, area and
district far more than the defaults say, and about the text's similarity far less:

    factor      true  default        factor      true  default
    semantic    0.06  0.30           fit_out     0.04  0.04
    industry    0.20  0.30           amenities   0.02  0.03
    district    0.22  0.10           cluster     0.02  0.05
    area        0.18  0.08           incentives  0.04  0.04
    rent        0.22  0.06           budget      0.30  0.10
                                     urgency     0.10  0.04

What learning can recover: within a pairing, the true weights' shares (β sets their common scale).
Mind the position bias (a lead's rank sits in `match_rank`) and that leads begun lately are still open
(they have not finished, they have not failed). The pairs staff took up were chosen by rank alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from matcher.factors import NEUTRAL
from models.lead import LeadKind, LostReason, Stage

TRUE_WEIGHTS: dict[str, float] = {
    "semantic": 0.06,
    "industry": 0.20,
    "district": 0.22,
    "area": 0.18,
    "rent": 0.22,
    "fit_out": 0.04,
    "amenities": 0.02,
    "cluster": 0.02,
    "incentives": 0.04,
    "budget": 0.30,
    "urgency": 0.10,
}
"""What firms really weigh, one weight per factor (within the range `Weights` accepts)."""
SENSITIVITY = 8.0
"""β: how strongly utility (0..1) moves the log-odds of each step."""
NOISE_SD = 0.5
"""The spread of ε, each pair's unobserved taste, in log-odds."""
POSITION_BIAS_EXPONENT = 0.5
"""examined(rank) = rank ** −exponent: the share of firms that look at a result at that rank at all."""
STEP_BIAS: dict[Stage, float] = {
    Stage.contacted: 1.8,
    Stage.visited: 0.3,
    Stage.intent: 0.0,
    Stage.signed: 0.4,
    Stage.moved_in: 2.5,
    Stage.applied: 0.2,
    Stage.shortlisted: -0.3,
    Stage.won: 0.0,
}
"""α_s: the log-odds of taking the step to this stage for an average pair (u = ū, ε = 0)."""
FIRST_STEPS = frozenset({Stage.contacted, Stage.applied})
"""The steps the position bias applies to: whether the firm looks at the result at all."""


@dataclass(frozen=True)
class PreferenceModel:
    """The hidden model a history is drawn from: the true weights, or pure noise."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(TRUE_WEIGHTS))
    pure_noise: bool = False
    """Outcomes independent of the components and of the rank."""

    def utility(self, values: Mapping[str, float]) -> float:
        """u: the factor values weighted by the true weights' shares (0..1)."""
        total = sum(self.weights[name] for name in values) or 1.0
        return sum(self.weights[name] * value for name, value in values.items()) / total

    def step_probability(self, stage: Stage, utility: float, centre: float, taste: float, rank: int) -> float:
        """The chance of taking the step to `stage` for a pair of this utility, shown at `rank`."""
        signal = 0.0 if self.pure_noise else SENSITIVITY * (utility - centre)
        examined = 1.0 if self.pure_noise or stage not in FIRST_STEPS else rank**-POSITION_BIAS_EXPONENT
        return examined * _sigmoid(STEP_BIAS[stage] + signal + taste)

    def loss_reason(
        self, kind: LeadKind, stage: Stage, values: Mapping[str, float], rng: np.random.Generator
    ) -> LostReason:
        """Why a lead at `stage` was lost, drawn from what the pair lacks (pure noise: as if average)."""
        seen = dict.fromkeys(values, NEUTRAL) if self.pure_noise else values
        odds = (building_reasons if kind == LeadKind.building else scenario_reasons)(stage, seen)
        reasons = list(odds)
        cumulative = np.cumsum([odds[reason] for reason in reasons])
        return reasons[int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))]


TRUE_MODEL = PreferenceModel()
"""The model the demo history is drawn from."""


def _sigmoid(value: float) -> float:
    """The logistic function."""
    return 1.0 / (1.0 + math.exp(-value))


def building_reasons(stage: Stage, x: Mapping[str, float]) -> dict[LostReason, float]:
    """Relative odds of each reason a building lead at `stage` is lost, given the pair's factor values."""
    return {
        LostReason.cost: 0.2 + 2.0 * (1.0 - x["rent"]),
        LostReason.space: 0.2 + 1.5 * (1.0 - x["area"]) + 0.5 * (1.0 - x["fit_out"]),
        LostReason.location: 0.2 + 1.2 * (1.0 - x["district"]),
        LostReason.policy: 0.1 + 0.4 * (1.0 - x["incentives"]),
        LostReason.competitor: 0.5,
        LostReason.postponed: 0.4,
        LostReason.unreachable: 1.2 if stage == Stage.recommended else 0.1,
        LostReason.unqualified: 0.05,
        LostReason.other: 0.15,
    }


def scenario_reasons(stage: Stage, x: Mapping[str, float]) -> dict[LostReason, float]:
    """Relative odds of each reason a scenario lead at `stage` is lost, given the pair's factor values."""
    return {
        LostReason.unqualified: 0.3 + 1.5 * (1.0 - x["industry"]),
        LostReason.cost: 0.2 + 1.0 * (1.0 - x["budget"]),
        LostReason.location: 0.1 + 0.5 * (1.0 - x["district"]),
        LostReason.postponed: 0.4,
        LostReason.competitor: 0.3,
        LostReason.unreachable: 0.8 if stage == Stage.recommended else 0.1,
        LostReason.other: 0.2,
    }
