"""The plan's indicators (指标, SPEC §8) counted from the leads, and the audited edit of their targets.

Every figure is a GROUP BY query over `lead` and `lead_event` (no per-lead loop in Python); the few
expressions SQLite and PostgreSQL spell differently (a month, a span of days) are chosen by dialect.
How far a lead got is the furthest pipeline position its history names: a stage skipped forward
counts as passed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session, aliased

from api.services.write import Actor, Invalid, Live, commit
from models.audit import record as audit
from models.base import utcnow
from models.clock import CHINA, china_today
from models.database import begin_write
from models.enums import District, Industry, LabelledEnum, Origin
from models.indicator_target import CITY, IndicatorTarget
from models.lead import PIPELINES, PLACING, Lead, LeadEvent, LeadKind, LostReason, Stage, stage_label

Indicator = Literal["area_used_m2", "firms_landed", "jobs", "scenarios_won", "contract_wan_yuan"]
INDICATORS: tuple[Indicator, ...] = get_args(Indicator)
INDICATOR_LABELS: dict[Indicator, tuple[str, str]] = {
    "area_used_m2": ("盘活楼宇面积", "㎡"),
    "firms_landed": ("新落地企业", "家"),
    "jobs": ("新增就业", "人"),
    "scenarios_won": ("揭榜中标场景", "个"),
    "contract_wan_yuan": ("中标合同金额", "万元"),
}
"""Each indicator's Chinese name and unit."""
MONTHS = 18
"""How many months the trend covers, the current one included."""
CHINA_OFFSET = "+8 hours"
"""China's offset from UTC for SQLite's date functions (China keeps no daylight saving time)."""
UNKNOWN = "未填写"
POSITION: dict[Stage, int] = {
    stage: at for steps in PIPELINES.values() for at, step in enumerate(steps) for stage in step
}
"""Each pipeline stage's position (the kinds agree on the one stage they share, 推介/推荐)."""
RANK_BUCKETS: tuple[tuple[str, str, int | None], ...] = (
    ("1", "第 1 名", 1),
    ("2", "第 2 名", 2),
    ("3", "第 3 名", 3),
    ("4-5", "第 4–5 名", 5),
    ("6-10", "第 6–10 名", 10),
    (">10", "10 名以后或未排名", None),
)
"""Buckets of the rank a pair was recommended at: code, label, and the last rank in the bucket."""
NO_VERSION = "none"


# ---- what the indicators read as -----------------------------------------------------------


class Figures(BaseModel):
    """The plan's five figures for some set of leads."""

    area_used_m2: float = Field(description="签约及入驻的楼宇面积（㎡）")
    firms_landed: int = Field(description="已入驻的企业数（不重复计）")
    jobs: int = Field(description="入驻实际人数")
    scenarios_won: int = Field(description="中标的场景跟进数")
    contract_wan_yuan: float = Field(description="中标合同金额（万元）")


class Progress(BaseModel):
    """A figure against its target; no progress when no target is set (or it is zero)."""

    target: float | None
    progress: float | None = Field(description="完成比例（1 = 100%）")


class ScopeFigures(Figures):
    """A scope's figures (the city, or a district) and each one's progress against its target."""

    targets: dict[Indicator, Progress]


class GroupFigures(Figures):
    """The figures of the leads of one origin or one industry (`code` None: not recorded)."""

    code: str | None
    label: str


class StageRow(BaseModel):
    """One stage of a funnel: leads that reached it, from the previous stage how many and how fast."""

    stage: Stage
    label: str
    reached: int
    conversion: float | None = Field(description="到达本阶段的跟进占到达上一阶段的比例")
    median_days: float | None = Field(description="从上一阶段到本阶段的天数中位数")
    lost: int = Field(description="在本阶段流失的跟进数")


class ReasonCount(BaseModel):
    """How many leads were lost for one reason."""

    reason: LostReason
    label: str
    leads: int


class Funnel(BaseModel):
    """One kind's pipeline stage by stage, its losses and why."""

    stages: list[StageRow]
    lost: int
    lost_median_days: float | None = Field(description="从所处阶段到流失的天数中位数")
    loss_reasons: list[ReasonCount]


class ConversionRow(BaseModel):
    """Building leads of one recommended-rank bucket or weights version, and how far they got."""

    bucket: str
    label: str
    leads: int
    reached_visited: int = Field(description="到达带看及以后阶段的跟进数")
    reached_signed: int = Field(description="到达签约及以后阶段的跟进数")
    visited_share: float | None
    signed_share: float | None


