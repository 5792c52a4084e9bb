"""Column arrays of one kind of record, so that constraints and factors are vectorised, not looped."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from models.enums import District, FitOut, Origin, ScenarioStatus
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord

DISTRICTS: tuple[District, ...] = tuple(District)
DISTRICT_ROW: dict[str, int] = {district.value: row for row, district in enumerate(DISTRICTS)}
NO_DISTRICT = -1
FIT_OUT_LEVEL = {FitOut.move_in_ready: 1.0, FitOut.basic: 0.6, FitOut.shell: 0.3}
KNOWN_AMENITIES = frozenset(
    {
        "incubator",
        "canteen",
        "talent_apartment",
        "metro",
        "parking",
        "gym",
        "meeting_center",
        "data_center",
        "shuttle_bus",
    }
)
AMENITIES_FOR_FULL_SCORE = 5
NAN = float("nan")


def _float(value: float | None) -> float:
    """A number, or NaN for an absent one."""
    return NAN if value is None else float(value)


SIZE_FIT_EXPONENT = 0.3
"""How gently a building much larger than needed loses area fit: (need / vacant) ** exponent."""


def building_columns(records: Sequence[BuildingRecord]) -> dict[str, np.ndarray]:
    """Attribute columns of buildings; `vacant_root` is vacant ** −SIZE_FIT_EXPONENT, for the area factor."""
    vacant = np.array([r.vacant_area_m2 for r in records], dtype=np.float64)
    return {
        "district": np.array([DISTRICT_ROW[r.district] for r in records], dtype=np.int64),
        "vacant": vacant,
        "vacant_root": vacant**-SIZE_FIT_EXPONENT,
        "min_unit": np.array([_float(r.min_unit_m2) for r in records], dtype=np.float64),
        "rent": np.array([r.rent_yuan_m2_month for r in records], dtype=np.float64),
        "ready": np.array([r.fit_out == FitOut.move_in_ready for r in records], dtype=bool),
        "fit_level": np.array([FIT_OUT_LEVEL[r.fit_out] for r in records], dtype=np.float64),
        "amenities": np.array(
            [
                min(1.0, len(KNOWN_AMENITIES.intersection(r.amenities)) / AMENITIES_FOR_FULL_SCORE)
                for r in records
            ],
            dtype=np.float64,
        ),
        "incentives": np.array([bool(r.incentives) for r in records], dtype=bool),
    }


def enterprise_columns(records: Sequence[EnterpriseRecord]) -> dict[str, np.ndarray]:
    """Attribute columns of firms; `preferred` is [n, 12] booleans over DISTRICTS."""
    preferred = np.zeros((len(records), len(DISTRICTS)), dtype=bool)
    for row, record in enumerate(records):
        for district in record.preferred_districts:
            preferred[row, DISTRICT_ROW[district]] = True
    return {
        "need": np.array([_float(r.required_area_m2) for r in records], dtype=np.float64),
        "max_rent": np.array([_float(r.max_rent_yuan_m2_month) for r in records], dtype=np.float64),
        "needs_ready": np.array([r.needs_move_in_ready for r in records], dtype=bool),
        "preferred": preferred,
        "headcount": np.array([_float(r.headcount) for r in records], dtype=np.float64),
        "in_city": np.array([r.origin == Origin.in_city_relocation for r in records], dtype=bool),
    }


def scenario_columns(records: Sequence[ScenarioRecord]) -> dict[str, np.ndarray]:
    """Attribute columns of scenarios; deadlines as ordinal days (NaN when open-ended)."""
    return {
        "open": np.array([r.status == ScenarioStatus.open for r in records], dtype=bool),
        "deadline": np.array([NAN if r.deadline is None else r.deadline.toordinal() for r in records]),
        "budget": np.array([_float(r.budget_wan_yuan) for r in records], dtype=np.float64),
        "district": np.array(
            [NO_DISTRICT if r.district is None else DISTRICT_ROW[r.district] for r in records], dtype=np.int64
        ),
    }


COLUMNS: dict[RecordKind, Callable[[Sequence[Any]], dict[str, np.ndarray]]] = {
    "buildings": building_columns,
    "enterprises": enterprise_columns,
    "scenarios": scenario_columns,
}


def columns_of(kind: RecordKind, records: Sequence[CatalogueRecord]) -> dict[str, np.ndarray]:
    """Attribute columns of records of one kind, each [n] (or [n, 12] for `preferred`)."""
    return COLUMNS[kind](records)
