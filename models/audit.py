"""The audit log: every write by a user, with who, when, what, and the values before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UtcDateTime, utcnow


class AuditEntry(Base):
    """One recorded write."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(40))
    target_kind: Mapped[str] = mapped_column(sa.String(40))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    before: Mapped[Any | None] = mapped_column(sa.JSON)
    after: Mapped[Any | None] = mapped_column(sa.JSON)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target_kind: str,
    target_id: str | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Add an audit entry to the caller's transaction."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        before=before,
        after=after,
        at=utcnow(),
    )
    session.add(entry)
    return entry
