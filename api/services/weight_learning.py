"""Weights learned from the leads' outcomes, replayed against the current version: proposed, never applied."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services import weights as weights_service
from api.services.write import Refused
from matcher.outcomes import Outcome, TooFewOutcomes, factor_values
from matcher.replay import BadSplit, Proposal
from matcher.replay import propose as replay_proposal
from matcher.weights import Weights
from models.clock import china_date
from models.lead import Lead, LeadEvent, OutcomeStage, Stage, outcome
from models.weights_version import WeightsVersion


def outcomes(session: Session, stage: OutcomeStage) -> list[Outcome]:
    """Every decided lead begun from a match the server computed, as learning reads it (two queries)."""
    versions = {row.version: Weights(**row.weights) for row in session.scalars(select(WeightsVersion)).all()}
    matched = (
        Lead.match_components.is_not(None),
        Lead.match_rank.is_not(None),
        Lead.match_weights_version.is_not(None),
    )
    passed: dict[int, list[Stage]] = defaultdict(list)
    for lead_id, event_stage in session.execute(
        select(LeadEvent.lead_id, LeadEvent.stage).join(Lead).where(*matched)
    ):
        passed[lead_id].append(event_stage)
    found = []
    for lead in session.scalars(select(Lead).where(*matched).order_by(Lead.id)):
        weights = versions.get(lead.match_weights_version or 0)
        reached = outcome(lead.kind, passed[lead.id], lead.stage, stage)
        if weights is None or reached is None or lead.match_components is None or lead.match_rank is None:
            continue
        found.append(
            Outcome(
                pairing=lead.kind.offers,
                group=lead.enterprise_id,
                began=china_date(lead.created_at),
                rank=lead.match_rank,
                values=factor_values(lead.match_components, weights),
                progressed=reached,
            )
        )
    return found


def propose(
    session: Session, *, stage: OutcomeStage = OutcomeStage.visited, split: date | None = None
) -> Proposal:
    """Weights learned from the leads before `split` and replayed on those after; Refused names the field.

    Nothing is saved: an administrator saves a proposal through the weights service like any change.
    """
    current = weights_service.current(session)
    try:
        return replay_proposal(
            outcomes(session, stage),
            Weights(**current.weights),
            current_version=current.version,
            stage=stage,
            split=split,
        )
    except BadSplit as exc:
        raise Refused(str(exc), "split" if split is not None else "leads") from None
    except TooFewOutcomes as exc:
        raise Refused(f"切分日期之前的跟进不足以学习：{exc}", "leads") from None
