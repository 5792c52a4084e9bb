"""计划指标看板 (staff): the plan's figures against targets, the funnel and the trend; admins set targets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep, StateDep
from api.services import indicators
from api.services.indicators import INDICATOR_LABELS, INDICATORS, ConversionRow, Indicators, ScopeFigures
from api.services.write import Invalid
from api.web.admin_forms import PostedForm, china_time
from api.web.error_pages import error_page
from api.web.indicators import Figure, Series
from api.web.pages_dashboard import Section
from api.web.session import AdminPage, CsrfChecked, StaffPage
from api.web.templating import render
from models.enums import District
from models.indicator_target import CITY, PLAN_TARGETS
from models.lead import LeadKind
from models.row_errors import describe
from models.user import Role, User

router = APIRouter(include_in_schema=False)
PLAN = tuple(name for name in INDICATORS if name in PLAN_TARGETS)
"""The figures the action plan sets targets for, shown as each district's progress."""
MISSING = float("nan")
"""A figure that does not exist (a share of no leads): a dash in the table, no bar in the chart."""


@dataclass(frozen=True)
class Cells(Series):
    """A series that may lack figures (NaN, shown as a dash); days read to one decimal."""

    def text(self, value: float) -> str:
        """A figure as people read it, or a dash when there is none."""
        if math.isnan(value):
            return "—"
        return f"{value:,.1f}" if self.unit == "天" else super().text(value)


@dataclass(frozen=True)
class Chart(Figure):
    """A figure whose missing figures are drawn as no bar."""

    def chart(self) -> dict[str, Any]:
        """What dashboard.js needs, with NaN (which JSON cannot carry) as zero."""
        drawn = super().chart()
        for series in drawn["series"]:
            series["values"] = [0.0 if math.isnan(value) else value for value in series["values"]]
        return drawn


@dataclass(frozen=True)
class Bar:
    """One figure against its target, as a bar."""

    label: str
    value: str
    target: str | None
    """The target as text, None when there is none."""
    percent: float | None

    @property
    def width(self) -> float:
        """How much of the bar is filled (a target passed fills it)."""
        return min(self.percent or 0.0, 100.0)

    @property
    def done(self) -> str:
        """The share of the target reached, as text."""
        if self.percent is None:
            return "未设目标"
        return f"{self.percent:.2f}%" if self.percent < 1 else f"{self.percent:,.1f}%"


@dataclass(frozen=True)
class TargetField:
    """One input of the targets form."""

    name: str
    label: str
    unit: str
    value: str
    errors: list[str]


@dataclass
class TargetForm:
    """The targets form of the scope on show: what it holds, and why it was refused."""

    scope: str
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    updated: str = ""

    def general(self) -> list[str]:
        """Reasons that concern no single input (a scope that does not exist)."""
        return [
            reason for name, reasons in self.errors.items() if name not in INDICATORS for reason in reasons
        ]

    def fields(self) -> list[TargetField]:
        """The inputs in indicator order."""
        return [
            TargetField(name, *INDICATOR_LABELS[name], self.values.get(name, ""), self.errors.get(name, []))
            for name in INDICATORS
        ]


def _number(value: float, unit: str) -> str:
    """A figure with its unit, whole and with separators."""
    return f"{value:,.0f} {unit}"


def _bars(figures: ScopeFigures, names: tuple[indicators.Indicator, ...]) -> list[Bar]:
    """The named figures against their targets."""
    bars = []
    for name in names:
        label, unit = INDICATOR_LABELS[name]
        progress = figures.targets[name]
        target = None if progress.target is None else _number(progress.target, unit)
        percent = None if progress.progress is None else progress.progress * 100
        bars.append(Bar(label, _number(getattr(figures, name), unit), target, percent))
    return bars


def _or_missing(value: float | None) -> float:
    """A figure, or NaN when there is none."""
    return MISSING if value is None else value


def _share(value: float | None) -> float:
    """A share as a percentage, or NaN."""
    return MISSING if value is None else value * 100


