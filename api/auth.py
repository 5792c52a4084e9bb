"""Passwords (argon2), API tokens (random, stored as SHA-256) and a login rate limiter."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached

from api.freshness import TOKEN_SECONDS
from models.enums import District
from models.user import ApiToken, Role, User

_hasher = PasswordHasher()
TOKEN_BYTES = 32


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User) -> str:
    """Create a new API token for `user`; the token itself is returned once and never stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token)))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The user a bearer token belongs to."""
    return _user_for_digest(session, token_digest(token))


def _user_for_digest(session: Session, digest: str) -> User | None:
    """The user of the token stored as `digest`."""
    return session.scalar(
        select(User).join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == digest)
    )


USER_COLUMNS = tuple(attribute.key for attribute in inspect(User).column_attrs)


class TokenCache:
    """The users of recently seen bearer tokens, trusted for `seconds` before the database is asked again.

    A deleted token, or a user's changed role, takes effect within `seconds`. Unknown tokens are not
    remembered: each one asks the database.
    """

    def __init__(
        self, seconds: float = TOKEN_SECONDS, clock: Callable[[], float] = time.monotonic, size: int = 4096
    ) -> None:
        """Empty; at most `size` tokens are remembered (all are forgotten when it fills up)."""
        self.seconds = seconds
        self.clock = clock
        self.size = size
        self._seen: dict[str, tuple[float, dict[str, Any]]] = {}

    def _fresh(self, token: str) -> dict[str, Any] | None:
        """The columns of the user of `token` if seen within `seconds`; else None."""
        seen = self._seen.get(token_digest(token))
        return None if seen is None or self.clock() - seen[0] >= self.seconds else seen[1]

    def knows(self, token: str) -> bool:
        """Whether `token` was seen within `seconds`, without copying its user (a gate needs no `User`)."""
        return self._fresh(token) is not None

    def remembered(self, token: str) -> User | None:
        """The user of `token` if seen within `seconds`, in no session (its columns loaded); else None."""
        columns = self._fresh(token)
        if columns is None:
            return None
        copy = User(**columns)
        make_transient_to_detached(copy)
        return copy

    def recall(self, session: Session, token: str) -> User | None:
        """The user of `token` if seen within `seconds`, put in `session` as if read from it; else None."""
        copy = self.remembered(token)
        return None if copy is None else session.merge(copy, load=False)

    def look_up(self, sessions: Callable[[], Session], token: str) -> User | None:
        """The user of `token` (remembered, or read in a short session of its own), in no session."""
        with sessions() as session:
            return self.user(session, token)  # closing the session detaches the user, its columns loaded

    def user(self, session: Session, token: str) -> User | None:
        """The user of `token`: remembered, or read from the database (and then remembered)."""
        remembered = self.recall(session, token)
        if remembered is not None:
            return remembered
        digest, now = token_digest(token), self.clock()
        user = _user_for_digest(session, digest)
        if user is None:
            self._seen.pop(digest, None)
            return None
        if len(self._seen) >= self.size:
            self._seen.clear()
        self._seen[digest] = (now, {name: getattr(user, name) for name in USER_COLUMNS})
        return user


def create_user(
    session: Session, *, name: str, role: Role, password: str | None, district: District | None = None
) -> tuple[User, str]:
    """Add a user and a first API token to the caller's transaction (`api.services.users.add` audits it)."""
    user = User(
        name=name, role=role, district=district, password_hash=hash_password(password) if password else None
    )
    session.add(user)
    session.flush()
    return user, issue_token(session, user)


class LoginLimiter:
    """Allows `attempts` failed logins per key within `window` seconds, then refuses until they age out."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        """Remember failures in memory (per process)."""
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, key: str) -> bool:
        """Whether `key` has failed too often recently."""
        with self._lock:
            recent = self._recent(key)
            return len(recent) >= self.attempts

    def failed(self, key: str) -> None:
        """Count one failure for `key`."""
        with self._lock:
            self._recent(key).append(time.monotonic())

    def succeeded(self, key: str) -> None:
        """Forget the failures of `key`."""
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        """Failures of `key` within the window."""
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] < time.monotonic() - self.window:
            failures.popleft()
        return failures