class MonthRow(BaseModel):
    """One month (China dates) of the trend."""

    month: str = Field(description="YYYY-MM")
    started: int = Field(description="新建跟进数")
    signed: int = Field(description="当月签约且仍在签约或入驻阶段的楼宇跟进数")
    moved_in: int = Field(description="当月入驻的楼宇跟进数")
    area_m2: float = Field(description="当月签约的面积（㎡）")
    jobs: int = Field(description="当月入驻的实际人数")


class Indicators(ScopeFigures):
    """`GET /indicators`: the scope's figures against its targets, and how they break down."""

    scope: str = Field(description="全市，或所筛选的区")
    by_district: dict[str, ScopeFigures]
    by_origin: list[GroupFigures]
    by_industry: list[GroupFigures]
    funnel: dict[LeadKind, Funnel]
    by_rank: list[ConversionRow]
    by_weights_version: list[ConversionRow]
    monthly: list[MonthRow]


# ---- targets -------------------------------------------------------------------------------


def known_scope(scope: str) -> str:
    """全市 or a district (by name), else a Chinese message."""
    if scope == CITY:
        return scope
    try:
        return District.parse(scope).value
    except ValueError:
        raise ValueError(f"应为「{CITY}」或重庆的一个区（如 渝北区），实际为「{scope[:20]}」") from None


class TargetValues(BaseModel):
    """A scope's targets: every figure at once; one left out or null has no target."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    area_used_m2: Annotated[float, Field(ge=0, le=100_000_000)] | None = None
    firms_landed: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    jobs: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    scenarios_won: Annotated[int, Field(ge=0, le=100_000)] | None = None
    contract_wan_yuan: Annotated[float, Field(ge=0, le=100_000_000)] | None = None


class TargetChange(TargetValues):
    """The targets of a named scope, as the service validates them."""

    scope: Annotated[str, AfterValidator(known_scope)]


class TargetsOut(TargetValues):
    """A scope's stored targets, and who set them when."""

    scope: str
    updated_at: datetime | None
    updated_by: str


def stored_targets(session: Session) -> dict[str, IndicatorTarget]:
    """Every scope's stored targets by scope."""
    return {row.scope: row for row in session.scalars(sa.select(IndicatorTarget))}


def targets_of(session: Session, scope: str) -> TargetsOut:
    """A scope's targets as stored (all empty when none were ever set)."""
    row = session.get(IndicatorTarget, scope)
    if row is None:
        return TargetsOut(scope=scope, updated_at=None, updated_by="")
    return TargetsOut(
        scope=scope,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        **{name: getattr(row, name) for name in INDICATORS},
    )


def _values(row: IndicatorTarget | None) -> dict[str, float | None] | None:
    """What the audit log keeps of a scope's targets."""
    return None if row is None else {name: getattr(row, name) for name in INDICATORS}


def set_targets(
    *, session: Session, actor: Actor, live: Live | None, scope: str, values: Mapping[str, Any]
) -> TargetsOut:
    """Replace the targets of a scope (routes let only admins): validated, audited, or nothing written."""
    try:
        change = TargetChange.model_validate({**values, "scope": scope})
    except ValidationError as exc:
        raise Invalid(exc.errors(include_url=False)) from None
    begin_write(session)
    row = session.get(IndicatorTarget, change.scope)
    before = _values(row)
    if row is None:
        row = IndicatorTarget(scope=change.scope)
        session.add(row)
    for name in INDICATORS:
        value = getattr(change, name)
        setattr(row, name, None if value is None else float(value))
    row.updated_at, row.updated_by = utcnow(), actor.name
    audit(
        session,
        actor=actor.name,
        action="targets.update",
        target_kind="indicator_target",
        target_id=change.scope,
        before=before,
        after=_values(row),
    )
    commit(session, live)
    return targets_of(session, change.scope)


# ---- the figures ---------------------------------------------------------------------------

