"""The text of a record that the semantic channels (dense and TF-IDF) compare."""

from __future__ import annotations

from models.enums import Industry
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, ScenarioRecord


def _labels(codes: list[Industry]) -> str:
    """Chinese names of declared industries."""
    return "、".join(code.label for code in codes)


def record_text(record: CatalogueRecord) -> str:
    """What a record says about itself: name or title, prose, and declared industries."""
    if isinstance(record, EnterpriseRecord):
        parts = [record.name, record.description, _labels(record.industries)]
    elif isinstance(record, BuildingRecord):
        parts = [record.name, record.description or "", _labels(record.focus_industries)]
    elif isinstance(record, ScenarioRecord):
        parts = [record.title, record.description, record.scope or "", _labels(record.industries)]
    else:
        raise TypeError(f"not a catalogue record: {type(record).__name__}")
    return "。".join(part for part in parts if part)
