"""How often a worker asks the database whether another process changed something.

A match request should not pay a round trip to learn that nothing changed, yet a change saved by
another worker or the command line must show in every worker within a second: so a worker asks at
most once per `CHECK_SECONDS`, and trusts what it holds in between. A write committed in this very
process (`api.services.write.commit`) is announced here, so that the next request asks at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CHECK_SECONDS = 0.25
"""The longest a worker trusts the catalogue, capacity and weights it holds without asking."""
TOKEN_SECONDS = 0.5
"""The longest a worker trusts a bearer token it looked up (a deleted token stops working after this)."""


_written = 0
_written_lock = threading.Lock()


def announce_write() -> None:
    """Count a write this process committed: every app state in it asks the database at its next request."""
    global _written
    with _written_lock:
        _written += 1


def writes() -> int:
    """How many writes this process has committed (`announce_write`)."""
    return _written


class Interval:
    """Says when a check is due: the first time, then at most once per `seconds` of `clock`."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Nothing checked yet, so the first call to `due` says yes."""
        self.seconds = seconds
        self.clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()

    def due(self) -> bool:
        """Whether to check now; a yes counts as the check, so concurrent callers get one yes between them."""
        now = self.clock()
        with self._lock:
            if self._last is not None and now - self._last < self.seconds:
                return False
            self._last = now
            return True

    def expire(self) -> None:
        """Make the next call to `due` say yes (a check failed, or the caller knows things changed)."""
        with self._lock:
            self._last = None