_BUILDING = Lead.kind == LeadKind.building
_PLACED = sa.and_(_BUILDING, Lead.stage.in_(PLACING))
_MOVED_IN = sa.and_(_BUILDING, Lead.stage == Stage.moved_in)
_WON = sa.and_(Lead.kind == LeadKind.scenario, Lead.stage == Stage.won)
FIGURE_COLUMNS = (
    sa.func.coalesce(sa.func.sum(sa.case((_PLACED, Lead.signed_area_m2))), 0.0),
    sa.func.count(sa.distinct(sa.case((_MOVED_IN, Lead.enterprise_id)))),
    sa.func.coalesce(sa.func.sum(sa.case((_MOVED_IN, Lead.actual_headcount))), 0),
    sa.func.count(sa.case((_WON, Lead.id))),
    sa.func.coalesce(sa.func.sum(sa.case((_WON, Lead.contract_wan_yuan))), 0.0),
)
"""The definition of the five figures, in `INDICATORS` order, as aggregates over leads."""


def _figures(row: Iterable[Any]) -> Figures:
    """The five aggregates of a result row as figures."""
    area, firms, jobs, won, amount = row
    return Figures(
        area_used_m2=float(area),
        firms_landed=int(firms),
        jobs=int(jobs),
        scenarios_won=int(won),
        contract_wan_yuan=float(amount),
    )


ZERO = _figures((0.0, 0, 0, 0, 0.0))


def _grouped(session: Session, column: Any, where: list[Any]) -> dict[Any, Figures]:
    """The figures of the leads grouped by a column."""
    statement = sa.select(column, *FIGURE_COLUMNS).where(*where).group_by(column)
    return {row[0]: _figures(row[1:]) for row in session.execute(statement)}


def _against(figures: Figures, target: IndicatorTarget | None) -> ScopeFigures:
    """Figures with each one's progress against the scope's targets."""
    progress: dict[Indicator, Progress] = {}
    for name in INDICATORS:
        goal = getattr(target, name) if target is not None else None
        value = getattr(figures, name)
        progress[name] = Progress(target=goal, progress=value / goal if goal else None)
    return ScopeFigures(**figures.model_dump(), targets=progress)


def _by_member(found: dict[Any, Figures], members: Iterable[LabelledEnum]) -> list[GroupFigures]:
    """Figures per enum member in the enum's order, then those recorded without one (when any)."""
    rows = [
        GroupFigures(code=member.value, label=member.label, **found.get(member.value, ZERO).model_dump())
        for member in members
    ]
    if None in found:
        rows.append(GroupFigures(code=None, label=UNKNOWN, **found[None].model_dump()))
    return rows


def _is_postgres(session: Session) -> bool:
    """Whether the session talks to PostgreSQL (else SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def _days_between(session: Session, later: Any, earlier: Any) -> Any:
    """The days (fractional) from one stored moment to another."""
    if _is_postgres(session):
        return sa.extract("epoch", later - earlier) / 86400.0
    return sa.func.julianday(later) - sa.func.julianday(earlier)


def _month_of_moment(session: Session, column: Any) -> Any:
    """`YYYY-MM` of a stored moment, in China."""
    if _is_postgres(session):
        return sa.func.to_char(sa.func.timezone(CHINA.key, column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column, CHINA_OFFSET)


def _month_of_day(session: Session, column: Any) -> Any:
    """`YYYY-MM` of a stored date."""
    if _is_postgres(session):
        return sa.func.to_char(column, "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def _position(column: Any) -> Any:
    """A stage's pipeline position (NULL for 流失 and for no stage)."""
    return sa.case(POSITION, value=column)


def _furthest() -> sa.Subquery:
    """Per lead, the furthest pipeline position its history names (a lost lead's: the stage it left)."""
    named = sa.union_all(
        sa.select(LeadEvent.lead_id, _position(LeadEvent.stage).label("at")),
        sa.select(LeadEvent.lead_id, _position(LeadEvent.from_stage).label("at")),
    ).subquery()
    return (
        sa.select(named.c.lead_id, sa.func.max(named.c.at).label("at")).group_by(named.c.lead_id).subquery()
    )


def _share(part: int, whole: int) -> float | None:
    """`part / whole`, None when there is no whole."""
    return part / whole if whole else None


