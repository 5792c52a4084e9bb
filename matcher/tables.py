"""Column arrays of one kind of record, so that constraints and factors are vectorised, not looped."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from matcher.factors import NO_DISTRICT
from matcher.registry import factor_columns, numbers
from models.enums import District, FitOut, ScenarioStatus
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord

DISTRICTS: tuple[District, ...] = tuple(District)
DISTRICT_ROW: dict[str, int] = {district.value: row for row, district in enumerate(DISTRICTS)}
NAN = float("nan")


def _buildings(records: Sequence[BuildingRecord]) -> dict[str, np.ndarray]:
    """What the hard constraints, the spread and several factors read of buildings."""
    return {
        "district": np.array([DISTRICT_ROW[r.district] for r in records], dtype=np.int64),
        "vacant": np.array([r.vacant_area_m2 for r in records], dtype=np.float64),
        "rent": np.array([r.rent_yuan_m2_month for r in records], dtype=np.float64),
        "ready": np.array([r.fit_out == FitOut.move_in_ready for r in records], dtype=bool),
    }


def _enterprises(records: Sequence[EnterpriseRecord]) -> dict[str, np.ndarray]:
    """What the hard constraints and several factors read of firms; `preferred` is [n, 12] over DISTRICTS.

    `placed` (a firm that signed for a building) is set by the recommender from its capacity.
    """
    preferred = np.zeros((len(records), len(DISTRICTS)), dtype=bool)
    for row, record in enumerate(records):
        for district in record.preferred_districts:
            preferred[row, DISTRICT_ROW[district]] = True
    return {
        "need": numbers([r.required_area_m2 for r in records]),
        "max_rent": numbers([r.max_rent_yuan_m2_month for r in records]),
        "needs_ready": np.array([r.needs_move_in_ready for r in records], dtype=bool),
        "preferred": preferred,
        "headcount": numbers([r.headcount for r in records]),
        "placed": np.zeros(len(records), dtype=bool),
    }


def _scenarios(records: Sequence[ScenarioRecord]) -> dict[str, np.ndarray]:
    """What the hard constraints, the spread and several factors read of scenarios; deadlines as ordinals."""
    return {
        "open": np.array([r.status == ScenarioStatus.open for r in records], dtype=bool),
        "deadline": np.array([NAN if r.deadline is None else r.deadline.toordinal() for r in records]),
        "district": np.array(
            [NO_DISTRICT if r.district is None else DISTRICT_ROW[r.district] for r in records], dtype=np.int64
        ),
    }


SHARED: dict[RecordKind, Callable[[Sequence[Any]], dict[str, np.ndarray]]] = {
    "buildings": _buildings,
    "enterprises": _enterprises,
    "scenarios": _scenarios,
}


def sample_keys(records: Sequence[CatalogueRecord]) -> np.ndarray:
    """A stable pseudo-random key per record, from its id alone: [n] uint64 (`ItemTable.calibration_rows`)."""
    digests = b"".join(hashlib.blake2b(record.id.encode(), digest_size=8).digest() for record in records)
    return np.frombuffer(digests, dtype=np.uint64).copy()


def columns_of(kind: RecordKind, records: Sequence[CatalogueRecord]) -> dict[str, np.ndarray]:
    """Every column of records of one kind, each [n] (or [n, 12] for `preferred`): shared, then factors'."""
    factor_owned = {name: build(records) for name, build in factor_columns(kind).items()}
    return SHARED[kind](records) | factor_owned | {"sample_key": sample_keys(records)}
