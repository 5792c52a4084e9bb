"""Users the tests add through the users service."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from api.services import users
from api.services.write import Operator
from models.enums import District
from models.user import Role


def district_staff(sessions: sessionmaker[Session], district: District = District.yubei) -> str:
    """A new staff member of `district` (named after it); their API token."""
    with sessions() as session:
        _, token = users.add(
            session=session,
            actor=Operator("测试"),
            name=f"{district.value[:2]}招商",
            role=Role.staff,
            password=None,
            district=district,
        )
    return token
