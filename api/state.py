"""What the app holds for its lifetime: the database sessions and the loaded recommender."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from api.auth import LoginLimiter, TokenCache
from api.config import Settings
from api.freshness import CHECK_SECONDS, Interval, writes
from api.services import weights as weights_service
from api.services.write import CapacityChange, CatalogueChange, Change
from matcher.recommender import KINDS, Recommender
from matcher.weights import Weights
from models.capacity import CAPACITY_STAMP, Capacity, load_capacity
from models.catalogue import iter_records
from models.catalogue_stamp import versions

log = logging.getLogger("uvicorn.error")
CHECKS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalogue-check")
"""The thread on which the checks `held` starts run, one at a time."""


@dataclass
class AppState:
    """Sessions, the recommender over the current catalogue, and the current weights version."""

    settings: Settings
    sessions: sessionmaker[Session]
    recommender: Recommender
    weights_version: int
    catalogue_stamps: dict[str, int]
    """The catalogue stamp of each kind that the recommender's tables reflect."""
    capacity_stamp: int = 0
    """The capacity stamp that the recommender's available areas and placed firms reflect."""
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    tokens: TokenCache = field(default_factory=TokenCache)
    """The users of recently seen bearer tokens (`api.deps.get_user`)."""
    checks: Interval = field(default_factory=lambda: Interval(CHECK_SECONDS))
    """When `keep_up` next asks the database for changes saved by other processes."""
    writes_seen: int = 0
    """This process's count of committed writes (`api.freshness.writes`) when `keep_up` last asked."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Serialises changes to the recommender's tables."""
    checking: Future[WeightsInUse] | None = None
    """The check `held` started last (on `CHECKS`)."""

    def apply(self, change: Change) -> None:
        """Make the next match see a change this process committed (`api.services.write.Live`)."""
        with self.lock:
            if isinstance(change, CatalogueChange):
                self._apply_catalogue(change)
            elif isinstance(change, CapacityChange):
                if change.stamp > self.capacity_stamp:
                    self.set_capacity(change.capacity, change.stamp)
            elif change.version > self.weights_version:
                self.recommender.weights = change.weights
                self.weights_version = change.version

    def set_capacity(self, capacity: Capacity, stamp: int) -> None:
        """Match on this capacity from now on (a whole capacity, so only the newest counts)."""
        self.recommender.set_capacity(capacity.taken, capacity.placed)
        self.capacity_stamp = stamp

    def _apply_catalogue(self, change: CatalogueChange) -> None:
        """Update the recommender's tables with a write, in the order of the kind's stamps.

        A write whose stamp the tables already reflect (a reload from the database overtook it) is
        skipped: applying it late would undo newer writes. The stamp counts as seen only for the next
        write in line; after a gap (another process wrote, or a write of this one is still on its way)
        the next query reloads the kind from the database.
        """
        seen = self.catalogue_stamps.get(change.kind, 0)
        if change.stamp <= seen:
            return
        if change.put:
            self.recommender.upsert(change.kind, change.put)
        if change.drop:
            self.recommender.remove(change.kind, change.drop)
        if change.stamp == seen + 1:
            self.catalogue_stamps[change.kind] = change.stamp


@dataclass(frozen=True)
class WeightsInUse:
    """The weights a request scores with, and their version, read together."""

    weights: Weights
    version: int


def keep_up(state: AppState, session: Session) -> WeightsInUse:
    """`synchronise` at most once per `CHECK_SECONDS`; in between, the weights in use without a round trip.

    A write committed by this process shows at the next request (`AppState.apply`, and `synchronise`
    when it was announced since the last one); another process's within `CHECK_SECONDS`.
    """
    written = writes()
    due = state.checks.due()  # asked every time, so that a check made for a write also restarts the period
    if written != state.writes_seen or due:
        state.writes_seen = written
        return checked(state, session)
    with state.lock:
        return WeightsInUse(state.recommender.weights, state.weights_version)


def held(state: AppState) -> WeightsInUse | None:
    """What `keep_up` would return, found without a round trip and without waiting, for an event loop.

    A periodic check that falls due is started on the `CHECKS` thread rather than waited for (a thread's
    turn for the GIL behind a busy event loop takes tens of milliseconds): what it finds shows from the
    next requests on, well within a second. None when the caller must catch up first (`checked`): this
    process announced a write since the last check, or a catch-up holds the state.
    """
    written = writes()
    due = state.checks.due()
    if written != state.writes_seen:
        state.writes_seen = written
        return None
    if due:
        state.checking = CHECKS.submit(checked_apart, state)
        state.checking.add_done_callback(_log_failure)
    if not state.lock.acquire(blocking=False):
        return None
    try:
        return WeightsInUse(state.recommender.weights, state.weights_version)
    finally:
        state.lock.release()


def checked(state: AppState, session: Session) -> WeightsInUse:
    """`synchronise`, making the next check due at once when it fails."""
    try:
        return synchronise(state, session)
    except Exception:
        state.checks.expire()
        raise


def checked_apart(state: AppState) -> WeightsInUse:
    """`checked` in a session of its own (what `held` starts on the `CHECKS` thread)."""
    with state.sessions() as session:
        return checked(state, session)


def _log_failure(check: Future[WeightsInUse]) -> None:
    """Log a check that `held` started and that failed (the next request starts another)."""
    error = check.exception()
    if error is not None:
        log.warning("检查其他进程的改动失败：%s", error, exc_info=error)


def synchronise(state: AppState, session: Session) -> WeightsInUse:
    """Catch up with catalogue, capacity and weights changes saved elsewhere (the CLI, another worker).

    One query when nothing changed; a kind another process wrote is reloaded from the database. Only a
    newer stamp than the state's counts: a check that read the stamps before a write of this process was
    applied (`AppState.apply`) must not take the state back to what it read.
    """
    seen = versions(session)
    with state.lock:
        for kind in KINDS:
            stamp = seen.catalogue.get(kind, 0)
            if stamp > state.catalogue_stamps.get(kind, 0):
                state.recommender.replace(kind, list(iter_records(session, kind)))
                state.catalogue_stamps[kind] = stamp
        capacity_stamp = seen.catalogue.get(CAPACITY_STAMP, 0)
        if capacity_stamp > state.capacity_stamp:
            state.set_capacity(load_capacity(session), capacity_stamp)
        if seen.weights > state.weights_version:
            saved = weights_service.current(session)
            state.recommender.weights = Weights(**saved.weights)
            state.weights_version = saved.version
        return WeightsInUse(state.recommender.weights, state.weights_version)
