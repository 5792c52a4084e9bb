"""Writing a demo follow-up history into the database: bulk inserts, backdated as it happened."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from demo.history import HISTORY_DAYS, HistoryLead
from models.capacity import Capacity, capacity_write
from models.clock import china_date
from models.lead import FACT_NAMES, Lead, LeadEvent, LeadKind, Stage


@dataclass(frozen=True)
class HistoryReport:
    """What loading a history wrote: how many leads, and how many reached each stage they ended at."""

    leads: int
    stages: dict[Stage, int]
    kind: Literal["leads"] = "leads"

    def summary(self) -> str:
        """One line in Chinese for people."""
        months = round(HISTORY_DAYS / 30.4)
        return (
            f"跟进记录（近 {months} 个月的演示历史）：共 {self.leads} 条，"
            f"签约未入驻 {self.stages.get(Stage.signed, 0)}，已入驻 {self.stages.get(Stage.moved_in, 0)}，"
            f"中标 {self.stages.get(Stage.won, 0)}，流失 {self.stages.get(Stage.lost, 0)}"
        )


def write_history(session: Session, leads: Sequence[HistoryLead]) -> tuple[HistoryReport, Capacity]:
    """Insert the leads and their stage histories in the caller's transaction, which holds the write lock.

    Core inserts of whole tables: the ORM's bulk insert splits rows by which facts are None and then
    sorts the returned ids row by row (seconds instead of a fraction of one for 3,000 leads).

    Capacity is counted as changed (so every process's matching follows it); returns what was written
    and the capacity as it now stands.
    """
    if leads:
        rows = [_lead_row(lead) for lead in leads]
        leads_table, events_table = cast(Table, Lead.__table__), cast(Table, LeadEvent.__table__)
        statement = insert(leads_table).returning(leads_table.c.id, sort_by_parameter_order=True)
        ids = session.scalars(statement, rows).all()
        events = [
            {
                "lead_id": lead_id,
                "at": event.at,
                "actor": event.actor,
                "from_stage": before.stage if before is not None else None,
                "stage": event.stage,
                "note": event.note,
                "facts": event.facts.model_dump(mode="json", exclude_none=True),
            }
            for lead_id, lead in zip(ids, leads, strict=True)
            for before, event in zip((None, *lead.events), lead.events, strict=False)
        ]
        session.execute(insert(events_table), events)
    _, capacity = capacity_write(session)
    return HistoryReport(len(leads), dict(Counter(lead.stage for lead in leads))), capacity


def _lead_row(lead: HistoryLead) -> dict[str, Any]:
    """A lead's column values: its pair, stage, every fact its history recorded, and the match."""
    signed = next((event for event in lead.events if event.stage == Stage.signed), None)
    return {
        "kind": lead.kind,
        "enterprise_id": lead.enterprise_id,
        "building_id": lead.offer_id if lead.kind == LeadKind.building else None,
        "scenario_id": lead.offer_id if lead.kind == LeadKind.scenario else None,
        "enterprise_name": lead.enterprise_name,
        "offer_name": lead.offer_name,
        "district": lead.district,
        "industry": lead.industry,
        "origin": lead.origin,
        "stage": lead.stage,
        "version": len(lead.events),
        "owner": lead.owner,
        "created_at": lead.events[0].at,
        "stage_at": lead.events[-1].at,
        "signed_on": china_date(signed.at) if signed is not None else None,
        **dict.fromkeys(FACT_NAMES),
        **lead.facts(),
        "match_weights_version": lead.weights_version,
        "match_rank": lead.rank,
        "match_score": lead.score,
        "match_components": lead.components,
    }
