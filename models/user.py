"""Users, their roles and their API tokens (stored only as hashes)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime, enum_column, utcnow
from models.enums import District, LabelledEnum


class Role(LabelledEnum):
    """What a user may do (SPEC section 7)."""

    staff = "staff", "招商人员"
    admin = "admin", "管理员"


class User(Base):
    """A person who signs in: investment-promotion staff or an administrator."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    district: Mapped[District | None] = mapped_column(enum_column(District, "user_district"))
    """The district a staff user works for: they change only its leads and their own (None: any)."""
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is kept, the token itself is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
