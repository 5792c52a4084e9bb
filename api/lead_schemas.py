"""What the lead endpoints take and give (SPEC §8): a new lead, a lead with its history, a page of leads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from api.schemas import AsSent, printable
from models.lead import ONE_OFFER, Lead, LeadEvent, LeadKind, LostReason, OfferChoice, Stage, stage_label
from models.lead_facts import Note, StageChange
from models.records import cross_field_error

OfferId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(printable)]


class LeadIn(OfferChoice, AsSent):
    """`POST /leads`: an enterprise and a building or a scenario (exactly one), with a note."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    enterprise_id: OfferId
    building_id: OfferId | None = None
    scenario_id: OfferId | None = None
    note: Note = ""

    @model_validator(mode="after")
    def _one_offer(self) -> Self:
        """A building or a scenario, not both and not neither."""
        if not self.names_one_offer:
            raise cross_field_error("building_id", ONE_OFFER)
        return self


class StageChangeIn(AsSent, StageChange):
    """`POST /leads/{id}/stage` as sent: each JSON value already of a type its field allows."""


class LeadEventOut(BaseModel):
    """One stage change: who, when, from which stage to which, the note and the stage's facts."""

    at: datetime
    actor: str
    from_stage: Stage | None
    stage: Stage
    stage_label: str
    note: str
    facts: dict[str, Any]


class MatchSeenOut(BaseModel):
    """The match as the server computed it when the lead was started from an answer."""

    weights_version: int
    rank: int
    score: float
    components: dict[str, float]


class LeadOut(BaseModel):
    """A lead, its current stage's facts, the match it was started from and its history."""

    id: int
    kind: LeadKind
    enterprise_id: str
    enterprise_name: str
    building_id: str | None
    scenario_id: str | None
    offer_name: str
    district: str | None
    industry: str | None
    origin: str | None
    stage: Stage
    stage_label: str
    version: int
    owner: str
    created_at: datetime
    stage_at: datetime
    signed_area_m2: float | None
    rent_yuan_m2_month: float | None
    expected_headcount: int | None
    signed_on: date | None
    moved_in_on: date | None
    actual_headcount: int | None
    contract_wan_yuan: float | None
    lost_reason: LostReason | None
    match: MatchSeenOut | None
    history: list[LeadEventOut]


class LeadPage(BaseModel):
    """One page of leads, the most recently moved first."""

    items: list[LeadOut]
    total: int
    limit: int
    offset: int


def event_out(lead: Lead, event: LeadEvent) -> LeadEventOut:
    """A history entry as the API shows it."""
    return LeadEventOut(
        at=event.at,
        actor=event.actor,
        from_stage=event.from_stage,
        stage=event.stage,
        stage_label=stage_label(lead.kind, event.stage),
        note=event.note,
        facts=event.facts,
    )


def lead_out(lead: Lead) -> LeadOut:
    """A stored lead as the API shows it."""
    match = (
        None
        if lead.match_rank is None or lead.match_score is None or lead.match_weights_version is None
        else MatchSeenOut(
            weights_version=lead.match_weights_version,
            rank=lead.match_rank,
            score=lead.match_score,
            components=lead.match_components or {},
        )
    )
    fields = {
        name: getattr(lead, name)
        for name in LeadOut.model_fields
        if name not in ("match", "history", "stage_label")
    }
    return LeadOut(
        **fields,
        stage_label=lead.stage_name,
        match=match,
        history=[event_out(lead, event) for event in lead.history],
    )
