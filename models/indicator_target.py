"""The plan's targets (指标目标): overall and per district, editable by an administrator."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime, utcnow

CITY = "全市"
"""The scope of the overall targets; other scopes are district names."""
PLAN_TARGETS = {"area_used_m2": 2_000_000.0, "firms_landed": 10_000.0, "jobs": 200_000.0}
"""The action plan's own figures (2 million ㎡ of stock buildings, 10,000 firms, 200,000 jobs)."""


class IndicatorTarget(Base):
    """The targets of one scope (the city, or a district); a figure left empty has no target."""

    __tablename__ = "indicator_target"

    scope: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    area_used_m2: Mapped[float | None]
    firms_landed: Mapped[float | None]
    jobs: Mapped[float | None]
    scenarios_won: Mapped[float | None]
    contract_wan_yuan: Mapped[float | None]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(sa.String(64), default="")
