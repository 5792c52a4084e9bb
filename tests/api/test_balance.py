"""The connection board that spreads keep-alive connections over the workers of `serve --workers N`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.balance import BOARD_ENV, BalancedProtocol, ConnectionBoard, announce, over_share


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The id of another running process."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def _dead_pid() -> int:
    """The id of a process that has exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.parametrize(
    ("own", "total", "workers", "over"),
    [
        (8, 16, 2, False),
        (9, 16, 2, True),
        (9, 17, 2, False),  # an odd total: the larger half is a share
        (2, 2, 2, True),  # the other worker holds none yet
        (1, 1, 2, False),
        (5, 12, 3, True),
        (4, 12, 3, False),
        (16, 16, 1, False),  # one worker holds everything, which is its share
    ],
)
def test_a_worker_is_over_its_share_above_the_even_split_rounded_up(
    own: int, total: int, workers: int, over: bool
) -> None:
    assert over_share(own, total, workers) is over


def test_the_board_adds_up_the_live_workers(tmp_path: Path, live_pid: int) -> None:
    path = tmp_path / "board"
    ConnectionBoard.create(path, 2)
    mine, theirs = ConnectionBoard(path), ConnectionBoard(path, pid=live_pid)
    assert mine.standing() == (0, 0)
    mine.record(3)
    assert mine.standing() == (3, 1)
    theirs.record(5)
    assert mine.standing() == (8, 2)
    assert theirs.standing() == (8, 2)
    assert {mine.slot, theirs.slot} == {0, 1}
    mine.record(1)
    assert theirs.standing() == (6, 2)


def test_a_dead_workers_slot_counts_for_nothing_and_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "board"
    ConnectionBoard.create(path, 2)
    mine = ConnectionBoard(path)
    mine.record(4)
    killed = ConnectionBoard(path, pid=_dead_pid())
    killed.record(12)
    assert (mine.slot, killed.slot) == (0, 1)
    assert mine.standing() == (4, 1)
    replacement = ConnectionBoard(path, pid=_dead_pid())
    replacement.claim()  # a worker started in a dead one's place: the board never fills up
    assert replacement.slot == 1


def test_a_full_board_refuses_another_worker(tmp_path: Path, live_pid: int) -> None:
    path = tmp_path / "board"
    ConnectionBoard.create(path, 1)
    ConnectionBoard(path, pid=live_pid).claim()
    with pytest.raises(RuntimeError, match="连接登记表已满"):
        ConnectionBoard(path).claim()


def test_a_worker_that_finds_no_room_on_the_board_serves_on_without_spreading(
    tmp_path: Path, live_pid: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "board"
    ConnectionBoard.create(path, 1)
    ConnectionBoard(path, pid=live_pid).claim()
    monkeypatch.setenv(BOARD_ENV, str(path))
    monkeypatch.setattr(BalancedProtocol, "board", None)
    monkeypatch.setattr(BalancedProtocol, "off", False)
    announce()  # at start-up, in the app's lifespan: must not stop the worker
    assert BalancedProtocol.off
    assert BalancedProtocol.board is None
    assert "连接均衡已停用" in caplog.text
