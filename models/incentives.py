"""Who gets a building's new-entrant incentives (SPEC §2: in-city relocations get none)."""

from __future__ import annotations

from models.enums import LabelledEnum, Origin


class IncentiveStanding(LabelledEnum):
    """A firm's standing for new-entrant incentives, with the word the pages show for it."""

    eligible = "eligible", "可享受"
    ineligible = "ineligible", "不适用"
    unknown = "unknown", "待核实"
    """The firm's origin is not given: eligible unless it turns out to be an in-city relocation."""


def incentive_standing(origin: Origin | None) -> IncentiveStanding:
    """In-city relocations are not eligible; a firm of unknown origin is eligible until shown otherwise."""
    if origin == Origin.in_city_relocation:
        return IncentiveStanding.ineligible
    return IncentiveStanding.unknown if origin is None else IncentiveStanding.eligible
