"""Hard constraints (SPEC section 4): a pair that breaks one is never shown. Vectorised over pairs."""

from __future__ import annotations

import numpy as np

Columns = dict[str, np.ndarray]

# The order of each table (and of the masks the functions below return) is the order an excluded pair
# is counted in: once, under the first constraint it breaks.
BUILDING_CONSTRAINTS = {
    "area": "可租面积小于需求面积",
    "rent": "租金高于企业租金上限",
    "fit_out": "企业需要拎包入住，楼宇未达拎包入住标准",
    "full": "楼宇面积已全部签约或入驻",
    "placed": "企业已签约或入驻楼宇",
}
SCENARIO_CONSTRAINTS = {
    "status": "场景未处于征集状态（草稿、已截止或已揭榜）",
    "deadline": "场景已过截止日期",
}


def building_violations(firm: Columns, building: Columns) -> dict[str, np.ndarray]:
    """Which firm–building pairs break each constraint; sides broadcast (one side may have length 1)."""
    with np.errstate(invalid="ignore"):
        return {
            "area": ~np.isnan(firm["need"]) & (firm["need"] > building["vacant"]),
            "rent": ~np.isnan(firm["max_rent"]) & (building["rent"] > firm["max_rent"]),
            "fit_out": firm["needs_ready"] & ~building["ready"],
            "full": building["vacant"] <= 0,
            "placed": firm["placed"],
        }


def scenario_violations(scenario: Columns, today: int) -> dict[str, np.ndarray]:
    """Which scenarios cannot be recommended on the day `today` (an ordinal)."""
    with np.errstate(invalid="ignore"):
        return {
            "status": ~scenario["open"],
            "deadline": ~np.isnan(scenario["deadline"]) & (scenario["deadline"] < today),
        }


def eligible(violations: dict[str, np.ndarray]) -> np.ndarray:
    """True where no constraint is broken."""
    masks = list(violations.values())
    broken = np.logical_or.reduce(np.broadcast_arrays(*masks)) if masks else np.zeros(0, dtype=bool)
    return ~np.asarray(broken, dtype=bool)
