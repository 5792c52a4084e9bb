"""The shortlist: buildings a staff user keeps for a firm, with the match as it was when kept."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.write import commit
from models.audit import record as audit
from models.database import begin_write
from models.records import BuildingRecord, EnterpriseRecord
from models.shortlist import ShortlistItem
from models.user import User

MAX_REASONS = 10
MAX_REASON_CHARS = 300


def keep(
    *,
    session: Session,
    user: User,
    building: BuildingRecord,
    firm: EnterpriseRecord | None,
    score: float | None,
    reasons: Sequence[str],
    query: str,
) -> ShortlistItem:
    """Keep a building for a firm (or none) on the user's own list; keeping it again refreshes the row."""
    begin_write(session)
    firm_name = firm.name if firm else ""
    item = session.scalar(
        select(ShortlistItem).where(
            ShortlistItem.user_id == user.id,
            ShortlistItem.firm_name == firm_name,
            ShortlistItem.building_id == building.id,
        )
    )
    if item is None:
        item = ShortlistItem(user_id=user.id, firm_name=firm_name, building_id=building.id)
        session.add(item)
    item.firm_profile = firm.model_dump(mode="json", exclude_none=True) if firm else None
    item.building_name = building.name
    item.district = building.district.value
    item.score = score
    item.reasons = [reason[:MAX_REASON_CHARS] for reason in reasons[:MAX_REASONS]]
    item.find_query = query
    _audit(session, user, "shortlist.keep", item, kept=True)
    commit(session, None)
    return item


def remove(*, session: Session, user: User, item_id: int) -> None:
    """Take a row off the user's own list; a row already gone (or another user's) is left as it is."""
    begin_write(session)
    item = session.get(ShortlistItem, item_id)
    if item is None or item.user_id != user.id:
        session.commit()
        return
    session.delete(item)
    _audit(session, user, "shortlist.remove", item, kept=False)
    commit(session, None)


def _audit(session: Session, user: User, action: str, item: ShortlistItem, *, kept: bool) -> None:
    """The audit entry of a row kept (its values after) or removed (its values before)."""
    values = {"firm": item.firm_name, "building": item.building_id, "score": item.score}
    audit(
        session,
        actor=user.name,
        action=action,
        target_kind="shortlist",
        target_id=item.building_id,
        before=None if kept else values,
        after=values if kept else None,
    )
