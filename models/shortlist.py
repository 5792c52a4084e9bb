"""Shortlists: the buildings a staff user keeps for a firm, kept until the user removes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime, utcnow


class ShortlistItem(Base):
    """One building on a user's shortlist, for one firm, with the match as it was when added."""

    __tablename__ = "shortlist_item"
    __table_args__ = (sa.UniqueConstraint("user_id", "firm_name", "building_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="CASCADE"))
    firm_name: Mapped[str] = mapped_column(sa.String(200))
    """The firm the building was found for; empty when unknown."""
    firm_profile: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    """The firm's profile when added (area need, rent ceiling, origin), for costs and incentives."""
    building_id: Mapped[str] = mapped_column(sa.String(64))
    building_name: Mapped[str] = mapped_column(sa.String(200))
    """The building's name when added, shown should the building leave the catalogue."""
    district: Mapped[str] = mapped_column(sa.String(20))
    score: Mapped[float | None]
    reasons: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    find_query: Mapped[str] = mapped_column(sa.Text, default="")
    """The query string of the search that found it, to go back to the results."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