def _medians(session: Session, where: list[Any]) -> dict[tuple[LeadKind, Stage], float]:
    """Per kind and stage, the median days from the stage a lead left to this one (window functions)."""
    previous = aliased(LeadEvent)
    days = _days_between(session, LeadEvent.at, previous.at)
    per = (Lead.kind, LeadEvent.stage)
    gaps = (
        sa.select(
            Lead.kind.label("kind"),
            LeadEvent.stage.label("stage"),
            days.label("days"),
            sa.func.row_number().over(partition_by=per, order_by=days).label("row"),
            sa.func.count().over(partition_by=per).label("rows"),
        )
        .join(Lead, Lead.id == LeadEvent.lead_id)
        .join(previous, sa.and_(previous.lead_id == Lead.id, previous.stage == LeadEvent.from_stage))
        .where(*where)
        .subquery()
    )
    middle = sa.and_(gaps.c.row * 2 >= gaps.c.rows, gaps.c.row * 2 <= gaps.c.rows + 2)
    statement = (
        sa.select(gaps.c.kind, gaps.c.stage, sa.func.avg(gaps.c.days))
        .where(middle)
        .group_by(gaps.c.kind, gaps.c.stage)
    )
    return {(kind, stage): float(median) for kind, stage, median in session.execute(statement)}


def funnels(session: Session, where: list[Any]) -> dict[LeadKind, Funnel]:
    """Each kind's funnel: leads reaching each stage, conversion and median days, losses and reasons."""
    furthest = _furthest()
    statement = (
        sa.select(Lead.kind, furthest.c.at, Lead.stage, sa.func.count())
        .join(furthest, furthest.c.lead_id == Lead.id)
        .where(furthest.c.at.is_not(None), *where)
        .group_by(Lead.kind, furthest.c.at, Lead.stage)
    )
    counts = Counter({(kind, at, stage): number for kind, at, stage, number in session.execute(statement)})
    medians = _medians(session, where)
    reasons_statement = (
        sa.select(Lead.kind, Lead.lost_reason, sa.func.count())
        .where(Lead.stage == Stage.lost, Lead.lost_reason.is_not(None), *where)
        .group_by(Lead.kind, Lead.lost_reason)
    )
    reasons = Counter({(kind, reason): number for kind, reason, number in session.execute(reasons_statement)})
    found = {}
    for kind, steps in PIPELINES.items():
        rows: list[StageRow] = []
        before: int | None = None
        for at, step in enumerate(steps):
            reached_here = 0
            for stage in step:
                reached = sum(
                    number
                    for (of, furthest_at, now), number in counts.items()
                    if of == kind
                    and (furthest_at >= at if len(step) == 1 else furthest_at == at and now == stage)
                )
                lost = sum(
                    number
                    for (of, furthest_at, now), number in counts.items()
                    if of == kind and furthest_at == at and now == Stage.lost
                )
                rows.append(
                    StageRow(
                        stage=stage,
                        label=stage_label(kind, stage),
                        reached=reached,
                        conversion=None if before is None else _share(reached, before),
                        median_days=medians.get((kind, stage)),
                        lost=lost,
                    )
                )
                reached_here += reached
            before = reached_here
        found[kind] = Funnel(
            stages=rows,
            lost=sum(row.lost for row in rows),
            lost_median_days=medians.get((kind, Stage.lost)),
            loss_reasons=[
                ReasonCount(reason=reason, label=reason.label, leads=reasons[kind, reason])
                for reason in LostReason
            ],
        )
    return found


def _conversion(session: Session, group: Any, where: list[Any]) -> dict[Any, tuple[int, int, int]]:
    """Building leads per value of `group`: how many, how many reached 带看 or later, 签约 or later."""
    furthest = _furthest()
    leads = (
        sa.select(group.label("bucket"), furthest.c.at)
        .join(furthest, furthest.c.lead_id == Lead.id)
        .where(_BUILDING, *where)
        .subquery()
    )

    def reached(stage: Stage) -> Any:
        """How many of the bucket's leads got to `stage` or beyond."""
        return sa.func.sum(sa.case((leads.c.at >= POSITION[stage], 1), else_=0))

    statement = sa.select(
        leads.c.bucket, sa.func.count(), reached(Stage.visited), reached(Stage.signed)
    ).group_by(leads.c.bucket)
    return {
        bucket: (int(number), int(visited), int(signed))
        for bucket, number, visited, signed in session.execute(statement)
    }


def _conversion_row(bucket: str, label: str, counts: tuple[int, int, int]) -> ConversionRow:
    """One bucket's counts and shares."""
    leads, visited, signed = counts
    return ConversionRow(
        bucket=bucket,
        label=label,
        leads=leads,
        reached_visited=visited,
        reached_signed=signed,
        visited_share=_share(visited, leads),
        signed_share=_share(signed, leads),
    )


