"""What leads do to each other, settled in the order things happened.

A firm signs for one building: when it signs, its other building leads are lost soon after (or on
the day their next step was due). A building is never signed beyond its vacancy: a signing that finds
less room than planned takes what is left when that is most of it, else the lead is lost for space.
A scenario has one winner: a later `won` of the same scenario becomes `not_won`.

The vacancy is the ledger's as loaded today, which already counts the firms that moved in, so the area
a signing holds is given back when its lead moves in (or is lost): only signed-not-moved-in area is
taken, as `models.capacity` counts it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import numpy as np

from demo.plan import Plan, Step, later
from demo.staff import COMPETITOR_SIGNED, NO_SPACE, OTHER_WINNER
from models.lead import FINAL, LostReason, Stage
from models.lead_facts import StageFacts
from models.records import BuildingRecord

AREA_STEP = 10.0
"""Signed areas are whole multiples of this (㎡)."""
SHRINK_LIMIT = 0.7
"""A firm takes the room left when it is at least this share of what it meant to sign."""
WITHDRAWAL_DAYS = (10.0, 0.5)
"""Median days and log-spread until staff close a firm's other leads once it has signed elsewhere."""


def settle(plans: Sequence[Plan], end: date, rng: np.random.Generator) -> None:
    """Apply the rules between leads to the plans (steps on or after `end` are already cut off)."""
    _place_firms([plan for plan in plans if isinstance(plan.pair.offer, BuildingRecord)], end, rng)
    _award_scenarios([plan for plan in plans if not isinstance(plan.pair.offer, BuildingRecord)])


def _place_firms(plans: Sequence[Plan], end: date, rng: np.random.Generator) -> None:
    """Signings in order of day: one building per firm, never beyond a building's vacancy."""
    of_firm: dict[str, list[Plan]] = defaultdict(list)
    for plan in plans:
        of_firm[plan.pair.firm.id].append(plan)
    held: dict[str, list[tuple[float, date | None]]] = defaultdict(list)
    """Per building: each signing's area and the day it is given back (None: still held)."""
    placed: set[str] = set()
    signings = sorted(
        (step.day, index) for index, plan in enumerate(plans) if (step := plan.step(Stage.signed))
    )
    for day, index in signings:
        plan = plans[index]
        signed = plan.step(Stage.signed)
        if signed is None:  # lost meanwhile: the firm signed elsewhere first
            continue
        firm, building = plan.pair.firm.id, plan.pair.offer
        assert isinstance(building, BuildingRecord)
        if firm in placed:
            plan.lose(day, end, LostReason.competitor, COMPETITOR_SIGNED)
            continue
        taken = sum(area for area, until in held[building.id] if until is None or until > day)
        area = _room(signed, building.vacant_area_m2 - taken)
        if area is None:
            plan.lose(day, end, LostReason.space, NO_SPACE)
            continue
        plan.revise(Stage.signed, signed.facts.model_copy(update={"signed_area_m2": area}))
        ending = plan.after(Stage.signed)
        held[building.id].append((area, ending.day if ending else None))
        placed.add(firm)
        for other in of_firm[firm]:
            if other is not plan:
                _withdraw(other, day, end, rng)


def _room(signed: Step, available: float) -> float | None:
    """The area a signing takes given the room left: as planned, what is left, or None (too little)."""
    wanted = signed.facts.signed_area_m2 or 0.0
    if wanted <= available:
        return wanted
    left = math.floor(available / AREA_STEP) * AREA_STEP
    return left if left > 0 and left >= SHRINK_LIMIT * wanted else None


def _withdraw(plan: Plan, signed_on: date, end: date, rng: np.random.Generator) -> None:
    """Lose a firm's other lead once it has signed elsewhere, unless it had already ended before."""
    last = plan.steps[-1]
    if last.stage in FINAL and last.day < signed_on:
        return
    due = [step.day for step in plan.steps if step.day >= signed_on]
    day = later(signed_on, *WITHDRAWAL_DAYS, rng)
    plan.lose(min([day, *due]), end, LostReason.competitor, COMPETITOR_SIGNED)


def _award_scenarios(plans: Sequence[Plan]) -> None:
    """Wins in order of day: the first of a scenario stands, a later one is `not_won`."""
    awarded: set[str] = set()
    wins = sorted((step.day, index) for index, plan in enumerate(plans) if (step := plan.step(Stage.won)))
    for day, index in wins:
        plan = plans[index]
        scenario = plan.pair.offer.id
        if scenario in awarded:
            plan.steps[-1] = Step(Stage.not_won, day, StageFacts(), OTHER_WINNER)
        awarded.add(scenario)
