"""What every write shares: who acts, the errors a write answers with, and commit-then-apply.

A service function owns one write, in this order: take the write lock (`models.database.begin_write`),
validate against what is stored now, write, add the audit entry, then `commit`, which also makes the
next match of this process see the change (other processes catch up by the catalogue stamps).
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic_core import ErrorDetails
from sqlalchemy.orm import Session

from api.freshness import announce_write
from matcher.weights import Weights
from models.capacity import Capacity, capacity_write
from models.enums import District
from models.records import CatalogueRecord, RecordKind
from models.user import Role


class Actor(Protocol):
    """Who makes a change: a signed-in `models.user.User`, or the command line's operator."""

    @property
    def name(self) -> str:
        """The name the audit log records."""

    @property
    def role(self) -> Role:
        """What the actor may do."""

    @property
    def district(self) -> District | None:
        """The district whose leads a staff user changes (None: no such limit)."""


@dataclass(frozen=True)
class Operator:
    """The person at the command line (`cli:` and the operating-system user), acting as an administrator."""

    name: str
    role: Role = Role.admin
    district: District | None = None

    @classmethod
    def current(cls) -> Operator:
        """The operating-system user running this command."""
        return cls(f"cli:{getpass.getuser()}"[:64])


class ServiceError(Exception):
    """A write refused with a message in Chinese; nothing was written. `status` is its HTTP status."""

    status = 400


class NotFound(ServiceError):
    """The record to change does not exist (any more)."""

    status = 404


class Forbidden(ServiceError):
    """The actor may not make this change (another district's lead)."""

    status = 403


class Conflict(ServiceError):
    """The change clashes with what is stored (an id taken, a version moved on)."""

    status = 409


class Invalid(ServiceError):
    """The change would leave a record that breaks its rules: every bad field, as pydantic reports them."""

    status = 422

    def __init__(self, errors: list[ErrorDetails]) -> None:
        """Keep the errors (pydantic's, `loc` naming the field)."""
        self.errors = errors
        super().__init__("；".join(str(error.get("msg", "")) for error in errors))


class Refused(Invalid):
    """A change the rules of its domain do not allow (a stage moved backward, more area than is free)."""

    def __init__(self, message: str, field: str = "body") -> None:
        """Report `message` against `field`, the way a cross-field rule of a record is reported."""
        ctx = {"field": field, "message": message}
        super().__init__(
            [{"type": "cross_field", "loc": (field,), "msg": message, "input": None, "ctx": ctx}]
        )


@dataclass(frozen=True)
class CatalogueChange:
    """Records of one kind written (`put`) or deleted (`drop`), and the kind's stamp after the write."""

    kind: RecordKind
    stamp: int
    put: Sequence[CatalogueRecord] = ()
    drop: Sequence[str] = ()


@dataclass(frozen=True)
class WeightsChange:
    """A new current weights version."""

    version: int
    weights: Weights


@dataclass(frozen=True)
class CapacityChange:
    """Capacity as it stands after a write (the whole of it), and the capacity stamp after the write."""

    stamp: int
    capacity: Capacity


Change = CatalogueChange | WeightsChange | CapacityChange


class Live(Protocol):
    """What a process serves from memory (the recommender and its weights), kept in step with writes."""

    def apply(self, change: Change) -> None:
        """Make the next match see a committed change."""


def capacity_change(session: Session) -> CapacityChange:
    """Count a write that moves capacity (a lead's stage, a building's vacancy) and read capacity anew."""
    return CapacityChange(*capacity_write(session))


def after_catalogue_write(session: Session, kind: RecordKind) -> tuple[Change, ...]:
    """What else a catalogue write changes: a building's new vacancy moves its capacity."""
    return (capacity_change(session),) if kind == "buildings" else ()


def commit(session: Session, live: Live | None, *changes: Change) -> None:
    """Commit the write, then make this process's next match see it (`live` is None on the command line)."""
    session.commit()
    announce_write()
    if live is not None:
        for change in changes:
            live.apply(change)
