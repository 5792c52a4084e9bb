"""Weight governance: the current version, and immutable new versions with who, when and why."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.weights import Weights
from models.weights_version import WeightsVersion

FIRST_REASON = "默认权重（系统初始化）"


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
