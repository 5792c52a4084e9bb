"""Leads (跟进记录): an enterprise worked on with a building or a scenario, stage by stage (SPEC §8)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UtcDateTime, enum_column, utcnow
from models.enums import LabelledEnum


class LeadKind(LabelledEnum):
    """What the enterprise is paired with."""

    building = "building", "楼宇"
    scenario = "scenario", "应用场景"

    @property
    def offers(self) -> Literal["buildings", "scenarios"]:
        """The catalogue kind a lead of this kind pairs the firm with."""
        return "buildings" if self == LeadKind.building else "scenarios"


class Stage(LabelledEnum):
    """Every stage of either pipeline; `PIPELINES` says which belong to which kind and in what order."""

    recommended = "recommended", "推介"
    contacted = "contacted", "接洽"
    visited = "visited", "带看"
    intent = "intent", "意向"
    signed = "signed", "签约"
    moved_in = "moved_in", "入驻"
    applied = "applied", "报名揭榜"
    shortlisted = "shortlisted", "入围"
    won = "won", "中标"
    not_won = "not_won", "未中标"
    lost = "lost", "流失"


class LostReason(LabelledEnum):
    """Why a lead was lost."""

    cost = "cost", "租金或成本不合适"
    location = "location", "区位不合适"
    space = "space", "面积或楼宇条件不合适"
    policy = "policy", "政策不满足需求"
    competitor = "competitor", "选择了其他城市或楼宇"
    postponed = "postponed", "项目暂缓或取消"
    unreachable = "unreachable", "失联或无回应"
    unqualified = "unqualified", "资质或能力不符"
    other = "other", "其他"


PIPELINES: dict[LeadKind, tuple[tuple[Stage, ...], ...]] = {
    LeadKind.building: (
        (Stage.recommended,),
        (Stage.contacted,),
        (Stage.visited,),
        (Stage.intent,),
        (Stage.signed,),
        (Stage.moved_in,),
    ),
    LeadKind.scenario: (
        (Stage.recommended,),
        (Stage.applied,),
        (Stage.shortlisted,),
        (Stage.won, Stage.not_won),
    ),
}
"""Each kind's stages in order; stages at one position are alternative outcomes."""
FINAL = frozenset({Stage.moved_in, Stage.won, Stage.not_won, Stage.lost})
"""Stages nothing follows (reopening is a new lead)."""
PLACING = frozenset({Stage.signed, Stage.moved_in})
"""Building-lead stages whose enterprise has found its building and leaves the pool offered for buildings."""
SCENARIO_LABELS = {Stage.recommended: "推荐"}
"""Where a scenario lead names a stage otherwise than a building lead."""

FACTS: dict[Stage, tuple[str, ...]] = {
    Stage.signed: ("signed_area_m2", "rent_yuan_m2_month", "expected_headcount"),
    Stage.moved_in: ("moved_in_on", "actual_headcount"),
    Stage.won: ("contract_wan_yuan",),
    Stage.lost: ("lost_reason",),
}
"""The facts each stage records (all required); other stages record only a note."""
FACT_NAMES = tuple(name for names in FACTS.values() for name in names)
FACT_LABELS = {
    "signed_area_m2": "签约面积（㎡）",
    "rent_yuan_m2_month": "签约租金（元/㎡·月）",
    "expected_headcount": "预计入驻人数",
    "moved_in_on": "入驻日期",
    "actual_headcount": "实际入驻人数",
    "contract_wan_yuan": "合同金额（万元）",
    "lost_reason": "流失原因",
}


def stages_of(kind: LeadKind) -> tuple[Stage, ...]:
    """A kind's stages in order, `lost` last."""
    return (*(stage for step in PIPELINES[kind] for stage in step), Stage.lost)


def stage_label(kind: LeadKind, stage: Stage) -> str:
    """The Chinese name of a stage as a lead of this kind calls it."""
    return SCENARIO_LABELS.get(stage, stage.label) if kind == LeadKind.scenario else stage.label


def _position(kind: LeadKind, stage: Stage) -> int:
    """Where a stage lies in its kind's pipeline."""
    return next(at for at, step in enumerate(PIPELINES[kind]) if stage in step)


def refusal(kind: LeadKind, current: Stage, target: Stage) -> str | None:
    """Why a lead of `kind` may not move from `current` to `target` (in Chinese), or None when it may."""
    name = stage_label(kind, target)
    if target not in stages_of(kind):
        return f"{kind.label}跟进没有「{name}」阶段"
    if current in FINAL:
        return f"该跟进已是「{stage_label(kind, current)}」，不能再变更阶段；重新跟进请新建一条跟进"
    if target == Stage.lost:
        return None
    if target == current:
        return f"该跟进已处于「{name}」阶段"
    if _position(kind, target) < _position(kind, current):
        return f"阶段不能倒退：不能从「{stage_label(kind, current)}」回到「{name}」"
    if target == Stage.moved_in and current != Stage.signed:
        return "入驻之前须先签约：请先登记「签约」（签约面积、租金、预计人数）"
    return None


