"""Hard constraints and soft factors, one behaviour at a time, on small column arrays."""

from __future__ import annotations

import warnings
from datetime import date, timedelta

import numpy as np
import pytest

from matcher import factors
from matcher.constraints import building_violations, eligible, scenario_violations
from matcher.factors import NO_DISTRICT
from matcher.tables import DISTRICT_ROW, columns_of
from models.enums import Amenity, ScenarioStatus
from models.incentives import IncentiveStanding, incentive_standing
from models.records import BuildingRecord, EnterpriseRecord, ScenarioRecord
from models.scenario import takes_applications
from tests.files import building, enterprise, scenario

TODAY = date(2026, 12, 1).toordinal()


def firm_cols(**overrides: object) -> dict[str, np.ndarray]:
    """Columns of one firm."""
    return columns_of("enterprises", [EnterpriseRecord.model_validate(enterprise(**overrides))])


def building_cols(*variants: dict[str, object]) -> dict[str, np.ndarray]:
    """Columns of buildings, one per variant of the sample building."""
    return columns_of("buildings", [BuildingRecord.model_validate(building(**v)) for v in variants])


def scenario_cols(*variants: dict[str, object]) -> dict[str, np.ndarray]:
    """Columns of scenarios, one per variant of the sample scenario."""
    return columns_of("scenarios", [ScenarioRecord.model_validate(scenario(**v)) for v in variants])


def test_building_constraints_each_exclude_their_own_case() -> None:
    firm = firm_cols(required_area_m2=900, max_rent_yuan_m2_month=90, needs_move_in_ready=True)
    rows = building_cols(
        {},
        {"vacant_area_m2": 800, "min_unit_m2": None},
        {"rent_yuan_m2_month": 95},
        {"fit_out": "basic"},
        {"vacant_area_m2": 900, "rent_yuan_m2_month": 90},
    )
    violations = building_violations(firm, rows)
    assert violations["area"].tolist() == [False, True, False, False, False]
    assert violations["rent"].tolist() == [False, False, True, False, False]
    assert violations["fit_out"].tolist() == [False, False, False, True, False]
    assert eligible(violations).tolist() == [True, False, False, False, True]


def test_absent_needs_constrain_nothing() -> None:
    firm = firm_cols(required_area_m2=None, max_rent_yuan_m2_month=None, needs_move_in_ready=False)
    rows = building_cols(
        {"vacant_area_m2": 50, "min_unit_m2": None}, {"rent_yuan_m2_month": 149, "fit_out": "shell"}
    )
    assert eligible(building_violations(firm, rows)).all()


def test_scenario_constraints() -> None:
    rows = scenario_cols(
        {},
        {"status": "closed"},
        {"status": "awarded"},
        {"budget_wan_yuan": None},
        {"deadline": "2026-11-30"},
        {"deadline": "2026-12-01"},
        {"deadline": None},
    )
    assert eligible(scenario_violations(rows, TODAY)).tolist() == [
        True,
        False,
        False,
        False,
        False,
        True,
        True,
    ]


def test_rescale_maps_best_to_one_and_low_tail_to_zero() -> None:
    similarities = np.linspace(0.7, 0.9, 21)
    values = factors.rescale(similarities, factors.tenth_percentile(similarities), float(similarities.max()))
    assert values[-1] == pytest.approx(1.0)
    assert values[0] == 0.0
    assert (np.diff(values) >= 0).all()
    assert values[2] == 0.0  # the 10th percentile (0.72) and below are 0
    assert values[3] > 0.0


def test_industry_fit_shared_generalist_and_unrelated() -> None:
    query = np.zeros((1, 12))
    query[0, 4] = 0.9
    items = np.zeros((3, 12))
    items[0, 4] = 1.0
    items[2, 1] = 1.0
    fit = factors.industry(query, items)
    assert fit[0] == pytest.approx(0.9)
    assert fit[1] == factors.GENERALIST_INDUSTRY_FIT
    assert fit[2] == 0.0


