"""The building table: a stock building (or leasable part of one) from a district ledger."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CatalogueRow, UtcDateTime, enum_column, utcnow
from models.enums import District, FitOut, Grade


class Building(CatalogueRow, Base):
    """A vacant office building on a district's ledger (楼宇台账)."""

    __tablename__ = "building"
    __table_args__ = (
        sa.CheckConstraint("vacant_area_m2 > 0", name="vacant_area_positive"),
        sa.CheckConstraint(
            "min_unit_m2 IS NULL OR (min_unit_m2 > 0 AND min_unit_m2 <= vacant_area_m2)",
            name="min_unit_in_range",
        ),
        sa.CheckConstraint("rent_yuan_m2_month >= 0", name="rent_not_negative"),
        sa.CheckConstraint("(lat IS NULL) = (lon IS NULL)", name="lat_lon_together"),
    )

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    district: Mapped[District] = mapped_column(enum_column(District, "district"), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(300))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    vacant_area_m2: Mapped[float]
    min_unit_m2: Mapped[float | None]
    rent_yuan_m2_month: Mapped[float]
    fit_out: Mapped[FitOut] = mapped_column(enum_column(FitOut, "fit_out"))
    grade: Mapped[Grade | None] = mapped_column(enum_column(Grade, "grade"))
    focus_industries: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    amenities: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    incentives: Mapped[str | None] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    available_from: Mapped[date | None]
    vacancy_as_of: Mapped[datetime | None] = mapped_column(UtcDateTime, default=utcnow)
    """When `vacant_area_m2` was last written with a new figure (leads moved in later come off it)."""
