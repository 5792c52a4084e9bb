"""Leads (跟进, SPEC §8): start one for a firm and a building or scenario, move it on stage by stage.

Every write takes the write lock, checks the lead against what is stored now (its version, who may
change it, the stage rule, the building's available area), writes the lead and its history entry,
audits, and commits; a change that moves capacity makes every process's matching follow it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from api.services import matching
from api.services.write import (
    Actor,
    CatalogueChange,
    Change,
    Conflict,
    Forbidden,
    Live,
    NotFound,
    Refused,
    capacity_change,
    commit,
)
from api.state import AppState
from matcher.directions import for_firm
from matcher.industry import infer_industries
from matcher.ranking import declared
from matcher.registry import OfferKind
from matcher.text import record_text
from models.audit import record as audit
from models.base import utcnow
from models.capacity import load_capacity
from models.catalogue import get_record, upsert_records
from models.clock import china_today
from models.database import begin_write
from models.enums import ScenarioStatus
from models.lead import FINAL, PLACING, Lead, LeadEvent, LeadKind, Stage, refusal
from models.lead_facts import StageChange, StageFacts, moved_in_refusal
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, ScenarioRecord
from models.user import Role

OFFER_KINDS: dict[LeadKind, OfferKind] = {LeadKind.building: "buildings", LeadKind.scenario: "scenarios"}
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class MatchSeen:
    """The match of a pair as the server computed it when the lead was started."""

    weights_version: int
    rank: int
    score: float
    components: dict[str, float]


def _firm(session: Session, enterprise_id: str) -> EnterpriseRecord:
    """The stored enterprise, or NotFound naming it."""
    record = get_record(session, "enterprises", enterprise_id)
    if not isinstance(record, EnterpriseRecord):
        raise NotFound(f"企业「{enterprise_id}」不存在")
    return record


def _offer(session: Session, kind: LeadKind, offer_id: str) -> BuildingRecord | ScenarioRecord:
    """The stored building or scenario, or NotFound; a scenario that is not open is refused."""
    record = get_record(session, OFFER_KINDS[kind], offer_id)
    if not isinstance(record, BuildingRecord | ScenarioRecord):
        raise NotFound(f"{kind.label}「{offer_id}」不存在")
    if isinstance(record, ScenarioRecord):
        if record.status != ScenarioStatus.open:
            raise Refused(
                f"场景「{record.title}」当前为「{record.status.label}」，只有征集中的场景可以跟进",
                "scenario_id",
            )
        if record.deadline is not None and record.deadline < china_today():
            raise Refused(
                f"场景「{record.title}」已于 {record.deadline.isoformat()} 截止，不能再跟进", "scenario_id"
            )
    return record


def _name(record: CatalogueRecord) -> str:
    """A building's name or a scenario's title."""
    return record.title if isinstance(record, ScenarioRecord) else str(getattr(record, "name", ""))


def main_industry(firm: EnterpriseRecord) -> str | None:
    """The firm's first industry: declared, else the one the lexicon finds its text points to most."""
    guesses = infer_industries(record_text(firm), declared(firm))
    return guesses[0].code if guesses else None


def seen_in_match(
    state: AppState, session: Session, kind: LeadKind, firm: str | EnterpriseRecord, offer_id: str
) -> MatchSeen | None:
    """Where the current weights rank the offer for the firm (within the top `MAX_K`), or None."""
    direction = for_firm(OFFER_KINDS[kind])
    answer = matching.match(state=state, session=session, direction=direction, record=firm, k=matching.MAX_K)
    for match in answer.result.results:
        if match.id == offer_id:
            return MatchSeen(answer.weights_version, match.rank, match.score, dict(match.components))
    return None