def test_district_fit() -> None:
    preferred = np.zeros((1, 12), dtype=bool)
    preferred[0, DISTRICT_ROW["渝北区"]] = True
    districts = np.array([DISTRICT_ROW["渝北区"], DISTRICT_ROW["渝中区"], NO_DISTRICT])
    assert factors.district(preferred, districts).tolist() == [1.0, 0.0, factors.CITY_LEVEL_DISTRICT_FIT]
    assert factors.district(np.zeros((1, 12), dtype=bool), districts).tolist() == [factors.NEUTRAL] * 3


def test_area_fit_prefers_offers_close_to_the_need() -> None:
    firm = firm_cols(required_area_m2=800)
    rows = building_cols(
        {"vacant_area_m2": 900, "min_unit_m2": None},
        {"vacant_area_m2": 8000, "min_unit_m2": None},
        {"vacant_area_m2": 8000, "min_unit_m2": 4000},
    )
    fit = factors.area(firm, rows)
    assert fit[0] > fit[1] > fit[2]


def test_area_need_is_estimated_from_headcount() -> None:
    firm = firm_cols(required_area_m2=None, headcount=50)
    assert factors.area_need(firm)[0] == 50 * factors.M2_PER_HEAD
    assert (
        factors.area(firm_cols(required_area_m2=None, headcount=None), building_cols({}))[0]
        == factors.NEUTRAL
    )


def test_area_from_headcount_scores_a_building_far_too_small_low() -> None:
    firm = firm_cols(required_area_m2=None, headcount=100)  # about 1,000 ㎡, not a hard constraint
    rows = building_cols(
        {"vacant_area_m2": 1000, "min_unit_m2": None},
        {"vacant_area_m2": 500, "min_unit_m2": None},
        {"vacant_area_m2": 100, "min_unit_m2": None},
    )
    fit = factors.area(firm, rows)
    assert fit[0] == pytest.approx(1.0)
    assert fit[1] == pytest.approx(0.5)
    assert fit[2] == pytest.approx(0.1)


def test_rent_headroom() -> None:
    rows = building_cols({"rent_yuan_m2_month": 40}, {"rent_yuan_m2_month": 80}, {"rent_yuan_m2_month": 90})
    fit = factors.rent(firm_cols(max_rent_yuan_m2_month=90), rows)
    assert fit[0] > fit[1] > fit[2]
    assert fit[2] == pytest.approx(0.5)
    no_ceiling = factors.rent(firm_cols(max_rent_yuan_m2_month=None), rows)
    assert no_ceiling[0] > no_ceiling[2]


