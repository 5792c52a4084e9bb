"""Soft factors (SPEC section 4), each scored 0..1 per pair and vectorised; sides broadcast."""

from __future__ import annotations

import numpy as np

from matcher.constraints import Columns
from models.records import EnterpriseRecord

NO_DISTRICT = -1
"""The district column's value for a city-level scenario (one without a district)."""
SIZE_FIT_EXPONENT = 0.3
"""How gently a building much larger than needed loses area fit: (need / vacant) ** exponent."""
NEUTRAL = 0.5
"""The value of a factor the profile says nothing about (no preferred district, no area need)."""
GENERALIST_INDUSTRY_FIT = 0.4
"""Industry fit of a building or scenario that names no industry: open to all, preferred by none."""
M2_PER_HEAD = 10.0
"""Estimated office area per person when a firm gives a headcount but no area need."""
DEFAULT_NEED_M2 = 200.0
"""The area assumed for a firm that states neither an area need nor a headcount (a team of about 20)."""
BUDGET_PER_HEAD_WAN = 15.0
"""Roughly what one person of a firm delivers in a project's time (万元), to judge budget size fit."""
URGENCY_DAYS = 180.0
"""Deadline urgency halves about every 125 days (e-folding time in days)."""
CITY_LEVEL_DISTRICT_FIT = 0.8
"""A city-level scenario (no district) suits a firm whatever its preferred districts."""


def tenth_percentile(values: np.ndarray) -> float:
    """`np.percentile(values, 10)` (linear interpolation) bit for bit, by one partition and one min."""
    position = (values.size - 1) * 0.1
    below = int(position)
    above = min(below + 1, values.size - 1)
    parted = np.partition(values, below)
    low = parted[below]
    high = parted[above:].min() if above > below else low
    gamma = position - below
    step = high - low
    return float(high - step * (1 - gamma) if gamma >= 0.5 else low + step * gamma)


def rescale(similarity: np.ndarray, low: float, high: float) -> np.ndarray:
    """One query's similarities [n] to 0..1: `high` (the best item's) 1, `low` (a 10th percentile) and
    below 0; clipped as they are when the two meet."""
    if high - low < 1e-6:
        return np.clip(similarity.astype(np.float64), 0.0, 1.0)
    return np.clip((similarity - low) / (high - low), 0.0, 1.0)


def semantic(dense: np.ndarray, lexical: np.ndarray, blend: float) -> np.ndarray:
    """Blend of calibrated (see `rescale`) dense and TF-IDF similarities [n]; `blend`: the TF-IDF share."""
    return (1.0 - blend) * dense + blend * lexical


def industry(query: np.ndarray, items: np.ndarray, items_best: np.ndarray | None = None) -> np.ndarray:
    """Best shared industry: max over industries of the product of confidences ([m,12] × [n,12] → [N]).

    `items_best` [n] is each item's highest confidence, when known already. One query row is scored
    column by column over its named industries only (the others add products of 0, never the max).
    """
    best = items.max(axis=1) if items_best is None else items_best
    if len(query) != 1:
        shared = (query * items).max(axis=1)
        named = np.maximum(query.max(axis=1), best)
        return np.where(
            np.minimum(query.max(axis=1), best) > 0,
            shared,
            np.where(named > 0, GENERALIST_INDUSTRY_FIT, NEUTRAL),
        )
    wanted = query[0]
    columns = np.flatnonzero(wanted)
    if not len(columns):
        return np.where(best > 0, GENERALIST_INDUSTRY_FIT, NEUTRAL)
    shared = wanted[columns[0]] * items[:, columns[0]]
    for column in columns[1:]:
        np.maximum(shared, wanted[column] * items[:, column], out=shared)
    return np.where(best > 0, shared, GENERALIST_INDUSTRY_FIT)


def _pairs(left: int, right: int) -> int:
    """How many pairs two sides make when one of them may be a single row."""
    return right if left == 1 else left


def in_preferred(preferred: np.ndarray, district: np.ndarray) -> np.ndarray:
    """Whether each pair's district is among the firm's preferred ones ([m,12] with [n] → [N])."""
    size = _pairs(len(preferred), len(district))
    rows = np.broadcast_to(np.arange(len(preferred)) if len(preferred) > 1 else np.zeros(1, int), size)
    districts = np.broadcast_to(district, size)
    return np.where(districts == NO_DISTRICT, False, preferred[rows, np.maximum(districts, 0)])


def district(preferred: np.ndarray, item_district: np.ndarray) -> np.ndarray:
    """1 in a preferred district, 0 outside; neutral when the firm names none; city-level scenarios 0.8.

    `preferred` is [m, 12] and `item_district` [n]; one firm's values are looked up per district.
    """
    if len(preferred) == 1:
        if not preferred.any():
            return np.full(len(item_district), NEUTRAL)
        by_district = np.append(preferred[0].astype(np.float64), CITY_LEVEL_DISTRICT_FIT)
        return np.asarray(by_district[item_district])  # NO_DISTRICT (-1) picks the city-level value
    has_preference = np.broadcast_to(preferred.any(axis=1), _pairs(len(preferred), len(item_district)))
    city_level = np.broadcast_to(item_district == NO_DISTRICT, has_preference.shape)
    inside = in_preferred(preferred, item_district).astype(np.float64)
    return np.where(~has_preference, NEUTRAL, np.where(city_level, CITY_LEVEL_DISTRICT_FIT, inside))


