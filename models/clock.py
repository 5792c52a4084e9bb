"""The plan's clock: "today" and dates are Chongqing's (China Standard Time), whatever the server's zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from models.base import utcnow

CHINA = ZoneInfo("Asia/Shanghai")


def china_date(moment: datetime) -> date:
    """The date in Chongqing at an aware moment."""
    return moment.astimezone(CHINA).date()


def china_today() -> date:
    """Today in Chongqing."""
    return china_date(utcnow())