def test_a_vanishing_rent_ceiling_leaves_no_headroom_without_a_warning() -> None:
    rows = building_cols({"rent_yuan_m2_month": 40}, {"rent_yuan_m2_month": 0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the division overflows: a warning would be an error here
        fit = factors.rent(firm_cols(max_rent_yuan_m2_month=1e-310), rows)
    assert fit.tolist() == [0.0, 1.0]


def test_fit_out_amenities_and_incentives() -> None:
    rows = building_cols(
        {"fit_out": "move_in_ready", "amenities": ["metro", "canteen", "gym", "incubator", "parking"]},
        {"fit_out": "shell", "amenities": None, "incentives": None},
    )
    firm = firm_cols(origin="outside_city")
    assert factors.fit_out(firm, rows).tolist() == [1.0, 0.3]
    assert factors.amenities(firm, rows).tolist() == [1.0, 0.0]
    assert factors.incentives(firm, rows).tolist() == [1.0, 0.0]
    assert factors.incentives(firm_cols(origin="in_city_relocation"), rows).tolist() == [0.0, 0.0]
    assert factors.incentives(firm_cols(origin=None), rows).tolist() == [1.0, 0.0]


def test_unknown_and_repeated_amenities_count_for_nothing() -> None:
    known = ["metro", "canteen", "gym", "incubator"]
    rows = building_cols({"amenities": known}, {"amenities": [*known, "metro", "rooftop_bar", "地铁"]})
    assert factors.amenities(firm_cols(), rows).tolist() == [0.8, 0.8]
    assert Amenity.among(["rooftop_bar", "metro", "地铁"]) == [Amenity.metro]
    assert [Amenity.label_of(name) for name in ("metro", "rooftop_bar")] == ["地铁", "rooftop_bar"]


@pytest.mark.parametrize(
    ("origin", "standing"),
    [
        ("in_city_relocation", IncentiveStanding.ineligible),
        ("outside_city", IncentiveStanding.eligible),
        ("new_startup", IncentiveStanding.eligible),
        (None, IncentiveStanding.unknown),
    ],
)
def test_in_city_relocations_alone_get_no_incentives(origin: str | None, standing: IncentiveStanding) -> None:
    firm = EnterpriseRecord.model_validate(enterprise(origin=origin))
    assert incentive_standing(firm.origin) == standing
    barred = firm_cols(origin=origin)["incentives_barred"].tolist()
    assert barred == [standing == IncentiveStanding.ineligible]


def test_cluster_follows_the_district_share_of_the_industry() -> None:
    shares = np.zeros((12, 12))
    shares[DISTRICT_ROW["重庆高新区"], 1] = 1.0
    shares[DISTRICT_ROW["渝中区"], 1] = 0.25
    query = np.zeros((1, 12))
    query[0, 1] = 1.0
    districts = np.array([DISTRICT_ROW["重庆高新区"], DISTRICT_ROW["渝中区"], DISTRICT_ROW["巴南区"]])
    assert factors.cluster(query, districts, shares).tolist() == [1.0, 0.25, 0.0]


def test_budget_fit_peaks_near_what_the_firm_can_deliver() -> None:
    rows = scenario_cols({"budget_wan_yuan": 150}, {"budget_wan_yuan": 3000}, {"budget_wan_yuan": 5})
    fit = factors.budget(firm_cols(headcount=10), rows)
    assert fit[0] == pytest.approx(1.0)
    assert fit[0] > fit[2] > fit[1]


def test_urgency_decreases_with_days_left() -> None:
    rows = scenario_cols({"deadline": "2026-12-10"}, {"deadline": "2027-06-01"}, {"deadline": None})
    urgency = factors.urgency(rows, TODAY)
    assert urgency[0] > urgency[1]
    assert urgency[2] == pytest.approx(0.3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tenth_percentile_equals_numpy_bit_for_bit(dtype: type[np.floating]) -> None:
    rng = np.random.default_rng(5)
    for size in [*range(1, 40), 99, 100, 101, 320, 1_000, 12_345]:
        values = rng.normal(size=size).astype(dtype)
        values[rng.integers(size, size=size // 3)] = values[0]  # ties
        kept = values.copy()
        assert factors.tenth_percentile(values) == float(np.percentile(values, 10)), size
        assert np.array_equal(values, kept)  # the caller's array is not reordered


def test_the_scenario_constraints_keep_exactly_what_takes_applications() -> None:
    day = date.fromordinal(TODAY)
    deadlines = (None, day - timedelta(days=1), day, day + timedelta(days=1))
    cases = [(status, deadline) for status in ScenarioStatus for deadline in deadlines]
    variants: list[dict[str, object]] = [{"status": status.value, "deadline": end} for status, end in cases]
    rows = scenario_cols(*variants)
    kept = eligible(scenario_violations(rows, TODAY)).tolist()
    assert kept == [takes_applications(status, deadline, day) for status, deadline in cases]
    assert sum(kept) == 3


def test_firms_scored_together_against_one_building_score_as_each_alone() -> None:
    """The one-firm shortcuts (a ceiling or none; the need) agree with the many-firm arrays, bit for bit."""
    variants: list[dict[str, object]] = [
        {"max_rent_yuan_m2_month": 90, "required_area_m2": 800},
        {"max_rent_yuan_m2_month": None, "required_area_m2": None, "headcount": 30},
        {"max_rent_yuan_m2_month": 0.0, "required_area_m2": None, "headcount": None},
        {"max_rent_yuan_m2_month": 1e-310, "required_area_m2": 5000},
    ]
    records = [EnterpriseRecord.model_validate(enterprise(**v)) for v in variants]
    together = columns_of("enterprises", records)
    rows = building_cols({"rent_yuan_m2_month": 80, "vacant_area_m2": 900, "min_unit_m2": 300})
    for factor in (factors.rent, factors.area, factors.fit_out, factors.amenities):
        alone = [factor(columns_of("enterprises", [record]), rows)[0] for record in records]
        assert factor(together, rows).tolist() == alone, factor.__name__
