"""Versions of the matcher's weights: immutable, numbered, with who, when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime, utcnow


class WeightsVersion(Base):
    """One saved set of weights; the highest version is the current one."""

    __tablename__ = "weights_version"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    weights: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.Text)
    author: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    restored_from: Mapped[int | None]
