"""Keep-alive connections spread evenly over the workers of `xingpei serve --workers N`.

The workers accept from one shared socket, and a worker that wakes takes every connection waiting: 16
opened at once by a client (a load test, a proxy's pool) often land 12 / 4 or 16 / 0, and each then gets
a twelfth of one core while the other worker's get a quarter of another. So every worker keeps its count
of open connections on a board all of them map (`ConnectionBoard`, a small file the supervisor makes),
and a busy worker holding more than its share answers the next request on one of them with
`Connection: close`: the client connects again, and the connection lands where a worker waits.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import math
import mmap
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("uvicorn.error")
BOARD_ENV = "_XINGPEI_CONNECTION_BOARD"
"""Where the supervisor tells its workers the board lies (not `XINGPEI_*`: that names settings)."""
SLOT_BYTES = 16
"""One worker's slot: its process id and its open connections, two int64."""


def over_share(own: int, total: int, workers: int) -> bool:
    """Whether a worker holding `own` of the `total` open connections of `workers` holds more than its
    share (the total divided evenly, rounded up)."""
    return workers > 1 and own > math.ceil(total / workers)


class ConnectionBoard:
    """Each worker's open connections, one slot per worker, in a file every worker maps.

    A worker writes only its own slot; a slot whose process has died counts for nothing, and a worker
    started in its place takes it over.
    """

    def __init__(self, path: Path, pid: int | None = None) -> None:
        """Map a board made by `create`, for the worker of process `pid` (this process's by default)."""
        self.path = path
        self.pid = os.getpid() if pid is None else pid
        with path.open("r+b") as handle:
            self._map = mmap.mmap(handle.fileno(), 0)
        self.slots = len(self._map) // SLOT_BYTES
        self.slot: int | None = None

    @staticmethod
    def create(path: Path, workers: int) -> None:
        """An empty board for `workers` workers."""
        path.write_bytes(bytes(SLOT_BYTES * workers))

    def claim(self) -> None:
        """Take a free slot (or a dead worker's) for this process: RuntimeError when none is left."""
        with self.path.open("r+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            for slot in range(self.slots):
                pid, _ = self._read(slot)
                if pid == 0 or not _alive(pid):
                    self._write(slot, self.pid, 0)
                    self.slot = slot
                    return
        raise RuntimeError(f"连接登记表已满（{self.slots} 个工作进程）")

    def record(self, connections: int) -> None:
        """Write this worker's open connections (claiming a slot first if it has none)."""
        if self.slot is None:
            self.claim()
        assert self.slot is not None
        self._write(self.slot, self.pid, connections)

    def standing(self) -> tuple[int, int]:
        """The open connections of every live worker, and how many workers are live."""
        total = live = 0
        for slot in range(self.slots):
            pid, connections = self._read(slot)
            if pid and (pid == self.pid or _alive(pid)):
                total += connections
                live += 1
        return total, live

    def _read(self, slot: int) -> tuple[int, int]:
        """A slot's process id and count."""
        start = slot * SLOT_BYTES
        return (
            int.from_bytes(self._map[start : start + 8], "little"),
            int.from_bytes(self._map[start + 8 : start + 16], "little"),
        )

    def _write(self, slot: int, pid: int, connections: int) -> None:
        """Write a slot."""
        start = slot * SLOT_BYTES
        self._map[start : start + SLOT_BYTES] = pid.to_bytes(8, "little") + connections.to_bytes(8, "little")


def _alive(pid: int) -> bool:
    """Whether a process of this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BalancedProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, closing after its answer a connection its worker holds beyond its share
    (see the module's docstring); without a board (one worker) it is uvicorn's own.

    The share is checked at every request, not only when a connection opens: after a worker is replaced,
    the one that took over its connections hands them back as they ask.
    """

    board: ClassVar[ConnectionBoard | None] = None
    off: ClassVar[bool] = False
    """Whether this worker found the board unusable."""
    closing: ClassVar[int] = 0
    """This worker's connections told to close (answered with `Connection: close`) and not yet gone."""
    _told = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Count the connection in."""
        super().connection_made(transport)
        if (board := _board()) is not None:
            board.record(len(self.connections))

    def connection_lost(self, exc: Exception | None) -> None:
        """Count the connection out."""
        super().connection_lost(exc)
        if self._told:
            BalancedProtocol.closing -= 1
        if (board := _board()) is not None:
            board.record(len(self.connections))

    def on_headers_complete(self) -> None:
        """Answer with `Connection: close` when this worker is busy (another request in flight) and holds
        more than its share of the connections that stay open (those already told to close come back
        wherever the workers stand). An idle worker keeps its connections: nothing queues behind them, and
        it would be the one to take the client's next connection, as it is the one waiting to accept."""
        super().on_headers_complete()
        board = _board()
        if board is None or self.cycle is None:
            return
        busy = len(self.tasks) > 1
        if busy and not self._told and over_share(len(self.connections) - self.closing, *board.standing()):
            self._told = True
            BalancedProtocol.closing += 1
        if self._told:
            self.cycle.keep_alive = False


def announce() -> None:
    """Put this worker on the board, ready to serve and holding no connection yet (when there is a board):
    the others then hand it its share of the connections they hold."""
    if (board := _board()) is not None:
        board.record(0)


def _board() -> ConnectionBoard | None:
    """This worker's board, mapped and its slot claimed on first use; None when the supervisor made none,
    or when it cannot be used (logged once: connections are then not spread, nothing else changes)."""
    if BalancedProtocol.board is None and not BalancedProtocol.off and (path := os.environ.get(BOARD_ENV)):
        try:
            board = ConnectionBoard(Path(path))
            board.claim()
        except (OSError, ValueError, RuntimeError) as error:
            log.warning("连接均衡已停用（%s）：本进程照常服务，只是不再把连接让给其他工作进程", error)
            BalancedProtocol.off = True
            return None
        BalancedProtocol.board = board
    return BalancedProtocol.board


@contextmanager
def connection_board(workers: int) -> Iterator[Path]:
    """A board for the `workers` workers this process starts (named to them in `BOARD_ENV`); removed after."""
    folder = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    handle, name = tempfile.mkstemp(prefix="xingpei-connections-", dir=folder)
    os.close(handle)
    path = Path(name)
    ConnectionBoard.create(path, workers)
    os.environ[BOARD_ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(BOARD_ENV, None)
        path.unlink(missing_ok=True)
