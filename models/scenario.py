"""The scenario table: an application-scenario project published for firms to take on (揭榜)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CatalogueRow, enum_column
from models.enums import District, OwnerType, ScenarioBatch, ScenarioDomain, ScenarioLevel, ScenarioStatus


class Scenario(CatalogueRow, Base):
    """An application scenario (应用场景) from a government body, SOE or key firm."""

    __tablename__ = "scenario"
    __table_args__ = (
        sa.CheckConstraint("budget_wan_yuan IS NULL OR budget_wan_yuan > 0", name="budget_positive"),
        sa.CheckConstraint(
            "status <> 'open' OR (owner IS NOT NULL AND scope IS NOT NULL AND budget_wan_yuan IS NOT NULL)",
            name="open_is_publishable",
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    owner: Mapped[str | None] = mapped_column(sa.String(200))
    owner_type: Mapped[OwnerType | None] = mapped_column(enum_column(OwnerType, "owner_type"))
    level: Mapped[ScenarioLevel | None] = mapped_column(enum_column(ScenarioLevel, "level"))
    district: Mapped[District | None] = mapped_column(enum_column(District, "district"))
    domain: Mapped[ScenarioDomain | None] = mapped_column(enum_column(ScenarioDomain, "domain"))
    description: Mapped[str] = mapped_column(sa.Text)
    scope: Mapped[str | None] = mapped_column(sa.Text)
    industries: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    budget_wan_yuan: Mapped[float | None]
    deadline: Mapped[date | None]
    batch: Mapped[ScenarioBatch | None] = mapped_column(enum_column(ScenarioBatch, "batch"))
    status: Mapped[ScenarioStatus] = mapped_column(enum_column(ScenarioStatus, "status"), index=True)


def takes_applications(status: ScenarioStatus, deadline: date | None, day: date) -> bool:
    """The one rule of who may see and apply: on `day` a scenario is open and its deadline not before it."""
    return status == ScenarioStatus.open and (deadline is None or deadline >= day)


def taking_applications(day: date) -> sa.ColumnElement[bool]:
    """`takes_applications` as a SQL condition on the scenario table."""
    current = sa.or_(Scenario.deadline.is_(None), Scenario.deadline >= day)
    return sa.and_(Scenario.status == ScenarioStatus.open, current)
