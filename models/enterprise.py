"""The enterprise table: a registered firm or a prospective one being courted (a lead)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CatalogueRow, enum_column
from models.enums import Origin


class Enterprise(CatalogueRow, Base):
    """A software or information-service firm in the lead pool (招商线索)."""

    __tablename__ = "enterprise"
    __table_args__ = (
        sa.CheckConstraint("headcount IS NULL OR headcount >= 0", name="headcount_not_negative"),
        sa.CheckConstraint("required_area_m2 IS NULL OR required_area_m2 > 0", name="required_area_positive"),
        sa.CheckConstraint(
            "max_rent_yuan_m2_month IS NULL OR max_rent_yuan_m2_month >= 0", name="max_rent_not_negative"
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str | None] = mapped_column(sa.String(18))
    description: Mapped[str] = mapped_column(sa.Text)
    industries: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    headcount: Mapped[int | None]
    required_area_m2: Mapped[float | None]
    max_rent_yuan_m2_month: Mapped[float | None]
    preferred_districts: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    needs_move_in_ready: Mapped[bool] = mapped_column(default=False)
    origin: Mapped[Origin | None] = mapped_column(enum_column(Origin, "origin"))
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
