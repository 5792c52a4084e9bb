"""A worker killed while the supervisor waits for its ping's answer is known dead at once."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import uvicorn
from uvicorn.supervisors import multiprocess

from api import supervisor
from api.supervisor import PromptWorker

PING_TIMEOUT = 600.0
"""Far longer than the test waits: a ping that ends sooner ended because the worker died."""


async def app(scope: object, receive: object, send: object) -> None:
    """The smallest ASGI app the workers serve (never called: they have no socket)."""


def _ping_when_killed(worker: multiprocess.Process) -> bool | None:
    """Freeze the worker, ping it, kill it mid-ping: the ping's answer, or None if still waiting 60 s on."""
    worker.start()
    try:
        for _ in range(600):  # until its answering thread runs
            if worker.ping(timeout=1):
                break
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGSTOP)  # it cannot answer now
        answered: list[bool] = []
        ping = threading.Thread(target=lambda: answered.append(worker.ping(PING_TIMEOUT)), daemon=True)
        ping.start()
        time.sleep(0.5)
        os.kill(worker.pid, signal.SIGKILL)
        ping.join(timeout=60)
        return answered[0] if answered else None
    finally:
        worker.kill()


def test_a_worker_killed_while_being_pinged_is_known_dead_at_once() -> None:
    config = uvicorn.Config("tests.api.test_supervisor:app", log_level="warning")
    assert _ping_when_killed(PromptWorker(config, [])) is False  # uvicorn's own handle: None (waits 60 s)


def test_the_supervisor_of_serve_starts_its_workers_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(multiprocess, "Process", multiprocess.Process)  # put back after the test
    supervisor.install()
    assert multiprocess.Process is PromptWorker
