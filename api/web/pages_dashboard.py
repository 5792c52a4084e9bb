"""The admin dashboard (指标看板): the plan's indicators by district, as charts and tables."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep, StateDep, WeightsDep
from api.web import indicators
from api.web.indicators import Concentration, Figure, Headline
from api.web.session import AdminPage
from api.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Section:
    """A titled group of figures."""

    title: str
    figures: list[Figure]
    intro: str = ""


@router.get("/admin/dashboard")
def dashboard(
    request: Request, user: AdminPage, session: SessionDep, state: StateDep, used: WeightsDep
) -> Response:
    """Buildings and vacant area, the lead pool, open scenarios, and how recommendations spread."""
    ledger = indicators.ledger(session)
    firm_figures, firms = indicators.firm_figures(session)
    scenarios = indicators.open_scenarios(session)
    spread = indicators.concentration(state.recommender, used.weights, state.catalogue_stamps, used.version)
    sections = [
        Section("楼宇台账", ledger.figures()),
        Section("企业线索库", firm_figures),
        Section("开放的应用场景", scenarios.figures()),
        Section("推荐集中度", [spread.figure(ledger.counts())], _spread_intro(spread, used.version)),
    ]
    vacant = sum(sum(by_fit_out.values()) for by_fit_out in ledger.area.values())
    headlines = [
        Headline("台账楼宇", f"{sum(ledger.count.values()):,} 栋", f"可用面积 {vacant:,.0f} ㎡"),
        Headline("企业线索", f"{firms:,} 家"),
        Headline(
            "开放场景", f"{sum(scenarios.count):,.0f} 个", f"预算合计 {sum(scenarios.budget):,.0f} 万元"
        ),
        Headline(
            "推荐集中度 HHI",
            f"{spread.per_list_hhi:.3f}",
            f"全部推荐汇总 {spread.pooled_hhi:.3f}（越低越分散）",
        ),
    ]
    charts = [figure.chart() for section in sections for figure in section.figures]
    context = {"sections": sections, "headlines": headlines, "charts": charts}
    return render(request, "dashboard.html", context)


def _spread_intro(spread: Concentration, version: int) -> str:
    """How the spread was measured and how to read the index."""
    even = 1 / len(indicators.DISTRICTS)
    return (
        f"按编号等距抽取 {spread.firms} 家企业，以当前权重（第 {version} 版）"
        f"各推荐前 {indicators.TOP} 个楼宇。"
        f"单家企业推荐结果的区域 HHI 平均为 {spread.per_list_hhi:.3f}，"
        f"全部推荐汇总为 {spread.pooled_hhi:.3f}；"
        f"HHI 越接近 1 表示推荐越集中于少数区，"
        f"{len(indicators.DISTRICTS)} 个区完全均匀时为 {even:.3f}。"
    )