class OutcomeStage(LabelledEnum):
    """How far a recommended pair must get to count as a success when weights are learned from outcomes."""

    visited = "visited", "带看"
    signed = "signed", "签约"


OUTCOME_TARGETS: dict[OutcomeStage, dict[LeadKind, Stage]] = {
    OutcomeStage.visited: {LeadKind.building: Stage.visited, LeadKind.scenario: Stage.shortlisted},
    OutcomeStage.signed: {LeadKind.building: Stage.signed, LeadKind.scenario: Stage.won},
}
"""The stage each kind must reach: a scenario's shortlisting stands for a visit, winning for signing."""


def outcome(kind: LeadKind, passed: Iterable[Stage], current: Stage, target: OutcomeStage) -> bool | None:
    """Whether a lead that passed `passed` reached `target` (True), ended short (False) or is open (None)."""
    goal = _position(kind, OUTCOME_TARGETS[target][kind])
    ends = {Stage.lost, Stage.not_won}
    if any(_position(kind, stage) >= goal for stage in passed if stage not in ends):
        return True
    return False if current in FINAL else None


ONE_OFFER = "须填写楼宇编号（building_id）或场景编号（scenario_id）之一，不能都填"
"""What a lead's pair lacks when it names both a building and a scenario, or neither."""


class OfferChoice:
    """Names a building or a scenario by id (exactly one): the kind of lead it makes."""

    building_id: str | None
    scenario_id: str | None

    @property
    def names_one_offer(self) -> bool:
        """Whether exactly one of a building and a scenario is named."""
        return (self.building_id is None) != (self.scenario_id is None)

    @property
    def kind(self) -> LeadKind:
        """A building lead when a building is named, else a scenario lead."""
        return LeadKind.building if self.building_id is not None else LeadKind.scenario

    @property
    def offer_id(self) -> str:
        """The building's or the scenario's id."""
        return self.building_id or self.scenario_id or ""


class Lead(Base):
    """One enterprise paired with a building or a scenario, at its current stage, with that stage's facts."""

    __tablename__ = "lead"
    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'building' AND building_id IS NOT NULL AND scenario_id IS NULL)"
            " OR (kind = 'scenario' AND scenario_id IS NOT NULL AND building_id IS NULL)",
            name="one_offer",
        ),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("ix_lead_pair", "enterprise_id", "building_id", "scenario_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LeadKind] = mapped_column(enum_column(LeadKind, "lead_kind"))
    enterprise_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    building_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    scenario_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    enterprise_name: Mapped[str] = mapped_column(sa.String(200))
    """The names when the lead was created, shown should a record leave the catalogue."""
    offer_name: Mapped[str] = mapped_column(sa.String(300))
    district: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    """The building's (or the scenario's) district: whose staff may change the lead."""
    industry: Mapped[str | None] = mapped_column(sa.String(32))
    """The enterprise's main industry (declared, else inferred) when the lead was created."""
    origin: Mapped[str | None] = mapped_column(sa.String(32))
    """The enterprise's origin when the lead was created."""
    stage: Mapped[Stage] = mapped_column(enum_column(Stage, "lead_stage"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    owner: Mapped[str] = mapped_column(sa.String(64), index=True)
    """The user who created the lead."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    stage_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    """When the current stage was reached."""

    signed_area_m2: Mapped[float | None]
    rent_yuan_m2_month: Mapped[float | None]
    expected_headcount: Mapped[int | None]
    signed_on: Mapped[date | None]
    moved_in_on: Mapped[date | None]
    actual_headcount: Mapped[int | None]
    contract_wan_yuan: Mapped[float | None]
    lost_reason: Mapped[LostReason | None] = mapped_column(enum_column(LostReason, "lost_reason"))

    match_weights_version: Mapped[int | None]
    """The match as the server computed it when the lead was created from an answer (else None)."""
    match_rank: Mapped[int | None]
    match_score: Mapped[float | None]
    match_components: Mapped[dict[str, float] | None] = mapped_column(sa.JSON)

    history: Mapped[list[LeadEvent]] = relationship(
        back_populates="lead", order_by="LeadEvent.id", cascade="all, delete-orphan"
    )

    @property
    def offer_id(self) -> str:
        """The building's or the scenario's id."""
        return self.building_id or self.scenario_id or ""

    @property
    def stage_name(self) -> str:
        """The current stage as this kind of lead calls it."""
        return stage_label(self.kind, self.stage)

    @property
    def is_open(self) -> bool:
        """Whether the lead may still move."""
        return self.stage not in FINAL


class LeadEvent(Base):
    """One stage change of a lead (its creation included): append-only."""

    __tablename__ = "lead_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(64))
    from_stage: Mapped[Stage | None] = mapped_column(enum_column(Stage, "lead_from_stage"))
    stage: Mapped[Stage] = mapped_column(enum_column(Stage, "lead_event_stage"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    facts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    lead: Mapped[Lead] = relationship(back_populates="history")