def by_rank(session: Session, where: list[Any]) -> list[ConversionRow]:
    """Conversion of building leads by the rank the pair was recommended at (every bucket, in order)."""
    rank = Lead.match_rank
    bucket = sa.case(
        *((rank <= last, code) for code, _, last in RANK_BUCKETS if last is not None),
        else_=RANK_BUCKETS[-1][0],
    )
    found = _conversion(session, bucket, where)
    return [_conversion_row(code, label, found.get(code, (0, 0, 0))) for code, label, _ in RANK_BUCKETS]


def by_weights_version(session: Session, where: list[Any]) -> list[ConversionRow]:
    """Conversion of building leads by the weights version that ranked the pair (unrecorded last)."""
    found = _conversion(session, Lead.match_weights_version, where)
    rows = [
        _conversion_row(str(version), f"第 {version} 版", found[version])
        for version in sorted(version for version in found if version is not None)
    ]
    if None in found:
        rows.append(_conversion_row(NO_VERSION, "未记录（非由推荐结果创建）", found[None]))
    return rows


def _months(today: date) -> list[date]:
    """The first days of the trend's months, oldest first, ending with today's month."""
    serial = today.year * 12 + today.month - 1
    return [date(at // 12, at % 12 + 1, 1) for at in range(serial - MONTHS + 1, serial + 1)]


def _per_month(session: Session, month: Any, value: Any, where: list[Any]) -> dict[str, tuple[int, float]]:
    """Per month: how many leads, and the sum of `value` (grouped over a subquery, so that PostgreSQL
    sees the same grouping expression)."""
    rows = sa.select(month.label("month"), value.label("value")).where(*where).subquery()
    statement = sa.select(
        rows.c.month, sa.func.count(), sa.func.coalesce(sa.func.sum(rows.c.value), 0)
    ).group_by(rows.c.month)
    return {found: (int(number), float(total)) for found, number, total in session.execute(statement)}


def monthly(session: Session, where: list[Any], today: date) -> list[MonthRow]:
    """The last `MONTHS` months: leads started, signed and moved in, signed ㎡ and moved-in jobs."""
    months = _months(today)
    first = months[0]
    since = datetime(first.year, first.month, 1, tzinfo=CHINA)
    started = _per_month(
        session, _month_of_moment(session, Lead.created_at), sa.literal(0), [Lead.created_at >= since, *where]
    )
    signed = _per_month(
        session,
        _month_of_day(session, Lead.signed_on),
        Lead.signed_area_m2,
        [_PLACED, Lead.signed_on >= first, *where],
    )
    moved = _per_month(
        session,
        _month_of_day(session, Lead.moved_in_on),
        Lead.actual_headcount,
        [_MOVED_IN, Lead.moved_in_on >= first, *where],
    )
    rows = []
    for start in months:
        key = f"{start:%Y-%m}"
        signed_count, area = signed.get(key, (0, 0.0))
        moved_count, jobs = moved.get(key, (0, 0.0))
        rows.append(
            MonthRow(
                month=key,
                started=started.get(key, (0, 0.0))[0],
                signed=signed_count,
                moved_in=moved_count,
                area_m2=area,
                jobs=int(jobs),
            )
        )
    return rows


def report(session: Session, district: District | None = None) -> Indicators:
    """The plan's figures for the city, or one district's leads, with everything they break down into."""
    where: list[Any] = [Lead.district == district.value] if district is not None else []
    scope = district.value if district is not None else CITY
    targets = stored_targets(session)
    overall = _figures(session.execute(sa.select(*FIGURE_COLUMNS).where(*where)).one())
    per_district = _grouped(session, Lead.district, where)
    shown = [district] if district is not None else list(District)
    return Indicators(
        scope=scope,
        **_against(overall, targets.get(scope)).model_dump(),
        by_district={
            place.value: _against(per_district.get(place.value, ZERO), targets.get(place.value))
            for place in shown
        },
        by_origin=_by_member(_grouped(session, Lead.origin, where), Origin),
        by_industry=_by_member(_grouped(session, Lead.industry, where), Industry),
        funnel=funnels(session, where),
        by_rank=by_rank(session, where),
        by_weights_version=by_weights_version(session, where),
        monthly=monthly(session, where, china_today()),
    )
