"""The frozen industry evaluation set: well-formed, labelled with the twelve codes, balanced over styles."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from models.enums import Industry

EVAL_DIR = Path(__file__).resolve().parents[2] / "matcher" / "industry_eval"
FILES = {"firms": ("EF", 15, 3), "scenarios": ("ES", 10, 2)}
"""Per file: the id prefix, the least items per industry and the least items per (industry, style)."""
STYLE_LENGTHS = {
    "terse": (8, 25),
    "brochure": (60, 200),
    "call_notes": (40, 150),
    "acronym": (20, 120),
    "indirect": (30, 150),
}
"""The styles and the length in characters each one was written to."""
FIELDS = {"id", "text", "style", "industry", "also"}
CODES = {member.value for member in Industry}


def _rows(name: str) -> list[dict[str, Any]]:
    """The records of one JSONL file of the set, in file order."""
    lines = (EVAL_DIR / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _normalised(text: str) -> str:
    """The text without whitespace and punctuation, lower-cased, to catch duplicates that differ in marks."""
    return re.sub(r"[\W_]+", "", text).lower()


@pytest.mark.parametrize("name", sorted(FILES))
def test_records_are_well_formed(name: str) -> None:
    """Every record has the five fields, a known style, known codes and a text of its style's length."""
    prefix = FILES[name][0]
    for row in _rows(name):
        assert set(row) == FIELDS, row
        assert re.fullmatch(rf"{prefix}\d{{3}}", row["id"]), row["id"]
        assert row["style"] in STYLE_LENGTHS, row
        assert row["industry"] in CODES, row
        assert isinstance(row["also"], list), row
        assert set(row["also"]) <= CODES, row
        assert row["industry"] not in row["also"], row
        assert len(set(row["also"])) == len(row["also"]), row
        low, high = STYLE_LENGTHS[row["style"]]
        assert low <= len(row["text"]) <= high, (len(row["text"]), row)


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_industry_and_style_is_covered(name: str) -> None:
    """Each industry has enough items, and enough in each of the five styles."""
    _, per_industry, per_cell = FILES[name]
    rows = _rows(name)
    by_industry = Counter(row["industry"] for row in rows)
    by_cell = Counter((row["industry"], row["style"]) for row in rows)
    for code in CODES:
        assert by_industry[code] >= per_industry, (code, by_industry[code])
        for style in STYLE_LENGTHS:
            assert by_cell[code, style] >= per_cell, (code, style, by_cell[code, style])


def test_ids_and_texts_are_unique() -> None:
    """No id is used twice and no text appears twice, across firms and scenarios alike."""
    rows = [row for name in FILES for row in _rows(name)]
    ids = Counter(row["id"] for row in rows)
    texts = Counter(_normalised(row["text"]) for row in rows)
    assert [key for key, count in ids.items() if count > 1] == []
    assert [key for key, count in texts.items() if count > 1] == []