def start(
    *,
    session: Session,
    actor: Actor,
    live: Live | None,
    state: AppState | None,
    enterprise: str | EnterpriseRecord,
    kind: LeadKind,
    offer_id: str,
    note: str = "",
) -> Lead:
    """Start a lead at `recommended`, keeping the match as the server ranks it now (when `state` is given).

    `enterprise` is a stored firm's id, or a typed-in firm (a prospect on the phone) that is stored
    as a new enterprise in the same write; its id must be new.
    """
    seen = seen_in_match(state, session, kind, enterprise, offer_id) if state is not None else None
    begin_write(session)
    changes: tuple[Change, ...] = ()
    if isinstance(enterprise, EnterpriseRecord):
        firm, changes = enterprise, (_store_new_firm(session, actor, enterprise),)
    else:
        firm = _firm(session, enterprise)
    offer = _offer(session, kind, offer_id)
    already = _open_lead(session, kind, firm.id, offer_id)
    if already is not None:
        raise Conflict(
            f"企业「{firm.name}」与{kind.label}「{_name(offer)}」已有进行中的跟进（编号 {already}）"
        )
    lead = Lead(
        kind=kind,
        enterprise_id=firm.id,
        building_id=offer.id if kind == LeadKind.building else None,
        scenario_id=offer.id if kind == LeadKind.scenario else None,
        enterprise_name=firm.name,
        offer_name=_name(offer),
        district=offer.district.value if offer.district else None,
        industry=main_industry(firm),
        origin=firm.origin.value if firm.origin else None,
        stage=Stage.recommended,
        version=1,
        owner=actor.name,
    )
    if seen is not None:
        lead.match_weights_version = seen.weights_version
        lead.match_rank, lead.match_score, lead.match_components = seen.rank, seen.score, seen.components
    lead.history.append(
        LeadEvent(actor=actor.name, from_stage=None, stage=Stage.recommended, note=note, facts={})
    )
    session.add(lead)
    session.flush()
    audit(
        session,
        actor=actor.name,
        action="lead.start",
        target_kind="lead",
        target_id=str(lead.id),
        after=snapshot(lead),
    )
    commit(session, live, *changes)
    return lead


def _store_new_firm(session: Session, actor: Actor, firm: EnterpriseRecord) -> CatalogueChange:
    """Store a typed-in firm as a new enterprise (audited); Conflict when its id is taken."""
    if get_record(session, "enterprises", firm.id) is not None:
        raise Conflict(f"企业编号「{firm.id}」已存在")
    report = upsert_records(session, "enterprises", [firm])
    after = firm.model_dump(mode="json")
    audit(
        session, actor=actor.name, action="create", target_kind="enterprises", target_id=firm.id, after=after
    )
    return CatalogueChange("enterprises", report.stamp, put=[firm])


def _open_lead(session: Session, kind: LeadKind, enterprise_id: str, offer_id: str) -> int | None:
    """The id of an open lead of the same pair, if there is one."""
    offer_column = Lead.building_id if kind == LeadKind.building else Lead.scenario_id
    return session.scalar(
        select(Lead.id).where(
            Lead.kind == kind,
            Lead.enterprise_id == enterprise_id,
            offer_column == offer_id,
            Lead.stage.not_in(FINAL),
        )
    )


def may_change(actor: Actor, lead: Lead) -> bool:
    """Admins change any lead; a district's staff change its leads and the leads they created."""
    district = actor.district
    return (
        actor.role == Role.admin or district is None or lead.district == district or lead.owner == actor.name
    )


def get(session: Session, lead_id: int) -> Lead:
    """A lead by id, or NotFound."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"跟进记录 {lead_id} 不存在")
    return lead


def advance(*, session: Session, actor: Actor, live: Live | None, lead_id: int, change: StageChange) -> Lead:
    """Move a lead on (or to `lost`) with the stage's facts and a note; a refused change writes nothing."""
    begin_write(session)
    lead = get(session, lead_id)
    if not may_change(actor, lead):
        raise Forbidden(
            f"您只能变更{actor.district}的跟进或您本人创建的跟进（该跟进属于{lead.district or '未定区域'}）"
        )
    if lead.version != change.expected_version:
        raise Conflict(
            f"该跟进已被他人更新（当前版本 {lead.version}，"
            f"您提交的是版本 {change.expected_version}），请刷新后再试"
        )
    why = refusal(lead.kind, lead.stage, change.stage)
    if why is not None:
        raise Refused(why, "stage")
    today = china_today()
    _check_facts(session, lead, change, today)
    before = snapshot(lead)
    moves_capacity = lead.kind == LeadKind.building and (change.stage in PLACING or lead.stage in PLACING)
    facts = change.given()
    lead.history.append(
        LeadEvent(
            actor=actor.name, from_stage=lead.stage, stage=change.stage, note=change.note, facts=_json(facts)
        )
    )
    for name, value in facts.items():
        setattr(lead, name, value)
    if change.stage == Stage.signed:
        lead.signed_on = today
    lead.stage = change.stage
    lead.version += 1
    lead.stage_at = utcnow()
    audit(
        session,
        actor=actor.name,
        action="lead.stage",
        target_kind="lead",
        target_id=str(lead.id),
        before=before,
        after=snapshot(lead),
    )
    commit(session, live, *((capacity_change(session),) if moves_capacity else ()))
    return lead


