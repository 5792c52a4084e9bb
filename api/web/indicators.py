"""The plan's indicators for the admin dashboard: SQL aggregates, and how recommendations spread by district.

Every catalogue figure is one GROUP BY query; nothing loads the records. The spread of recommendations
across districts is measured with the app's in-memory recommender over a fixed sample of stored firms,
and cached until the buildings, the firms or the weights change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.orm import Session

from matcher.directions import DIRECTIONS
from matcher.evaluation import district_concentration
from matcher.recommender import Recommender
from matcher.weights import Weights
from models.building import Building
from models.enterprise import Enterprise
from models.enums import District, FitOut, Industry, LabelledEnum, ScenarioDomain, ScenarioStatus
from models.records import EnterpriseRecord
from models.scenario import Scenario

SAMPLE_FIRMS = 30
"""How many stored firms the recommendation spread is measured over."""
TOP = 10
"""How many buildings are recommended to each sampled firm."""
NO_DOMAIN = "未分类"
DISTRICTS: tuple[District, ...] = tuple(District)


@dataclass(frozen=True)
class Series:
    """One column of figures over a figure's categories; `chart=False` shows it in the table only."""

    label: str
    unit: str
    values: list[float]
    chart: bool = True

    def text(self, value: float) -> str:
        """A figure as people read it: percentages to one decimal, other figures whole with separators."""
        return f"{value:.1f}%" if self.unit == "%" else f"{value:,.0f}"

    def total(self) -> str:
        """The column's sum as text."""
        return self.text(sum(self.values))


@dataclass(frozen=True)
class Figure:
    """A bar chart and the table of the same figures."""

    key: str
    title: str
    category: str
    """Header of the table's first column (what the labels are)."""
    labels: list[str]
    series: list[Series]
    stacked: bool = False
    totals: bool = True
    """Whether the table ends with a sum row (not when a record counts under several labels)."""
    note: str | None = None

    def rows(self) -> list[tuple[str, list[str]]]:
        """The table's rows: each label with its figures as text."""
        return [
            (label, [series.text(series.values[row]) for series in self.series])
            for row, label in enumerate(self.labels)
        ]

    def chart(self) -> dict[str, Any]:
        """What dashboard.js needs to draw the chart."""
        charted = [series for series in self.series if series.chart]
        return {
            "key": self.key,
            "labels": self.labels,
            "series": [
                {"label": s.label, "unit": s.unit, "values": [round(v, 1) for v in s.values]} for s in charted
            ],
            "stacked": self.stacked,
            "unit": charted[0].unit if charted else "",
        }


@dataclass(frozen=True)
class Headline:
    """One key figure shown above the charts."""

    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class LedgerFigures:
    """Buildings on the ledger per district: count, and vacant area per fit-out state."""

    count: dict[District, int]
    area: dict[District, dict[FitOut, float]]

    def figures(self) -> list[Figure]:
        """The building count chart and the stacked vacant-area chart."""
        labels = [district.label for district in DISTRICTS]
        per_fit_out = [
            Series(fit_out.label, "㎡", [self.area[d][fit_out] for d in DISTRICTS]) for fit_out in FitOut
        ]
        whole = Series("合计", "㎡", [sum(self.area[d].values()) for d in DISTRICTS], chart=False)
        return [
            Figure(
                "buildings", "台账楼宇数（按区）", "所在区", labels, [Series("楼宇数", "栋", self.counts())]
            ),
            Figure(
                "vacant-area",
                "可用面积（按区、装修状态）",
                "所在区",
                labels,
                [*per_fit_out, whole],
                stacked=True,
            ),
        ]

    def counts(self) -> list[float]:
        """Buildings per district in district order."""
        return [float(self.count[district]) for district in DISTRICTS]


def ledger(session: Session) -> LedgerFigures:
    """Count buildings and sum vacant area per district and fit-out state."""
    statement = sa.select(
        Building.district, Building.fit_out, sa.func.count(), sa.func.sum(Building.vacant_area_m2)
    ).group_by(Building.district, Building.fit_out)
    count = dict.fromkeys(DISTRICTS, 0)
    area = {district: dict.fromkeys(FitOut, 0.0) for district in DISTRICTS}
    for district, fit_out, number, vacant in session.execute(statement):
        count[district] += number
        area[district][fit_out] = float(vacant)
    return LedgerFigures(count, area)


def _json_elements(session: Session, column: Any) -> Any:
    """The elements of a JSON array column as a table-valued function with a `value` column."""
    dialect = session.get_bind().dialect.name
    function = sa.func.json_array_elements_text if dialect == "postgresql" else sa.func.json_each
    return function(column).table_valued("value")


def _list_counts(session: Session, column: Any) -> tuple[Counter[str], int]:
    """How many firms name each value of a JSON list column, and how many name none."""
    elements = _json_elements(session, column)
    statement = (
        sa.select(elements.c.value, sa.func.count())
        .select_from(Enterprise)
        .join(elements, sa.true())
        .group_by(elements.c.value)
    )
    counts = Counter({str(value): int(number) for value, number in session.execute(statement)})
    empty = session.scalar(
        sa.select(sa.func.count()).select_from(Enterprise).where(sa.func.json_array_length(column) == 0)
    )
    return counts, int(empty or 0)


def _by_member(counts: Counter[str], members: Sequence[LabelledEnum]) -> list[float]:
    """Counts in the members' order (codes the enum does not know are left out)."""
    return [float(counts[member.value]) for member in members]


