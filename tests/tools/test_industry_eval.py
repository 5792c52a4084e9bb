"""The industry evaluation tables: top-1, accepted secondaries, top-3, silence and calibration."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.industry import INDUSTRY_CODES
from matcher.industry_model import Labelled
from tools.industry_eval import STYLES, calibration_error, items, ranked, score, table


def _item(text: str, style: str, industry: str, *also: str) -> Labelled:
    """One labelled firm text."""
    return Labelled(text, industry, also, style, "firm")


FOUND = [
    _item("甲", "terse", "ai"),
    _item("乙", "terse", "ai", "info_security"),
    _item("丙", "indirect", "ic_design"),
    _item("丁", "indirect", "data_services"),
]


def test_score_counts_first_guesses_accepted_secondaries_top_three_and_silence() -> None:
    guesses = [["ai"], ["info_security", "software_dev"], [], ["ai", "it_services", "data_services"]]
    result = score(FOUND, guesses)
    assert result.items == 4
    assert result.top1 == pytest.approx(1 / 4)
    assert result.accepted == pytest.approx(2 / 4)  # 乙's secondary label counts as accepted only
    assert result.top3 == pytest.approx(2 / 4)
    assert result.none == pytest.approx(1 / 4)


def test_ranked_orders_by_probability_and_drops_what_is_below_the_floor() -> None:
    probabilities = np.zeros((2, len(INDUSTRY_CODES)))
    probabilities[0, [1, 4]] = [0.3, 0.7]
    assert ranked(probabilities, 0.0) == [[INDUSTRY_CODES[4], INDUSTRY_CODES[1]], []]
    assert ranked(probabilities, 0.5) == [[INDUSTRY_CODES[4]], []]


def test_calibration_error_is_zero_when_confidence_equals_accuracy_and_large_when_overconfident() -> None:
    found = [_item(str(i), "terse", "ai") for i in range(10)]
    right, wrong = INDUSTRY_CODES.index("ai"), INDUSTRY_CODES.index("ic_design")
    honest = np.zeros((10, len(INDUSTRY_CODES)))
    honest[:, right], honest[:, wrong] = 0.6, 0.4
    honest[:4, right], honest[:4, wrong] = 0.4, 0.6  # every first guess at 0.6, and 6 of 10 right
    assert calibration_error(found, honest) == pytest.approx(0.0)
    overconfident = np.zeros((10, len(INDUSTRY_CODES)))
    overconfident[:, wrong] = 0.99
    assert calibration_error(found, overconfident) == pytest.approx(0.99)


def test_the_tables_have_every_style_and_industry_of_the_frozen_set() -> None:
    firms = items("firms")
    everyone = {"lexicon": [["software_dev"]] * len(firms), "combined": [["ai"]] * len(firms)}
    by_style = table(firms, everyone, "style")
    assert [line.split(" | ")[0].strip("| ") for line in by_style[2:]] == ["all", *STYLES]
    software = sum(item.industry == "software_dev" for item in firms) / len(firms)
    ai = sum(item.industry == "ai" for item in firms) / len(firms)
    assert by_style[2].startswith(f"| all | {len(firms)} | {software:.2f} |")
    assert f"| {ai:.2f} |" in by_style[2]
    by_industry = table(firms, everyone, "industry")
    assert [line.split(" | ")[0].strip("| ") for line in by_industry[2:]] == ["all", *INDUSTRY_CODES]
