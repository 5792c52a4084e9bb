"""Short Chinese reasons a person can check against the records (2–5 per result)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from models.enums import FitOut, Industry, Origin
from models.records import BuildingRecord, EnterpriseRecord, ScenarioRecord

AMENITY_LABELS = {
    "incubator": "孵化器",
    "canteen": "食堂",
    "talent_apartment": "人才公寓",
    "metro": "地铁",
    "parking": "停车场",
    "gym": "健身房",
    "meeting_center": "会议中心",
    "data_center": "数据机房",
    "shuttle_bus": "通勤班车",
}
MIN_REASONS, MAX_REASONS = 2, 5
NOTABLE = 0.01
"""Contributions below this are not worth a reason of their own."""


@dataclass(frozen=True)
class PairFacts:
    """What the reasons of one firm–item pair may cite."""

    firm: EnterpriseRecord
    factors: Mapping[str, float]
    contributions: Mapping[str, float]
    shared_industry: str | None
    """The industry code both sides share, if any."""
    evidence: tuple[str, ...]
    """Words in the texts that show the shared industry."""
    dense_similarity: float
    cluster_peers: int
    """Buildings in the item's district that gather the shared industry."""
    today: date


def _label(code: str | None) -> str:
    """Chinese name of an industry code."""
    return Industry.parse(code).label if code else ""


def _area_need(firm: EnterpriseRecord) -> float | None:
    """The firm's stated area need."""
    return firm.required_area_m2


def _industry_reason(facts: PairFacts, what: str) -> str | None:
    """Shared industry, with the words that show it."""
    if not facts.shared_industry:
        return None
    label = _label(facts.shared_industry)
    words = [word for word in facts.evidence if word != label][:3]
    proof = f"（依据：{'、'.join(words)}）" if words else ""
    return f"产业契合：{what}{label}，与企业主业一致{proof}"


def _semantic_reason(facts: PairFacts, what: str) -> str:
    """How close the two texts are, on the 0..1 scale the score uses (raw cosine in brackets)."""
    return (
        f"内容相近：{what}与企业简介的语义匹配得分 {facts.factors.get('semantic', 0.0):.2f}"
        f"（满分 1，向量余弦 {facts.dense_similarity:.2f}）"
    )


def building_reasons(building: BuildingRecord, facts: PairFacts) -> list[str]:
    """Reasons for a firm–building pair, most important first."""
    firm = facts.firm
    need = _area_need(firm)
    area = (
        f"面积匹配：需求 {need:,.0f}㎡，可租 {building.vacant_area_m2:,.0f}㎡"
        if need
        else (f"可租面积 {building.vacant_area_m2:,.0f}㎡")
    )
    if building.min_unit_m2:
        area += f"（最小分割 {building.min_unit_m2:,.0f}㎡）"
    if firm.max_rent_yuan_m2_month is not None:
        rent = f"租金 {building.rent_yuan_m2_month:g} 元/㎡·月，不高于上限 {firm.max_rent_yuan_m2_month:g} 元"
    else:
        rent = f"租金 {building.rent_yuan_m2_month:g} 元/㎡·月"
    if need:
        leased = max(need, building.min_unit_m2 or 0)
        rent += f"，月租约 {building.rent_yuan_m2_month * leased / 10_000:.1f} 万元"
    amenities = [AMENITY_LABELS[name] for name in building.amenities if name in AMENITY_LABELS]
    makers: dict[str, Callable[[], str | None]] = {
        "industry": lambda: _industry_reason(facts, "楼宇重点引进"),
        "semantic": lambda: _semantic_reason(facts, "楼宇介绍"),
        "district": lambda: (
            f"位于意向区域：{building.district}" if building.district in firm.preferred_districts else None
        ),
        "area": lambda: area,
        "rent": lambda: rent,
        "fit_out": lambda: (
            "拎包入住：装修完成，可立即入驻"
            if building.fit_out == FitOut.move_in_ready
            else f"装修状态：{building.fit_out.label}"
        ),
        "amenities": lambda: f"配套：{'、'.join(amenities)}" if amenities else None,
        "cluster": lambda: (
            (
                f"产业集聚：{building.district}有 {facts.cluster_peers} 栋楼宇重点引进"
                f"{_label(facts.shared_industry)}"
            )
            if facts.cluster_peers and facts.shared_industry
            else None
        ),
        "incentives": lambda: _incentive_reason(firm, building),
    }
    return _pick(makers, facts, fallbacks=("area", "rent", "fit_out"))


def _incentive_reason(firm: EnterpriseRecord, building: BuildingRecord) -> str | None:
    """The building's support for new entrants, or why this firm does not get it."""
    if not building.incentives:
        return None
    if firm.origin == Origin.in_city_relocation:
        return "入驻政策：市内迁移企业不享受新入驻企业支持政策"
    text = building.incentives if len(building.incentives) <= 40 else building.incentives[:40] + "…"
    return f"可享入驻政策：{text}"


def scenario_reasons(scenario: ScenarioRecord, facts: PairFacts) -> list[str]:
    """Reasons for a firm–scenario pair, most important first."""
    firm = facts.firm
    budget = f"预算 {scenario.budget_wan_yuan:g} 万元" if scenario.budget_wan_yuan else "预算未公布"
    if firm.headcount:
        budget += f"，企业现有 {firm.headcount} 人"
    deadline = None
    if scenario.deadline:
        days = (scenario.deadline - facts.today).days
        deadline = f"截止日期 {scenario.deadline.isoformat()}，还剩 {days} 天"
    makers: dict[str, Callable[[], str | None]] = {
        "industry": lambda: _industry_reason(facts, "场景需要"),
        "semantic": lambda: _semantic_reason(facts, "场景描述"),
        "district": lambda: (
            (f"位于意向区域：{scenario.district}" if scenario.district in firm.preferred_districts else None)
            if scenario.district
            else "市级场景，不限区域"
        ),
        "budget": lambda: budget,
        "urgency": lambda: deadline,
    }
    return _pick(makers, facts, fallbacks=("budget", "urgency", "semantic"))


def _pick(
    makers: Mapping[str, Callable[[], str | None]], facts: PairFacts, fallbacks: tuple[str, ...]
) -> list[str]:
    """Reasons of the factors contributing most (2–5), topped up with plain facts."""
    ranked = sorted(makers, key=lambda name: -facts.contributions.get(name, 0.0))
    reasons: list[str] = []
    for name in ranked:
        if facts.contributions.get(name, 0.0) < NOTABLE or len(reasons) == MAX_REASONS:
            continue
        reason = makers[name]()
        if reason and reason not in reasons:
            reasons.append(reason)
    for name in fallbacks:
        if len(reasons) >= MIN_REASONS:
            break
        reason = makers[name]()
        if reason and reason not in reasons:
            reasons.append(reason)
    return reasons