def firm_figures(session: Session) -> tuple[list[Figure], int]:
    """Firms in the lead pool by declared industry and by preferred district; and the pool's size."""
    total = int(session.scalar(sa.select(sa.func.count()).select_from(Enterprise)) or 0)
    industries, no_industry = _list_counts(session, Enterprise.industries)
    districts, no_district = _list_counts(session, Enterprise.preferred_districts)
    several = "可多选，一家企业计入其填写的每一项"
    return [
        Figure(
            "firms-industry",
            "企业线索（按所属产业）",
            "所属产业",
            [industry.label for industry in Industry],
            [Series("企业数", "家", _by_member(industries, list(Industry)))],
            totals=False,
            note=f"{several}；另有 {no_industry} 家未填写所属产业（匹配时由企业简介推断）。",
        ),
        Figure(
            "firms-district",
            "企业线索（按意向区域）",
            "意向区域",
            [district.label for district in DISTRICTS],
            [Series("企业数", "家", _by_member(districts, DISTRICTS))],
            totals=False,
            note=f"{several}；另有 {no_district} 家未填写意向区域。",
        ),
    ], total


@dataclass(frozen=True)
class ScenarioFigures:
    """Open scenarios per domain: how many, and their budgets summed (万元)."""

    labels: list[str]
    count: list[float]
    budget: list[float]

    def figures(self) -> list[Figure]:
        """The count chart and the budget chart."""
        return [
            Figure(
                "scenarios-count",
                "开放场景数（按场景方向）",
                "场景方向",
                self.labels,
                [Series("场景数", "个", self.count)],
            ),
            Figure(
                "scenarios-budget",
                "开放场景预算合计（按场景方向）",
                "场景方向",
                self.labels,
                [Series("预算合计", "万元", self.budget)],
            ),
        ]


def open_scenarios(session: Session) -> ScenarioFigures:
    """Count open scenarios and sum their budgets per domain (scenarios without one as 未分类)."""
    statement = (
        sa.select(Scenario.domain, sa.func.count(), sa.func.sum(Scenario.budget_wan_yuan))
        .where(Scenario.status == ScenarioStatus.open)
        .group_by(Scenario.domain)
    )
    found = {
        domain: (int(number), float(budget or 0)) for domain, number, budget in session.execute(statement)
    }
    domains: list[ScenarioDomain | None] = [*ScenarioDomain, None]
    shown = [domain for domain in domains if domain is not None or None in found]
    return ScenarioFigures(
        [domain.label if domain else NO_DOMAIN for domain in shown],
        [float(found.get(domain, (0, 0.0))[0]) for domain in shown],
        [found.get(domain, (0, 0.0))[1] for domain in shown],
    )


@dataclass(frozen=True)
class Concentration:
    """Where the buildings recommended to a sample of firms lie."""

    firms: int
    counts: dict[District, int]
    per_list_hhi: float
    """Mean Herfindahl index of districts within each firm's list (1 = one district only)."""
    pooled_hhi: float
    """Herfindahl index of all the sample's recommendations together."""

    def figure(self, ledger_counts: Sequence[float]) -> Figure:
        """Each district's share of the recommendations beside its share of the ledger's buildings."""
        recommended = [float(self.counts.get(district, 0)) for district in DISTRICTS]
        return Figure(
            "recommendations",
            "推荐楼宇的区域分布",
            "所在区",
            [district.label for district in DISTRICTS],
            [
                Series("推荐次数", "次", recommended, chart=False),
                Series("推荐占比", "%", _shares(recommended)),
                Series("台账楼宇占比", "%", _shares(ledger_counts)),
            ],
        )


def _shares(values: Sequence[float]) -> list[float]:
    """Each value as a percentage of their sum (zeros when the sum is zero)."""
    whole = sum(values)
    return [100.0 * value / whole if whole else 0.0 for value in values]


def sample_firms(recommender: Recommender, size: int = SAMPLE_FIRMS) -> list[EnterpriseRecord]:
    """A fixed sample of stored firms: evenly spaced over the firms sorted by id."""
    stored = recommender.records["enterprises"]
    firms = [firm for _, firm in sorted(stored.items()) if isinstance(firm, EnterpriseRecord)]
    taken = min(size, len(firms))
    return [firms[index * len(firms) // taken] for index in range(taken)]


def measure_concentration(recommender: Recommender, weights: Weights) -> Concentration:
    """Recommend the top buildings to each sampled firm and count the districts they lie in."""
    firms, direction = sample_firms(recommender), DIRECTIONS["firm_buildings"]
    lists = [
        [match.district for match in recommender.match(direction, firm, TOP, weights=weights).results]
        for firm in firms
    ]
    pooled = [district for districts in lists for district in districts]
    counts = Counter(District.parse(district) for district in pooled if district)
    return Concentration(
        len(firms), dict(counts), district_concentration(lists), district_concentration([pooled])
    )


_cache: WeakKeyDictionary[Recommender, tuple[tuple[int, int, int], Concentration]] = WeakKeyDictionary()
"""The last spread measured with each recommender, and the stamps and weights version it reflects."""


def concentration(
    recommender: Recommender, weights: Weights, stamps: dict[str, int], weights_version: int
) -> Concentration:
    """The spread of recommendations, measured again only when buildings, firms or the weights changed."""
    key = (stamps.get("buildings", 0), stamps.get("enterprises", 0), weights_version)
    cached = _cache.get(recommender)
    if cached is not None and cached[0] == key:
        return cached[1]
    measured = measure_concentration(recommender, weights)
    _cache[recommender] = (key, measured)
    return measured


def clear_cache() -> None:
    """Forget every measured spread (the benchmark times the first view after a change this way)."""
    _cache.clear()
