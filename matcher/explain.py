"""Short Chinese reasons a person can check against the records (2–5 per result), one maker per factor."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from matcher.industry import certainty
from models.enums import Amenity, FitOut, Industry
from models.incentives import IncentiveStanding, incentive_standing
from models.records import BuildingRecord, EnterpriseRecord, ScenarioRecord

MIN_REASONS, MAX_REASONS = 2, 5
NOTABLE = 0.01
"""Contributions below this are not worth a reason of their own."""
DAYS_SHOWN_AS_DAYS = 60
"""A wait shorter than this is said in days, a longer one in months."""
DAYS_PER_MONTH = 30.4


@dataclass(frozen=True)
class SharedIndustry:
    """The industry both sides of a pair show most strongly, if any, and how it is known."""

    code: str | None = None
    evidence: tuple[str, ...] = ()
    """Words in the texts that show it."""
    firm_inferred: float | None = None
    """The firm's probability of it when inferred from its text; None when declared."""
    offer_inferred: float | None = None
    """The offer's probability of it when inferred; None when declared."""


@dataclass(frozen=True)
class PairFacts:
    """What the reasons of one firm–offer pair may cite (the offer: a building or a scenario)."""

    firm: EnterpriseRecord
    offer: BuildingRecord | ScenarioRecord
    factors: Mapping[str, float]
    contributions: Mapping[str, float]
    shared: SharedIndustry
    dense_similarity: float
    cluster_peers: int
    """Buildings in the offer's district that gather the shared industry."""
    today: date

    @property
    def building(self) -> BuildingRecord:
        """The offer, for the factors only buildings have."""
        assert isinstance(self.offer, BuildingRecord)
        return self.offer

    @property
    def scenario(self) -> ScenarioRecord:
        """The offer, for the factors only scenarios have."""
        assert isinstance(self.offer, ScenarioRecord)
        return self.offer

    def wording(self, building: str, scenario: str) -> str:
        """The words that name the offer's side of a reason."""
        return building if isinstance(self.offer, BuildingRecord) else scenario


Reason = Callable[[PairFacts], str | None]
"""A factor's reason maker: one sentence, or None when there is nothing to say."""


def _label(code: str | None) -> str:
    """Chinese name of an industry code."""
    return Industry.parse(code).label if code else ""


def _inferred(probability: float | None) -> str:
    """How an inferred side's industry is known (推断，把握较大), or "" when declared."""
    return "" if probability is None else f"（推断，{certainty(probability)}）"


def industry_reason(facts: PairFacts) -> str | None:
    """Shared industry, how sure each inferred side is, and the words that show it."""
    shared = facts.shared
    if not shared.code:
        return None
    label = _label(shared.code)
    offer = f"{facts.wording('楼宇重点引进', '场景需要')}{label}{_inferred(shared.offer_inferred)}"
    words = [word for word in shared.evidence if word != label][:3]
    notes = [f"依据：{'、'.join(words)}"] if words else []
    if shared.firm_inferred is None:
        firm = "与企业主业一致"
    else:
        firm = f"企业主业推断为{label}"
        notes.insert(0, certainty(shared.firm_inferred))
    details = f"（{'；'.join(notes)}）" if notes else ""
    return f"产业契合：{offer}，{firm}{details}"


def semantic_reason(facts: PairFacts) -> str:
    """How close the two texts are, on the 0..1 scale the score uses (raw cosine in brackets)."""
    return (
        f"内容相近：{facts.wording('楼宇介绍', '场景描述')}与企业简介的语义匹配得分 "
        f"{facts.factors.get('semantic', 0.0):.2f}（满分 1，向量余弦 {facts.dense_similarity:.2f}）"
    )


def district_reason(facts: PairFacts) -> str | None:
    """In one of the firm's preferred districts; a scenario without a district is city-level."""
    district = facts.offer.district
    if district is None:
        return "市级场景，不限区域"
    return f"位于意向区域：{district}" if district in facts.firm.preferred_districts else None


def area_reason(facts: PairFacts) -> str:
    """The firm's need against the vacant area (and the smallest unit)."""
    building, need = facts.building, facts.firm.required_area_m2
    area = (
        f"面积匹配：需求 {need:,.0f}㎡，可租 {building.vacant_area_m2:,.0f}㎡"
        if need
        else f"可租面积 {building.vacant_area_m2:,.0f}㎡"
    )
    if building.min_unit_m2:
        area += f"（最小分割 {building.min_unit_m2:,.0f}㎡）"
    return area


