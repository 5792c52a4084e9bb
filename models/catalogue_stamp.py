"""A write counter per record kind, so that every process can tell the catalogue has changed."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base


class CatalogueStamp(Base):
    """How many times the records of one kind have been written."""

    __tablename__ = "catalogue_stamp"

    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)


def bump(session: Session, kind: str) -> int:
    """Count one more write of `kind` in the caller's transaction; return the new version.

    The migration creates one row per kind, so the update always finds its row (and locks it).
    """
    statement = (
        sa.update(CatalogueStamp)
        .where(CatalogueStamp.kind == kind)
        .values(version=CatalogueStamp.version + 1)
        .returning(CatalogueStamp.version)
    )
    return int(session.execute(statement).scalar_one())


def stamps(session: Session) -> dict[str, int]:
    """The current version of every kind that has been written."""
    return {
        row.kind: row.version
        for row in session.execute(sa.select(CatalogueStamp.kind, CatalogueStamp.version))
    }
