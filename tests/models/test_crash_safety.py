"""An import killed with SIGKILL at any moment leaves the catalogue exactly as before or as after."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.engine import make_url

from migrations import migrate
from models.catalogue import import_file
from models.database import make_engine, make_session_factory
from models.enterprise import Enterprise
from tests.files import enterprise, jsonl

BASE_ROWS = 2_000
FILE_ROWS = 20_000
TRIALS = 12
MAX_TRIALS = 36
"""Extra trials, all aimed at the write phase, until enough kills landed while the WAL was written
(on a loaded machine the run's phases shift, so a fixed schedule can miss them)."""
WRITING_KILLS = 3
XINGPEI = shutil.which("xingpei", path=str(Path(sys.executable).parent)) or "xingpei"


def _rows(count: int, version: str) -> bytes:
    """Enterprises E0..E(count-1) whose descriptions carry a version mark."""
    return jsonl(
        *(
            enterprise(
                id=f"E{n:06d}",
                credit_code=None,
                description=f"{version}：第 {n} 家企业，做工业视觉质检与数字孪生。" * 4,
            )
            for n in range(count)
        )
    )


def _state(url: str) -> tuple[int, set[str]]:
    """Row count and the set of version marks found in descriptions."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        descriptions = session.scalars(select(Enterprise.description)).all()
        if engine.dialect.name == "sqlite":
            assert session.connection().exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
    return len(descriptions), {text.split("：", 1)[0] for text in descriptions}


def _restore_base(url: str, base: bytes) -> None:
    """Put the catalogue back to the base state: only the first rows, at version one."""
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        session.execute(delete(Enterprise).where(Enterprise.id >= f"E{BASE_ROWS:06d}"))
        import_file(session, "enterprises", base, "base.jsonl")
    engine.dispose()


def _wal_bytes(url: str) -> int:
    """Size of a SQLite database's write-ahead log: above zero once an import has started writing."""
    parsed = make_url(url)
    wal = Path(f"{parsed.database}-wal")
    return wal.stat().st_size if parsed.get_backend_name() == "sqlite" and wal.exists() else 0


def _run_import(url: str, path: Path, kill_after: float | None) -> tuple[int, bool]:
    """Run `xingpei import`, SIGKILL it after `kill_after` seconds; return its exit code and whether
    it was already writing (SQLite only) when killed."""
    env = {**os.environ, "XINGPEI_DATABASE_URL": url}
    process = subprocess.Popen(
        [XINGPEI, "import", "--no-encode", "enterprises", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    writing = False
    if kill_after is not None:
        try:
            process.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            writing = _wal_bytes(url) > 0
            process.kill()
    return process.wait(), writing


def test_killed_imports_leave_the_database_before_or_after(fresh_database_url: str, tmp_path: Path) -> None:
    url = fresh_database_url
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    base = _rows(BASE_ROWS, "v1")
    big = tmp_path / "firms.jsonl"
    big.write_bytes(_rows(FILE_ROWS, "v2"))
    _restore_base(url, base)
    before = (BASE_ROWS, {"v1"})
    after = (FILE_ROWS, {"v2"})

    started = time.monotonic()
    assert _run_import(url, big, None)[0] == 0
    full_run = time.monotonic() - started
    assert _state(url) == after

    rng = random.Random(20221)
    outcomes: list[tuple[float, int, bool, str]] = []
    sqlite = make_url(url).get_backend_name() == "sqlite"
    trial = 0
    while trial < TRIALS or (
        sqlite and trial < MAX_TRIALS and sum(1 for o in outcomes if o[1] == -9 and o[2]) < WRITING_KILLS
    ):
        _restore_base(url, base)
        assert _state(url) == before
        # Half the kills anywhere in the run, half in its last 40 % where the rows are written.
        late = trial >= TRIALS or trial % 2 == 0
        kill_after = rng.uniform(0.4, 1.0) * full_run if late else rng.uniform(0.05, 1.0) * full_run
        code, writing = _run_import(url, big, kill_after)
        state = _state(url)
        assert state in (before, after), (kill_after, code, state)
        outcomes.append((round(kill_after, 2), code, writing, "after" if state == after else "before"))
        trial += 1
    print(
        f"\nfull import {full_run:.2f}s on {make_url(url).get_backend_name()}; "
        f"trials (kill after s, exit code, was writing, state): {outcomes}"
    )
    killed = [outcome for outcome in outcomes if outcome[1] == -9]
    assert len(killed) >= TRIALS // 2, outcomes
    if sqlite:
        assert sum(1 for outcome in killed if outcome[2]) >= WRITING_KILLS, outcomes