def firm_need_m2(firm: EnterpriseRecord) -> float:
    """The ㎡ a firm takes up: its stated need, else headcount × `M2_PER_HEAD`, else `DEFAULT_NEED_M2`."""
    if firm.required_area_m2:
        return float(firm.required_area_m2)
    return firm.headcount * M2_PER_HEAD if firm.headcount else DEFAULT_NEED_M2


def area_need(firm: Columns) -> np.ndarray:
    """The firm's area need, estimated from headcount when not given (NaN when neither is known)."""
    return np.where(np.isnan(firm["need"]), firm["headcount"] * M2_PER_HEAD, firm["need"])


def area(firm: Columns, building: Columns) -> np.ndarray:
    """How well the offer fits the need: divisible to the need, not far larger, and not smaller than it.

    (0.6 · need / max(need, min unit) + 0.4 · min(1, (need / vacant) ** e)) · min(1, vacant / need), worked
    out in two arrays (a table of a million rows pays for every temporary).
    """
    need = area_need(firm)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # a tiny need covers any building
        fit: np.ndarray = np.fmax(need, building["min_unit"])
        np.divide(need, fit, out=fit)  # the unit fit
        fit *= 0.6
        part = np.multiply(need**SIZE_FIT_EXPONENT, building["vacant_root"])  # (need / vacant) ** e
        np.minimum(part, 1.0, out=part)
        part *= 0.4
        fit += part
        # a need estimated from headcount is no hard constraint: a smaller building keeps the share it covers
        np.divide(building["vacant"], need, out=part)
        np.minimum(part, 1.0, out=part)
        fit *= part
    unknown = np.isnan(fit) | (need <= 0)
    np.clip(fit, 0.0, 1.0, out=fit)
    np.copyto(fit, NEUTRAL, where=unknown)
    return fit


def rent(firm: Columns, building: Columns) -> np.ndarray:
    """Headroom under the firm's rent ceiling; without a ceiling, cheaper is mildly better."""
    ceiling = firm["max_rent"]
    without = np.isnan(ceiling) | (ceiling <= 0)
    if without.size == 1:  # one firm: only its own case is worked out
        return _rent_without_ceiling(building) if without.item() else _rent_under(ceiling, building)
    return np.where(without, _rent_without_ceiling(building), _rent_under(ceiling, building))


def _rent_under(ceiling: np.ndarray, building: Columns) -> np.ndarray:
    """0.5 plus the headroom under the ceiling, as a share of it, clipped to 0..1."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # a tiny ceiling: no headroom
        headroom: np.ndarray = np.subtract(ceiling, building["rent"])
        headroom /= ceiling
        headroom += 0.5
    np.clip(headroom, 0.0, 1.0, out=headroom)
    return headroom


def _rent_without_ceiling(building: Columns) -> np.ndarray:
    """Cheaper is mildly better: 1 − rent / 200, clipped to 0..1."""
    share: np.ndarray = np.divide(building["rent"], 200.0)
    np.subtract(1.0, share, out=share)
    np.clip(share, 0.0, 1.0, out=share)
    return share


def fit_out(firm: Columns, building: Columns) -> np.ndarray:
    """Move-in-ready best, then basic, then shell (a firm needing move-in-ready only sees ready ones)."""
    shape = np.broadcast_shapes(firm["needs_ready"].shape, building["fit_level"].shape)
    return np.asarray(np.broadcast_to(building["fit_level"], shape), dtype=np.float64)


def amenities(firm: Columns, building: Columns) -> np.ndarray:
    """Share of the usual amenities a building offers."""
    shape = np.broadcast_shapes(firm["needs_ready"].shape, building["amenities"].shape)
    return np.asarray(np.broadcast_to(building["amenities"], shape), dtype=np.float64)


def cluster(
    query_industries: np.ndarray, building_district: np.ndarray, district_shares: np.ndarray
) -> np.ndarray:
    """Peers in the district: how strongly the building's district gathers the firm's industry (0..1).

    `query_industries` is [m, 12], `building_district` [n] and `district_shares` [districts, 12].
    """
    if len(query_industries) == 1:
        per_district = (query_industries * district_shares).max(axis=1)
        return np.asarray(np.asarray(per_district, dtype=np.float64)[building_district])
    shares = district_shares[building_district]
    return np.asarray((query_industries * shares).max(axis=1), dtype=np.float64)


def incentives(firm: Columns, building: Columns) -> np.ndarray:
    """1 when the building offers new-entrant support and the firm is not barred from it."""
    return (building["incentives"] & ~firm["incentives_barred"]).astype(np.float64)


def budget(firm: Columns, scenario: Columns) -> np.ndarray:
    """Whether a scenario's budget suits the firm's size: far too big or far too small fits worse."""
    with np.errstate(invalid="ignore", divide="ignore"):
        capacity = np.maximum(firm["headcount"], 1.0) * BUDGET_PER_HEAD_WAN
        ratio = np.log(scenario["budget"] / capacity)
        penalty = np.where(ratio > 0, ratio, -ratio / 2.0)
        fit = np.exp(-penalty / 1.5)
    return np.where(np.isnan(fit), NEUTRAL, fit)


def urgency(scenario: Columns, today: int) -> np.ndarray:
    """Closer deadlines are more urgent; open-ended scenarios are a little urgent."""
    days_left = np.maximum(scenario["deadline"] - today, 0.0)
    return np.where(np.isnan(days_left), 0.3, np.exp(-days_left / URGENCY_DAYS))
