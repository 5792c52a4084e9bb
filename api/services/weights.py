"""Weight governance: the current version, and immutable new versions with who, when and why (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, create_model
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.write import Actor, Conflict, Live, NotFound, WeightsChange, commit
from matcher.weights import Weights
from models.audit import record as audit
from models.database import begin_write, writing
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


class StaleVersion(Conflict):
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


class UnknownVersion(NotFound):
    """A rollback to a version that was never saved."""


def _newest(session: Session) -> WeightsVersion | None:
    """The newest stored version."""
    return session.scalar(select(WeightsVersion).order_by(WeightsVersion.version.desc()).limit(1))


def current(session: Session) -> WeightsVersion:
    """The newest weights version; on a new database, version 1 with the defaults is saved first."""
    latest = _newest(session)
    if latest is not None:
        return latest
    within = writing(session)
    begin_write(session)
    latest = _newest(session)
    if latest is None:
        latest = WeightsVersion(
            version=1, weights=Weights().model_dump(), reason=FIRST_REASON, author="system"
        )
        session.add(latest)
        session.flush()
    if not within:
        session.commit()
    return latest


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
    actor: Actor,
    live: Live | None,
    weights: dict[str, Any],
    reason: str,
    expected_version: int | None,
    restored_from: int | None,
    action: str,
) -> WeightsVersion:
    """Save, audit and commit the version after the current one; StaleVersion unless that is the expected one.

    The write lock makes the check and the insert one step: two admins saving at once get versions one
    after the other, or a StaleVersion naming the newer one — never the same number twice.
    """
    begin_write(session)
    latest = current(session)
    if expected_version is not None and expected_version != latest.version:
        raise StaleVersion(expected_version, latest.version)
    new = WeightsVersion(
        version=latest.version + 1,
        weights=weights,
        reason=reason,
        author=actor.name,
        restored_from=restored_from,
    )
    session.add(new)
    audit(
        session,
        actor=actor.name,
        action=action,
        target_kind="weights",
        target_id=str(new.version),
        before=latest.weights,
        after=new.weights,
    )
    commit(session, live, WeightsChange(new.version, Weights.model_validate(new.weights)))
    return new


def save(
    *,
    session: Session,
    actor: Actor,
    live: Live | None,
    weights: Weights,
    reason: str,
    expected_version: int | None,
) -> WeightsVersion:
    """Make `weights` the next version (audited); StaleVersion unless `expected_version` is current."""
    return _append(
        session,
        actor=actor,
        live=live,
        weights=weights.model_dump(),
        reason=reason,
        expected_version=expected_version,
        restored_from=None,
        action="weights.set",
    )


def rollback(
    *,
    session: Session,
    actor: Actor,
    live: Live | None,
    version: int,
    reason: str | None,
    expected_version: int | None,
) -> WeightsVersion:
    """Make an old version current again as a new version (audited); UnknownVersion if never saved."""
    target = session.get(WeightsVersion, version)
    if target is None:
        raise UnknownVersion(f"权重版本 {version} 不存在（当前最新为版本 {current(session).version}）")
    return _append(
        session,
        actor=actor,
        live=live,
        weights=dict(target.weights),
        reason=reason or f"回滚到版本 {version}",
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