def rent_reason(facts: PairFacts) -> str:
    """The rent against the firm's ceiling, and the monthly rent of the area it needs."""
    building, firm = facts.building, facts.firm
    if firm.max_rent_yuan_m2_month is not None:
        rent = f"租金 {building.rent_yuan_m2_month:g} 元/㎡·月，不高于上限 {firm.max_rent_yuan_m2_month:g} 元"
    else:
        rent = f"租金 {building.rent_yuan_m2_month:g} 元/㎡·月"
    if need := firm.required_area_m2:
        leased = max(need, building.min_unit_m2 or 0)
        rent += f"，月租约 {building.rent_yuan_m2_month * leased / 10_000:.1f} 万元"
    return rent


def fit_out_reason(facts: PairFacts) -> str:
    """How far the building is fitted out."""
    fit_out = facts.building.fit_out
    if fit_out == FitOut.move_in_ready:
        return "拎包入住：装修完成，可立即入驻"
    return f"装修状态：{fit_out.label}"


def amenities_reason(facts: PairFacts) -> str | None:
    """The known amenities the building offers."""
    labels = [amenity.label for amenity in Amenity.among(facts.building.amenities)]
    return f"配套：{'、'.join(labels)}" if labels else None


def cluster_reason(facts: PairFacts) -> str | None:
    """How many buildings of the district gather the shared industry."""
    if not (facts.cluster_peers and facts.shared.code):
        return None
    return (
        f"产业集聚：{facts.building.district}有 {facts.cluster_peers} 栋楼宇重点引进"
        f"{_label(facts.shared.code)}"
    )


def incentives_reason(facts: PairFacts) -> str | None:
    """The building's support for new entrants, or why this firm does not get it."""
    incentives = facts.building.incentives
    if not incentives:
        return None
    if incentive_standing(facts.firm.origin) == IncentiveStanding.ineligible:
        return "入驻政策：市内迁移企业不享受新入驻企业支持政策"
    text = incentives if len(incentives) <= 40 else incentives[:40] + "…"
    return f"可享入驻政策：{text}"


def budget_reason(facts: PairFacts) -> str:
    """The scenario's budget, and the firm's size to judge it by."""
    scenario, firm = facts.scenario, facts.firm
    budget = f"预算 {scenario.budget_wan_yuan:g} 万元" if scenario.budget_wan_yuan else "预算未公布"
    if firm.headcount:
        budget += f"，企业现有 {firm.headcount} 人"
    return budget


def urgency_reason(facts: PairFacts) -> str | None:
    """The deadline and the days left."""
    deadline = facts.scenario.deadline
    if not deadline:
        return None
    return f"截止日期 {deadline.isoformat()}，还剩 {(deadline - facts.today).days} 天"


def availability_caveat(facts: PairFacts) -> str | None:
    """When a building cannot be entered yet on the day matched: the day it can, and how far off that is."""
    available = facts.offer.available_from if isinstance(facts.offer, BuildingRecord) else None
    days = (available - facts.today).days if available else 0
    if available is None or days <= 0:
        return None
    wait = f"{days} 天后" if days < DAYS_SHOWN_AS_DAYS else f"约 {round(days / DAYS_PER_MONTH)} 个月后"
    return f"尚不可入驻：可入驻日期 {available.isoformat()}（{wait}）"


def by_contribution(
    names: Sequence[str], contributions: Mapping[str, np.ndarray], count: int
) -> list[list[str]]:
    """For each of `count` results, the factor `names` by their contribution [count], largest first; ties
    (and factors without a contribution, taken as 0) in the order of `names`."""
    if not names:
        return [[] for _ in range(count)]
    zero = np.zeros(count)
    matrix = np.stack([contributions.get(name, zero) for name in names], axis=1)
    order = np.argsort(-matrix, axis=1, kind="stable").tolist()
    return [[names[column] for column in row] for row in order]


def reasons(
    facts: PairFacts, ranked: Sequence[str], makers: Mapping[str, Reason], fallbacks: tuple[str, ...]
) -> list[str]:
    """A caveat first, then the reasons of the top contributors (`ranked`: the makers' names by contribution,
    see `by_contribution`), then `fallbacks`'."""
    caveat = availability_caveat(facts)
    found: list[str] = [caveat] if caveat else []
    for name in ranked:
        if facts.contributions.get(name, 0.0) < NOTABLE or len(found) == MAX_REASONS:
            continue
        reason = makers[name](facts)
        if reason and reason not in found:
            found.append(reason)
    for name in fallbacks:
        if len(found) >= MIN_REASONS:
            break
        reason = makers[name](facts)
        if reason and reason not in found:
            found.append(reason)
    return found
