"""Weight governance: the current version, and immutable new versions with who, when and why."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, create_model
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from matcher.weights import Weights
from models.audit import record as audit
from models.weights_version import WeightsVersion

FIRST_REASON = "默认权重（系统初始化）"
MAX_VERSION = 2**31 - 1
"""The largest version number a database integer column holds."""

if TYPE_CHECKING:
    WholeWeights = Weights
else:
    WholeWeights = create_model(
        "WholeWeights",
        __base__=Weights,
        __doc__="Every weight given as a number: a change never silently falls back to a default.",
        **{
            name: (float, Field(ge=0.0, le=1.0, strict=True, description=field.description))
            for name, field in Weights.model_fields.items()
        },
    )


BLANKS = " \t\n\r"
REASON_PATTERN = r"^[^\x00]*[^\x00 \t\n\r][^\x00]*$"
"""A reason has something besides blanks and no NUL character (which no text column can hold)."""


def _readable(text: str) -> str:
    """Reject a reason that is blank or holds a NUL character, with a message in Chinese."""
    if "\x00" in text:
        raise ValueError("不能包含 NUL 字符")
    if not text.strip(BLANKS):
        raise ValueError("不能为空或只有空白")
    return text


Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500),
    AfterValidator(_readable),
    Field(description="修改原因（必填，1–500 字）", json_schema_extra={"pattern": REASON_PATTERN}),
]
"""Why weights change: required, at most 500 characters."""


class StaleVersion(Exception):
    """A change based on a version that is no longer the current one."""

    def __init__(self, expected: int, current: int) -> None:
        """Keep both version numbers; the message names them."""
        self.expected = expected
        self.current = current
        super().__init__(
            f"expected_version 已过期：修改基于版本 {expected}，"
            f"当前权重版本为 {current}，请基于最新版本重新提交"
        )


@dataclass(frozen=True)
class HistoryEntry:
    """One version as the history shows it, with its changes against the version before."""

    version: int
    weights: dict[str, Any]
    reason: str
    author: str
    created_at: datetime
    restored_from: int | None
    diff: dict[str, list[Any]]


def current(session: Session) -> WeightsVersion:
    """The newest weights version, creating version 1 with the defaults when there is none."""
    latest = session.scalar(select(WeightsVersion).order_by(WeightsVersion.version.desc()).limit(1))
    if latest is None:
        latest = WeightsVersion(
            version=1, weights=Weights().model_dump(), reason=FIRST_REASON, author="system"
        )
        session.add(latest)
        session.flush()
    return latest


def latest_number(session: Session) -> int:
    """The newest version number (0 when none is saved)."""
    return session.scalar(select(func.max(WeightsVersion.version))) or 0


def meanings() -> dict[str, str]:
    """Every weight's meaning in Chinese."""
    return {name: field.description or "" for name, field in Weights.model_fields.items()}


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """The weights that differ: `{name: [old, new]}` (None where a side lacks the name)."""
    return {
        name: [old.get(name), new.get(name)] for name in sorted(old | new) if old.get(name) != new.get(name)
    }


def _append(
    session: Session,
    *,
    weights: dict[str, Any],
    reason: str,
    author: str,
    expected_version: int | None,
    restored_from: int | None,
    action: str,
) -> WeightsVersion:
    """Insert and audit the version after the current one; StaleVersion when that is not the expected one."""
    latest = current(session)
    if expected_version is not None and expected_version != latest.version:
        raise StaleVersion(expected_version, latest.version)
    new = WeightsVersion(
        version=latest.version + 1,
        weights=weights,
        reason=reason,
        author=author,
        restored_from=restored_from,
    )
    try:
        with session.begin_nested():
            session.add(new)
    except (IntegrityError, OperationalError) as exc:
        if not _lost_race(exc):
            raise
        # SQLite's stale snapshot still shows the old number: the current one is at least the next.
        raise StaleVersion(latest.version, max(latest_number(session), latest.version + 1)) from None
    audit(
        session,
        actor=author,
        action=action,
        target_kind="weights",
        target_id=str(new.version),
        before=latest.weights,
        after=new.weights,
    )
    return new


def _lost_race(exc: IntegrityError | OperationalError) -> bool:
    """Whether another writer saved first: our version number was taken, or SQLite's snapshot went stale."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY_SNAPSHOT


def save(
    session: Session, *, weights: Weights, reason: str, author: str, expected_version: int
) -> WeightsVersion:
    """Create the next version with `weights` (audited); StaleVersion unless `expected_version` is current."""
    return _append(
        session,
        weights=weights.model_dump(),
        reason=reason,
        author=author,
        expected_version=expected_version,
        restored_from=None,
        action="weights.set",
    )


def rollback(
    session: Session, *, version: int, reason: str | None, author: str, expected_version: int | None
) -> WeightsVersion:
    """Make an old version current again as a new version (audited); LookupError when it does not exist."""
    target = session.get(WeightsVersion, version)
    if target is None:
        raise LookupError(f"权重版本 {version} 不存在（当前最新为版本 {current(session).version}）")
    return _append(
        session,
        weights=dict(target.weights),
        reason=reason or f"回滚到版本 {version}",
        author=author,
        expected_version=expected_version,
        restored_from=version,
        action="weights.rollback",
    )


def history(session: Session) -> list[HistoryEntry]:
    """Every version, newest first, with who, when, why and its diff against the version before."""
    current(session)
    versions = session.scalars(select(WeightsVersion).order_by(WeightsVersion.version)).all()
    entries = []
    previous: dict[str, Any] | None = None
    for row in versions:
        entries.append(
            HistoryEntry(
                version=row.version,
                weights=dict(row.weights),
                reason=row.reason,
                author=row.author,
                created_at=row.created_at,
                restored_from=row.restored_from,
                diff={} if previous is None else diff(previous, row.weights),
            )
        )
        previous = row.weights
    return entries[::-1]
