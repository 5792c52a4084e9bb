"""Start-up: build the app's state (the recommender over the catalogue, the weights) from the database.

With `settings.snapshot`, the build is kept in `cache_dir` (`matcher.snapshot`) and the next start reads
it instead of building: a snapshot of another model, industry setting, database or code version, or a
damaged one, is rebuilt (and the reason logged), never served. Kinds written since the snapshot are
read again from the database and replaced, as `api.state.synchronise` does for another process's writes.

`snapshot_ready` is what the supervisor of `serve --workers N` asks before it starts the workers: it is
light to import, so the matcher (and its numerical libraries) are imported by `load_state` alone.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings
from matcher import snapshot
from matcher.encoder import Encoder, expected_model_id
from models.catalogue import KIND_LABELS, iter_records
from models.catalogue_stamp import lineage, stamps

if TYPE_CHECKING:
    from api.state import AppState
    from matcher.industry_model import IndustryModel
    from matcher.recommender import Recommender
    from matcher.weights import Weights

log = logging.getLogger("uvicorn.error")
SNAPSHOT_FILE = "recommender.snapshot"
KINDS = tuple(KIND_LABELS)
"""The catalogue's kinds (`matcher.recommender.KINDS`, without importing the matcher)."""


def snapshot_path(settings: Settings) -> Path:
    """Where the recommender's build is kept."""
    return Path(settings.cache_dir) / SNAPSHOT_FILE


def snapshot_key(settings: Settings, model_id: str, session: Session) -> snapshot.SnapshotKey:
    """The key a usable snapshot has: this model, industry setting and database (and code version)."""
    return snapshot.SnapshotKey(model_id, settings.industry_inference, lineage(session))


def load_state(settings: Settings, sessions: sessionmaker[Session], encoder: Encoder) -> AppState:
    """Read the current weights and the catalogue's build (the snapshot, or the records built once)."""
    from api.embedding import industry_model
    from api.services import weights as weights_service
    from api.state import AppState
    from matcher.recommender import Recommender
    from matcher.weights import Weights
    from models.capacity import CAPACITY_STAMP, load_capacity

    industries = industry_model(settings, encoder)
    with sessions() as session:
        seen = stamps(session)  # before the records: a write in between shows as a change, never hides
        version = weights_service.current(session)
        weights = Weights(**version.weights)
        capacity = load_capacity(session)
        key = snapshot_key(settings, encoder.model_id, session)
        restored = _restored(settings, key, encoder, weights, industries)
        if restored is None:
            started = time.monotonic()
            catalogue = {kind: list(iter_records(session, kind)) for kind in KINDS}
            recommender = Recommender(encoder, weights=weights, industry_model=industries)
            recommender.set_capacity(capacity.taken, capacity.placed)
            recommender.load(catalogue)
            log.info("已从数据库构建推荐器：%.1f 秒", time.monotonic() - started)
            moved = list(KINDS)
        else:
            recommender, kept = restored
            moved = [kind for kind in KINDS if kept.get(kind, 0) != seen.get(kind, 0)]
            recommender.set_capacity(capacity.taken, capacity.placed)
            for kind in moved:
                log.info("启动快照之后%s有改动：从数据库重新读取", KIND_LABELS[kind])
                recommender.replace(kind, list(iter_records(session, kind)))
        session.commit()
    if settings.snapshot and moved:
        _save(settings, key, {kind: seen.get(kind, 0) for kind in KINDS}, recommender)
    return AppState(settings, sessions, recommender, version.version, seen, seen.get(CAPACITY_STAMP, 0))


def snapshot_ready(settings: Settings, sessions: sessionmaker[Session]) -> bool:
    """Whether a snapshot of the current catalogue is kept (key, stamps and length; no model is loaded,
    and the digest is left to the workers, which rebuild if it does not match)."""
    if not settings.snapshot:
        return False
    model = expected_model_id(settings.embedding_model, settings.embedding_quantize)
    with sessions() as session:
        seen = stamps(session)
        key = snapshot_key(settings, model, session)
    try:
        kept = snapshot.check(snapshot_path(settings), key)
    except snapshot.SnapshotRejected:
        return False
    return all(kept.get(kind, 0) == seen.get(kind, 0) for kind in KINDS)


def _restored(
    settings: Settings,
    key: snapshot.SnapshotKey,
    encoder: Encoder,
    weights: Weights,
    industries: IndustryModel | None,
) -> tuple[Recommender, dict[str, int]] | None:
    """The recommender kept in the snapshot and the stamps it reflects; None to build afresh."""
    from matcher.recommender import Recommender

    if not settings.snapshot:
        return None
    path = snapshot_path(settings)
    started = time.monotonic()
    try:
        saved = snapshot.read(path, key)
        recommender = Recommender.restored(encoder, saved.state, weights=weights, industry_model=industries)
    except (snapshot.SnapshotRejected, ValueError) as error:
        if path.exists():
            log.warning("不使用启动快照 %s，改为从数据库重新构建：%s", path, error)
        else:
            log.info("尚无启动快照 %s：从数据库构建，之后写入快照", path)
        return None
    log.info("从启动快照 %s 载入推荐器（无需重新构建）：%.1f 秒", path, time.monotonic() - started)
    return recommender, saved.stamps


def _save(
    settings: Settings, key: snapshot.SnapshotKey, seen: dict[str, int], recommender: Recommender
) -> None:
    """Keep the build for the next start; a failure to write is logged, never stops the server."""
    path = snapshot_path(settings)
    started = time.monotonic()
    try:
        snapshot.write(path, key, seen, recommender.state())
    except OSError as error:
        log.warning("启动快照 %s 未能写入（下次启动将重新构建）：%s", path, error)
        return
    log.info("已写入启动快照 %s：%.1f 秒", path, time.monotonic() - started)