def _district_figures(found: Indicators) -> list[Figure]:
    """Each plan figure per district."""
    labels = list(found.by_district)
    rows = list(found.by_district.values())

    def column(name: indicators.Indicator, label: str, chart: bool = True) -> Series:
        """One figure of every district."""
        return Series(label, INDICATOR_LABELS[name][1], [float(getattr(row, name)) for row in rows], chart)

    note = "未归属到区的市级场景只计入全市合计。"
    return [
        Figure(
            "district-area", "盘活楼宇面积（按区）", "所在区", labels, [column("area_used_m2", "已用面积")]
        ),
        Figure("district-firms", "新落地企业（按区）", "所在区", labels, [column("firms_landed", "企业数")]),
        Figure("district-jobs", "新增就业（按区）", "所在区", labels, [column("jobs", "入驻人数")]),
        Figure(
            "district-scenarios",
            "揭榜中标场景与金额（按区）",
            "所在区",
            labels,
            [column("scenarios_won", "中标场景"), column("contract_wan_yuan", "合同金额", chart=False)],
            note=note,
        ),
    ]


def _landing_figures(found: Indicators) -> list[Figure]:
    """New firms and their jobs by origin and by industry."""
    figures = []
    for key, title, category, groups in (
        ("origin", "新落地企业（按来源）", "企业来源", found.by_origin),
        ("industry", "新落地企业（按产业）", "所属产业", found.by_industry),
    ):
        figures.append(
            Figure(
                f"landed-{key}",
                title,
                category,
                [group.label for group in groups],
                [
                    Series("企业数", "家", [float(group.firms_landed) for group in groups]),
                    Series("入驻人数", "人", [float(group.jobs) for group in groups], chart=False),
                    Series("盘活面积", "㎡", [group.area_used_m2 for group in groups], chart=False),
                ],
                note="按跟进创建时记录的企业来源与主营产业统计。",
            )
        )
    return figures


def _funnel_figures(found: Indicators) -> list[Figure]:
    """Each kind's funnel, and the reasons leads were lost."""
    figures: list[Figure] = []
    for kind, funnel in found.funnel.items():
        stages = funnel.stages
        figures.append(
            Chart(
                f"funnel-{kind.value}",
                f"{kind.label}跟进漏斗",
                "阶段",
                [row.label for row in stages],
                [
                    Series("到达", "个", [float(row.reached) for row in stages]),
                    Cells("较上一阶段转化率", "%", [_share(row.conversion) for row in stages], chart=False),
                    Cells(
                        "距上一阶段天数中位数", "天", [_or_missing(row.median_days) for row in stages], False
                    ),
                    Series("在此阶段流失", "个", [float(row.lost) for row in stages], chart=False),
                ],
                totals=False,
                note=_funnel_note(funnel),
            )
        )
    reasons = [row.label for row in found.funnel[LeadKind.building].loss_reasons]
    figures.append(
        Figure(
            "loss-reasons",
            "流失原因",
            "原因",
            reasons,
            [
                Series(f"{kind.label}跟进", "个", [float(row.leads) for row in funnel.loss_reasons])
                for kind, funnel in found.funnel.items()
            ],
        )
    )
    return figures


def _funnel_note(funnel: indicators.Funnel) -> str:
    """How a funnel is counted, and its losses."""
    days = (
        ""
        if funnel.lost_median_days is None
        else f"，流失前在所处阶段停留天数中位数 {funnel.lost_median_days:.1f}"
    )
    return f"跳过的阶段按已经过计算。共流失 {funnel.lost:,} 个{days}。"


def _conversion_figure(key: str, title: str, category: str, rows: list[ConversionRow]) -> Figure:
    """Building leads per bucket: how many, and the shares reaching 带看 and 签约."""
    return Chart(
        key,
        title,
        category,
        [row.label for row in rows],
        [
            Series("楼宇跟进", "个", [float(row.leads) for row in rows], chart=False),
            Cells("到达带看及以后", "%", [_share(row.visited_share) for row in rows]),
            Cells("到达签约及以后", "%", [_share(row.signed_share) for row in rows]),
        ],
        totals=False,
    )


def _trend_figures(found: Indicators) -> list[Figure]:
    """The monthly trend: leads, and area and jobs."""
    months = [row.month for row in found.monthly]
    return [
        Figure(
            "monthly-leads",
            "月度跟进（新建、签约、入驻）",
            "月份",
            months,
            [
                Series("新建跟进", "个", [float(row.started) for row in found.monthly]),
                Series("签约", "个", [float(row.signed) for row in found.monthly]),
                Series("入驻", "个", [float(row.moved_in) for row in found.monthly]),
            ],
        ),
        Figure(
            "monthly-landing",
            "月度签约面积与入驻人数",
            "月份",
            months,
            [
                Series("签约面积", "㎡", [row.area_m2 for row in found.monthly]),
                Series("入驻人数", "人", [float(row.jobs) for row in found.monthly], chart=False),
            ],
            note="签约按签约日期、入驻按入驻日期计入月份；已流失的签约不计。",
        ),
    ]


