"""Capacity (SPEC §8): the area leads take off buildings' ledger vacancy, and the firms placed in one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.building import Building
from models.catalogue_stamp import bump
from models.clock import china_date
from models.lead import PLACING, Lead, LeadKind, Stage

CAPACITY_STAMP = "capacity"
"""The `catalogue_stamp` row counting capacity changes, so that every process sees them."""


@dataclass(frozen=True)
class Capacity:
    """Per building, the ㎡ leads have taken off its ledger vacancy; and the firms already placed."""

    taken: Mapping[str, float] = field(default_factory=dict)
    placed: frozenset[str] = frozenset()
    """Enterprises with a signed or moved-in building lead: no longer offered for buildings."""


def ledger_knows(moved_in_on: date, recorded_at: datetime, vacancy_as_of: datetime) -> bool:
    """Whether the ledger's vacancy, written at `vacancy_as_of`, already reflects a move-in.

    A move-in dated before the ledger's day is in it; one dated on that day is in it when it was
    recorded before the ledger was written; a later one is not.
    """
    ledger_day = china_date(vacancy_as_of)
    return moved_in_on < ledger_day or (moved_in_on == ledger_day and recorded_at <= vacancy_as_of)


def capacity_write(session: Session) -> tuple[int, Capacity]:
    """Count a capacity change in the caller's transaction: the new stamp and capacity as it now stands."""
    session.flush()
    return bump(session, CAPACITY_STAMP), load_capacity(session)


def load_capacity(session: Session) -> Capacity:
    """Capacity as stored: signed area, and moved-in area the ledger does not yet reflect, per building."""
    statement = (
        sa.select(
            Lead.enterprise_id,
            Lead.building_id,
            Lead.stage,
            Lead.signed_area_m2,
            Lead.moved_in_on,
            Lead.stage_at,
            Building.vacancy_as_of,
        )
        .join(Building, Building.id == Lead.building_id, isouter=True)
        .where(Lead.kind == LeadKind.building, Lead.stage.in_(PLACING))
    )
    taken: dict[str, float] = defaultdict(float)
    placed: set[str] = set()
    for firm, building, stage, area, moved_in_on, recorded_at, vacancy_as_of in session.execute(statement):
        placed.add(firm)
        if building is None or vacancy_as_of is None or not area:
            continue
        if (
            stage == Stage.signed
            or moved_in_on is None
            or not ledger_knows(moved_in_on, recorded_at, vacancy_as_of)
        ):
            taken[building] += float(area)
    return Capacity(dict(taken), frozenset(placed))
