"""The four match directions as data: what is asked, what is ranked, and which rules and factors apply."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np

from matcher.constraints import (
    BUILDING_CONSTRAINTS,
    SCENARIO_CONSTRAINTS,
    Columns,
    building_violations,
    scenario_violations,
)
from matcher.registry import FACTORS, OfferKind, factor_names
from models.records import RecordKind

T = TypeVar("T")
DirectionName = Literal["firm_buildings", "firm_scenarios", "building_firms", "scenario_firms"]


@dataclass(frozen=True)
class Pairing:
    """A firm with a building, or with a scenario: the same constraints, factors and reasons both ways."""

    offer: OfferKind
    constraints: Mapping[str, str]
    """Hard constraint name → what breaking it means, in Chinese."""
    violations: Callable[[Columns, Columns, int], dict[str, np.ndarray]]
    """(firm columns, offer columns, today's ordinal) → which pairs break each constraint."""
    fallbacks: tuple[str, ...]
    """Factors whose reasons top up a result with too few."""

    @property
    def factors(self) -> tuple[str, ...]:
        """The soft factors a pair is scored by, in the order of its components."""
        return factor_names(self.offer)


FIRM_BUILDING = Pairing(
    "buildings",
    BUILDING_CONSTRAINTS,
    lambda firm, building, today: building_violations(firm, building),
    ("area", "rent", "fit_out"),
)
FIRM_SCENARIO = Pairing(
    "scenarios",
    SCENARIO_CONSTRAINTS,
    lambda firm, scenario, today: scenario_violations(scenario, today),
    ("budget", "urgency", "semantic"),
)


@dataclass(frozen=True)
class Direction:
    """One way of asking: a record of kind `query` (stored or ad hoc) gets the best of kind `result`."""

    name: DirectionName
    title: str
    query: RecordKind
    result: RecordKind
    pairing: Pairing
    spread: bool = False
    """Whether later results from a district already listed lose a little (results that have a district)."""
    refusal: str | None = None
    """None: a pair that breaks a constraint is left out. Otherwise the constraints judge the query itself,
    and a query that breaks one gets no results, only this note and what it breaks."""

    @property
    def factors(self) -> tuple[str, ...]:
        """The pairing's factors that tell results apart: ranking firms for an offer drops the offer's own."""
        if self.query == "enterprises":
            return self.pairing.factors
        return tuple(name for name in self.pairing.factors if not FACTORS[name].offer_only)

    def sides(self, query: T, ranked: T) -> tuple[T, T]:
        """The firm's side and the offer's, of something the query and the ranked rows both have."""
        return (query, ranked) if self.query == "enterprises" else (ranked, query)


DIRECTIONS: dict[DirectionName, Direction] = {
    direction.name: direction
    for direction in (
        Direction("firm_buildings", "为企业找楼", "enterprises", "buildings", FIRM_BUILDING, spread=True),
        Direction("firm_scenarios", "为企业推荐场景", "enterprises", "scenarios", FIRM_SCENARIO, spread=True),
        Direction("building_firms", "为楼宇找企业", "buildings", "enterprises", FIRM_BUILDING),
        Direction(
            "scenario_firms",
            "为场景找企业",
            "scenarios",
            "enterprises",
            FIRM_SCENARIO,
            refusal="该场景不可推荐",
        ),
    )
}


def for_firm(offer: OfferKind) -> Direction:
    """The direction that ranks buildings or scenarios for a firm."""
    return DIRECTIONS["firm_buildings" if offer == "buildings" else "firm_scenarios"]