def sections(found: Indicators) -> list[Section]:
    """Every chart of the page, grouped."""
    return [
        Section("各区指标", _district_figures(found)),
        Section("新落地企业与就业", _landing_figures(found)),
        Section(
            "跟进漏斗",
            _funnel_figures(found),
            "到达数含已越过该阶段的跟进；转化率为到达本阶段占到达上一阶段的比例。",
        ),
        Section(
            "推荐名次与权重版本",
            [
                _conversion_figure("by-rank", "按推荐名次的楼宇跟进转化", "推荐名次", found.by_rank),
                _conversion_figure(
                    "by-weights", "按权重版本的楼宇跟进转化", "权重版本", found.by_weights_version
                ),
            ],
            "名次与权重版本为由推荐结果创建跟进时服务器记录的匹配结果。",
        ),
        Section("月度趋势（近 18 个月）", _trend_figures(found)),
    ]


def _target_form(session: Session, scope: str) -> TargetForm:
    """The targets form filled with the scope's stored targets."""
    stored = indicators.targets_of(session, scope)
    values: dict[str, str] = {name: _shown(getattr(stored, name)) for name in INDICATORS}
    updated = f"{stored.updated_by or '系统'} 于 {china_time(stored.updated_at)}" if stored.updated_at else ""
    return TargetForm(scope, values, updated=updated)


def _shown(value: float | None) -> str:
    """A stored target as the form shows it."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def indicators_page(
    request: Request,
    session: Session,
    user: User,
    district: District | None,
    *,
    form: TargetForm | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    """Render the page for the city or a district; an admin also gets the targets form."""
    found = indicators.report(session, district)
    shown = sections(found)
    if user.role == Role.admin and form is None:
        form = _target_form(session, found.scope)
    context = {
        "found": found,
        "district": district,
        "bars": _bars(found, INDICATORS),
        "district_bars": [(name, _bars(row, PLAN)) for name, row in found.by_district.items()],
        "plan_labels": [INDICATOR_LABELS[name][0] for name in PLAN],
        "sections": shown,
        "charts": [figure.chart() for section in shown for figure in section.figures],
        "form": form if user.role == Role.admin else None,
        "message": message,
    }
    return render(request, "indicators_plan.html", context, status_code=status_code)


def _district(text: str) -> District | None:
    """The district named, None for none; ValueError for a name that is no district."""
    return District.parse(text) if text else None


@router.get("/indicators")
def plan_indicators(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    district: Annotated[str, Query(max_length=20)] = "",
    saved: Annotated[bool, Query()] = False,
) -> Response:
    """The plan's figures for the city, or one district."""
    try:
        chosen = _district(district)
    except ValueError:
        return error_page(request, status.HTTP_422_UNPROCESSABLE_CONTENT, f"没有名为「{district}」的区。")
    message = "目标已保存，进度按新目标计算。" if saved else None
    return indicators_page(request, session, user, chosen, message=message)


@router.post("/indicators/targets", dependencies=[CsrfChecked])
def save_targets(
    request: Request, session: SessionDep, state: StateDep, user: AdminPage, form: PostedForm
) -> Response:
    """Save the targets of the scope on show; refused values keep what was typed and say why."""
    typed = {name: str(form.get(name) or "").strip() for name in ("scope", *INDICATORS)}
    scope = typed.pop("scope")
    try:
        saved = indicators.set_targets(
            session=session,
            actor=user,
            live=state,
            scope=scope,
            values={name: text or None for name, text in typed.items()},
        )
    except Invalid as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            name, reason = describe(error)
            errors.setdefault(name or "", []).append(reason)
        try:
            district = _district(scope if scope != CITY else "")
        except ValueError:
            district = None
        refused = TargetForm(district.value if district else CITY, typed, errors)
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return indicators_page(request, session, user, district, form=refused, status_code=code)
    where = "" if saved.scope == CITY else f"district={quote(saved.scope)}&"
    return RedirectResponse(f"/indicators?{where}saved=1", status.HTTP_303_SEE_OTHER)
