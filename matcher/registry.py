"""The soft factors, each registered once: the pairings it scores, the columns it reads, its score and reason.

A new factor is one scoring function registered here (with the columns it needs of each record and its
reason maker in `explain`) plus one field of `Weights`. Factors are registered in the order their
reasons are tried when contributions tie; a pairing's score lists the similarity factor first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from matcher import explain, factors
from matcher.constraints import Columns
from models.enums import Amenity, FitOut
from models.incentives import IncentiveStanding, incentive_standing
from models.records import RecordKind

OfferKind = Literal["buildings", "scenarios"]
"""What a firm is matched with: a building (to move into) or a scenario (to take on)."""
ColumnBuilder = Callable[[Sequence[Any]], np.ndarray]
"""Records of one kind [n] → one column [n]."""
FIT_OUT_LEVEL = {FitOut.move_in_ready: 1.0, FitOut.basic: 0.6, FitOut.shell: 0.3}
AMENITIES_FOR_FULL_SCORE = 5
NAN = float("nan")


@dataclass(frozen=True, eq=False)
class Pair:
    """What the factors read of one query's pairs: the firm's side and the offer's, each [1] or [n]."""

    firm: Columns
    offer: Columns
    query_industries: np.ndarray
    """[1, 12] float32: the query's industry confidences."""
    table_industries: np.ndarray
    """[n, 12] float32: the ranked rows' industry confidences."""
    table_best: np.ndarray
    """[n] float32: each ranked row's highest industry confidence."""
    firm_industries: np.ndarray
    """[1, 12] or [n, 12]: the firm side's industry confidences."""
    district_shares: np.ndarray
    """[districts, 12]: how strongly each district gathers each industry."""
    today: int
    """The day deadlines are judged on, as an ordinal."""


@dataclass(frozen=True)
class Factor:
    """One soft factor (0..1 per pair) and everything the matcher needs to know about it."""

    pairings: frozenset[OfferKind]
    score: Callable[[Pair], np.ndarray] | None
    """None for the semantic factor, which the ranking blends from the two similarity channels."""
    reason: explain.Reason
    columns: Mapping[RecordKind, Mapping[str, ColumnBuilder]] = field(default_factory=dict)
    """Per record kind, the columns the score reads that no hard constraint needs already."""
    offer_only: bool = False
    """Whether the value depends on the offer alone: the same for every firm ranked for one offer."""


def _sides(score: Callable[[Columns, Columns], np.ndarray]) -> Callable[[Pair], np.ndarray]:
    """A score of the firm's columns and the offer's, as a factor of pairs."""
    return lambda pair: score(pair.firm, pair.offer)


def numbers(values: Sequence[float | None]) -> np.ndarray:
    """A float64 column, NaN for absent values."""
    return np.array([NAN if value is None else float(value) for value in values], dtype=np.float64)


def _vacant_root(buildings: Sequence[Any]) -> np.ndarray:
    """vacant ** −SIZE_FIT_EXPONENT, computed once per table for the area factor."""
    vacant = np.array([building.vacant_area_m2 for building in buildings], dtype=np.float64)
    with np.errstate(divide="ignore"):  # a full building (nothing available) is never offered
        return np.asarray(vacant**-factors.SIZE_FIT_EXPONENT)


def _amenity_share(buildings: Sequence[Any]) -> np.ndarray:
    """The share of the usual amenities each building offers (unknown ones count for nothing)."""
    return np.array(
        [
            min(1.0, len(set(Amenity.among(building.amenities))) / AMENITIES_FOR_FULL_SCORE)
            for building in buildings
        ],
        dtype=np.float64,
    )


def _incentives_barred(firms: Sequence[Any]) -> np.ndarray:
    """Whether each firm is barred from new-entrant incentives."""
    return np.array(
        [incentive_standing(firm.origin) == IncentiveStanding.ineligible for firm in firms], dtype=bool
    )


BOTH: frozenset[OfferKind] = frozenset({"buildings", "scenarios"})
BUILDINGS: frozenset[OfferKind] = frozenset({"buildings"})
SCENARIOS: frozenset[OfferKind] = frozenset({"scenarios"})

FACTORS: dict[str, Factor] = {
    "industry": Factor(
        BOTH,
        lambda pair: factors.industry(pair.query_industries, pair.table_industries, pair.table_best),
        explain.industry_reason,
    ),
    "semantic": Factor(BOTH, None, explain.semantic_reason),
    "district": Factor(
        BOTH,
        lambda pair: factors.district(pair.firm["preferred"], pair.offer["district"]),
        explain.district_reason,
    ),
    "area": Factor(
        BUILDINGS,
        _sides(factors.area),
        explain.area_reason,
        {
            "buildings": {
                "vacant_root": _vacant_root,
                "min_unit": lambda buildings: numbers([b.min_unit_m2 for b in buildings]),
            }
        },
    ),
    "rent": Factor(BUILDINGS, _sides(factors.rent), explain.rent_reason),
    "fit_out": Factor(
        BUILDINGS,
        _sides(factors.fit_out),
        explain.fit_out_reason,
        {
            "buildings": {
                "fit_level": lambda buildings: np.array(
                    [FIT_OUT_LEVEL[b.fit_out] for b in buildings], dtype=np.float64
                )
            }
        },
    ),
    "amenities": Factor(
        BUILDINGS,
        _sides(factors.amenities),
        explain.amenities_reason,
        {"buildings": {"amenities": _amenity_share}},
    ),
    "cluster": Factor(
        BUILDINGS,
        lambda pair: factors.cluster(pair.firm_industries, pair.offer["district"], pair.district_shares),
        explain.cluster_reason,
    ),
    "incentives": Factor(
        BUILDINGS,
        _sides(factors.incentives),
        explain.incentives_reason,
        {
            "buildings": {
                "incentives": lambda buildings: np.array([bool(b.incentives) for b in buildings], dtype=bool)
            },
            "enterprises": {"incentives_barred": _incentives_barred},
        },
    ),
    "budget": Factor(
        SCENARIOS,
        _sides(factors.budget),
        explain.budget_reason,
        {"scenarios": {"budget": lambda scenarios: numbers([s.budget_wan_yuan for s in scenarios])}},
    ),
    "urgency": Factor(
        SCENARIOS,
        lambda pair: factors.urgency(pair.offer, pair.today),
        explain.urgency_reason,
        offer_only=True,
    ),
}


def registered(offer: OfferKind) -> dict[str, Factor]:
    """The factors of a pairing, in the order they are registered."""
    return {name: factor for name, factor in FACTORS.items() if offer in factor.pairings}


def factor_names(offer: OfferKind) -> tuple[str, ...]:
    """The factors a pairing is scored by, in the order of its score's components: semantic first."""
    found = registered(offer)
    return tuple(sorted(found, key=lambda name: found[name].score is not None))


def factor_columns(kind: RecordKind) -> dict[str, ColumnBuilder]:
    """The columns the factors read of one kind of record, by name."""
    owned = (factor.columns.get(kind, {}) for factor in FACTORS.values())
    return {name: build for columns in owned for name, build in columns.items()}
