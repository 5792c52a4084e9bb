"""Users and sign-in: create a user, trade a name and password for a token, end a session."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.auth import LoginLimiter, create_user, issue_token, token_digest, verify_password
from api.services.write import Actor, Conflict, Refused, ServiceError, commit
from models.audit import record as audit
from models.database import begin_write
from models.enums import District
from models.user import ApiToken, Role, User


class BadCredentials(ServiceError):
    """The name is unknown or the password wrong (which of the two is not said)."""

    status = 401

    def __init__(self) -> None:
        """The message in Chinese."""
        super().__init__("用户名或密码错误")


class TooManyAttempts(ServiceError):
    """Too many failed sign-ins for this name from this address; refused until they age out."""

    status = 429

    def __init__(self) -> None:
        """The message in Chinese."""
        super().__init__("登录失败次数过多，请 5 分钟后再试")


def add(
    *,
    session: Session,
    actor: Actor,
    name: str,
    role: Role,
    password: str | None,
    district: District | None = None,
) -> tuple[User, str]:
    """Create a user with a first API token (audited); Conflict when the name is taken.

    A staff user may belong to a district (then changes only its leads and their own); an administrator
    may not. The token is returned once and stored only as a hash.
    """
    if district is not None and role == Role.admin:
        raise Refused(
            f"管理员可以变更所有跟进，不属于任何区：只有招商人员可以指定所属区（{district.value}）",
            "district",
        )
    begin_write(session)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise Conflict(f"用户名「{name}」已存在")
    user, token = create_user(session, name=name, role=role, password=password, district=district)
    audit(
        session,
        actor=actor.name,
        action="user.add",
        target_kind="user",
        target_id=name,
        after={"name": name, "role": role.value, "district": district.value if district else None},
    )
    commit(session, None)
    return user, token


def login(
    *, session: Session, limiter: LoginLimiter, name: str, password: str, client: str
) -> tuple[User, str]:
    """A new token for a valid name and password; BadCredentials, or TooManyAttempts after many failures."""
    key = f"{name}|{client}"
    if limiter.blocked(key):
        raise TooManyAttempts
    user = session.scalar(select(User).where(User.name == name))
    if user is None or not verify_password(user.password_hash, password):
        limiter.failed(key)
        raise BadCredentials
    limiter.succeeded(key)
    begin_write(session)
    token = issue_token(session, user)
    commit(session, None)
    return user, token


def logout(*, session: Session, token: str) -> None:
    """Forget a session's token, so that it no longer signs anyone in."""
    begin_write(session)
    session.execute(delete(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    commit(session, None)
