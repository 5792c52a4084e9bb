"""A write counter per record kind, so that every process can tell the catalogue has changed."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base
from models.weights_version import WeightsVersion


class CatalogueStamp(Base):
    """How many times the records of one kind have been written."""

    __tablename__ = "catalogue_stamp"

    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)


class DatabaseLineage(Base):
    """One row: a random id drawn when the database was created, so that what a process kept of one
    database (the recommender's snapshot) is never taken for another's at the same URL."""

    __tablename__ = "database_lineage"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)


def lineage(session: Session) -> str:
    """The database's lineage id."""
    return str(session.execute(sa.select(DatabaseLineage.id)).scalar_one())


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


@dataclass(frozen=True)
class Versions:
    """What a process compares with what it holds: each kind's stamp and the newest weights version."""

    catalogue: dict[str, int]
    weights: int


WEIGHTS_ROW = "~weights"
"""The row name of the newest weights version in `versions`' query (no record kind is called so)."""


def versions(session: Session) -> Versions:
    """Every kind's stamp and the newest weights version (0 when none), in one round trip."""
    newest_weights = sa.select(
        sa.literal(WEIGHTS_ROW, sa.String(20)), sa.func.coalesce(sa.func.max(WeightsVersion.version), 0)
    )
    rows = session.execute(
        sa.union_all(sa.select(CatalogueStamp.kind, CatalogueStamp.version), newest_weights)
    )
    catalogue = {kind: int(version) for kind, version in rows}
    return Versions(catalogue, catalogue.pop(WEIGHTS_ROW))
