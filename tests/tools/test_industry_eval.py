"""The industry evaluation table: counts right guesses by style, primary or secondary label alike."""

from __future__ import annotations

import pytest

from tools.industry_eval import STYLES, Item, items, score, table


def test_score_counts_first_guesses_top_three_and_silence() -> None:
    found = [
        Item("甲", "terse", frozenset({"ai"})),
        Item("乙", "terse", frozenset({"ai", "info_security"})),
        Item("丙", "indirect", frozenset({"ic_design"})),
        Item("丁", "indirect", frozenset({"data_services"})),
    ]
    answers = {
        "甲": ["ai"],
        "乙": ["software_dev", "info_security"],
        "丙": [],
        "丁": ["ai", "it_services", "data_services"],
    }
    result = score(found, lambda text: answers[text])
    assert result.items == 4
    assert result.top1 == pytest.approx(1 / 4)
    assert result.top3 == pytest.approx(3 / 4)
    assert result.none == pytest.approx(1 / 4)


def test_the_table_has_every_style_of_the_frozen_set() -> None:
    lines = table("firms", lambda text: ["software_dev"])
    assert [line.split(" | ")[0].strip("| ") for line in lines[2:]] == ["all", *STYLES]
    software = sum("software_dev" in item.labels for item in items("firms"))
    assert lines[2].startswith(f"| all | {len(items('firms'))} | {software / len(items('firms')):.2f} |")