def _check_facts(session: Session, lead: Lead, change: StageChange, today: date) -> None:
    """The facts against what is stored: signed area within the available area, a sensible move-in date."""
    if change.stage == Stage.signed and change.signed_area_m2 is not None and lead.building_id:
        building = get_record(session, "buildings", lead.building_id)
        if not isinstance(building, BuildingRecord):
            raise Refused(f"楼宇「{lead.offer_name}」已不在台账中，不能签约", "building_id")
        available = building.vacant_area_m2 - load_capacity(session).taken.get(building.id, 0.0)
        if change.signed_area_m2 > available:
            raise Refused(
                f"签约面积 {change.signed_area_m2:,.0f}㎡ 超过楼宇「{building.name}」"
                f"当前可用面积 {max(available, 0):,.0f}㎡",
                "signed_area_m2",
            )
    if change.stage == Stage.moved_in and change.moved_in_on is not None:
        why = moved_in_refusal(change.moved_in_on, lead.signed_on, today)
        if why is not None:
            raise Refused(why, "moved_in_on")


def _json(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts as JSON values (dates as ISO text, enums as codes)."""
    return StageFacts.model_validate(facts).model_dump(mode="json", exclude_none=True)


def snapshot(lead: Lead) -> dict[str, Any]:
    """What the audit log keeps of a lead: its pair, stage, version and facts."""
    facts = {name: getattr(lead, name) for name in StageFacts.model_fields}
    return {
        "kind": lead.kind.value,
        "enterprise_id": lead.enterprise_id,
        "offer_id": lead.offer_id,
        "stage": lead.stage.value,
        "version": lead.version,
        **_json({name: value for name, value in facts.items() if value is not None}),
    }


@dataclass(frozen=True)
class LeadFilters:
    """What a list of leads may be narrowed by (each optional)."""

    stage: Stage | None = None
    kind: LeadKind | None = None
    district: str | None = None
    enterprise: str | None = None
    building: str | None = None
    scenario: str | None = None
    owner: str | None = None
    industry: str | None = None
    open_only: bool = False


def find(
    session: Session, filters: LeadFilters, *, limit: int = 50, offset: int = 0, with_history: bool = False
) -> tuple[list[Lead], int]:
    """Leads matching the filters, the most recently moved first, and how many match in all.

    `with_history` reads the leads' histories too, in one more query (not one a lead).
    """
    conditions = [
        condition
        for condition, given in (
            (Lead.stage == filters.stage, filters.stage),
            (Lead.kind == filters.kind, filters.kind),
            (Lead.district == filters.district, filters.district),
            (Lead.enterprise_id == filters.enterprise, filters.enterprise),
            (Lead.building_id == filters.building, filters.building),
            (Lead.scenario_id == filters.scenario, filters.scenario),
            (Lead.owner == filters.owner, filters.owner),
            (Lead.industry == filters.industry, filters.industry),
            (Lead.stage.not_in(FINAL), filters.open_only),
        )
        if given
    ]
    total = session.scalar(select(func.count()).select_from(Lead).where(*conditions)) or 0
    query = select(Lead).where(*conditions).order_by(Lead.stage_at.desc(), Lead.id.desc())
    if with_history:
        query = query.options(selectinload(Lead.history))
    leads = list(session.scalars(query.limit(min(limit, MAX_PER_PAGE)).offset(offset)))
    return leads, total


def open_leads_of(
    session: Session, kind: LeadKind, enterprise_ids: Collection[str], offer_ids: Collection[str]
) -> dict[tuple[str, str], Lead]:
    """Open leads of these firms with these buildings (or scenarios) by (firm id, offer id), in one query."""
    offer_column = Lead.building_id if kind == LeadKind.building else Lead.scenario_id
    found = session.scalars(
        select(Lead).where(
            Lead.kind == kind,
            Lead.enterprise_id.in_(enterprise_ids),
            offer_column.in_(offer_ids),
            Lead.stage.not_in(FINAL),
        )
    )
    return {(lead.enterprise_id, lead.offer_id): lead for lead in found}
