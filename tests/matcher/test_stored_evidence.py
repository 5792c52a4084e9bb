"""Stored records' industry evidence comes from the terms their load scanned, equal to a scan of each text."""

from __future__ import annotations

from datetime import date

from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher.directions import DIRECTIONS
from matcher.hashing import HashingEncoder
from matcher.industry import INDUSTRY_CODES, lexicon_scan, stored_evidence, term_evidence
from matcher.recommender import Recommender
from matcher.text import record_text
from models.records import BuildingRecord, EnterpriseRecord, ScenarioRecord
from tests.files import building, enterprise

TODAY = date(2026, 12, 1)
EDGE_TEXTS = [
    "",
    "园林设计公司，兼做芯片设计与流片服务",  # a trap (园林设计公司) beside real terms
    "工业互联网平台\x00机器视觉质检",  # the separator the bulk scan joins texts with, inside a text
    "ＥＲＰ 与 ｃｒｍ 软件定制开发",  # full-width spellings
    "芯片设计芯片设计芯片设计",  # one term again and again
]


def _texts() -> list[str]:
    """Generated records of every kind as the matcher reads them, and a few awkward texts."""
    records = [
        *(BuildingRecord.model_validate(r) for r in generate_buildings(60, seed=5)),
        *(EnterpriseRecord.model_validate(r) for r in generate_enterprises(60, seed=5)),
        *(ScenarioRecord.model_validate(r) for r in generate_scenarios(60, seed=5, reference_date=TODAY)),
    ]
    return [*EDGE_TEXTS, *(record_text(record) for record in records)]


def test_one_scan_of_many_texts_gives_each_text_its_own_evidence() -> None:
    texts = _texts()
    _, packed = lexicon_scan(texts)
    assert len(packed) == len(texts)
    shown = 0
    for text, terms in zip(texts, packed, strict=True):
        scanned, stored = term_evidence(text), stored_evidence(terms)
        for code in INDUSTRY_CODES:
            assert stored(code) == scanned.get(code, ()), (text, code)
            shown += bool(stored(code))
    assert shown > len(texts)  # most texts show at least one industry, many show several


def test_a_rewritten_record_is_explained_by_its_new_text() -> None:
    firm = EnterpriseRecord.model_validate(
        enterprise(id="firm", description="专注芯片设计与流片服务的集成电路企业", industries=["ic_design"])
    )
    before = BuildingRecord.model_validate(building(id="b1", description="园区配套齐全，毗邻高校"))
    recommender = Recommender(HashingEncoder(), today=TODAY).load(
        {"buildings": [before], "enterprises": [firm], "scenarios": []}
    )
    after = before.model_copy(
        update={"description": "重点引进芯片设计企业，设有流片服务平台", "focus_industries": []}
    )
    recommender.upsert("buildings", [after])
    table = recommender.tables["buildings"]
    row = table.row(after)
    assert row is not None
    assert stored_evidence(table.terms[row])("ic_design") == term_evidence(record_text(after))["ic_design"]
    reasons = recommender.match(DIRECTIONS["firm_buildings"], firm, 1).results[0].reasons
    assert any("芯片设计" in reason and "流片" in reason for reason in reasons), reasons


def test_a_stored_text_is_scanned_for_an_industry_once_however_often_it_is_explained() -> None:
    """Every match explains the same stored records again: their words are worked out once, not per match."""
    _, packed = lexicon_scan(["重点引进芯片设计企业，设有流片服务平台"])
    first = stored_evidence(packed[0])("ic_design")
    again = stored_evidence(packed[0])("ic_design")
    assert first
    assert again is first
