"""`xingpei serve --workers 2`: real processes sharing one database; a change made through one worker
(weights, a catalogue write) is seen by every worker within seconds, with no restart.

The server runs as a subprocess exactly as an operator starts it. Its embedding model is a tiny
sentence-transformers folder written by the test (a static embedding over single characters), given
through `XINGPEI_EMBEDDING_MODEL`, which also shows that every worker reads the settings from the
environment.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import numpy as np
import pytest
from safetensors.numpy import save_file
from tokenizers import Regex, Tokenizer, models, pre_tokenizers

from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from migrations import migrate
from models.catalogue import import_file
from models.database import make_engine, make_session_factory
from tests.files import building, jsonl
from tests.live import free_port

XINGPEI = str(Path(sys.executable).parent / "xingpei")
WORKERS = 2
START_TIMEOUT = 180.0
"""Start-up is not what is tested: generous, for a loaded machine."""
VISIBLE_WITHIN = 5.0
"""A change saved through one worker must be answered by every worker within this many seconds."""
WORKER = "x-xingpei-worker"


def _tiny_model(folder: Path) -> Path:
    """A sentence-transformers folder holding one StaticEmbedding: a random 32-d vector per character."""
    folder.mkdir()
    vocab = {"[UNK]": 0, "[PAD]": 1}
    for code in [*range(0x21, 0x7F), *range(0x3000, 0x3040), *range(0x4E00, 0xA000), *range(0xFF01, 0xFF5F)]:
        vocab.setdefault(chr(code), len(vocab))
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(r"\S"), behavior="isolated")
    tokenizer.save(str(folder / "tokenizer.json"))
    weights = np.random.default_rng(7).standard_normal((len(vocab), 32)).astype(np.float32)
    save_file({"embedding.weight": weights}, str(folder / "model.safetensors"))
    module = {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}
    (folder / "modules.json").write_text(json.dumps([module]))
    return folder


@dataclass
class Served:
    """A running `xingpei serve --workers 2` and an admin's headers."""

    url: str
    admin: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str) -> httpx.Response:
        """A request on a new connection, so that successive requests reach different workers."""
        return httpx.get(self.url + path, headers=self.admin, timeout=30)

    def log_tail(self) -> str:
        """The end of the server's output, for failure messages."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


def _until_every_worker(
    served: Served, path: str, accepts: Callable[[httpx.Response], bool], deadline: float
) -> dict[str, httpx.Response]:
    """Ask on fresh connections until each worker has given an accepted answer; fail at the deadline.

    Returns the first accepted answer of each worker (by its `X-Xingpei-Worker` pid)."""
    accepted: dict[str, httpx.Response] = {}
    seen: set[str] = set()
    while time.monotonic() < deadline:
        response = served.get(path)
        worker = response.headers[WORKER]
        seen.add(worker)
        if worker not in accepted and accepts(response):
            accepted[worker] = response
        if len(accepted) == WORKERS:
            return accepted
        time.sleep(0.02)
    late = sorted(seen - set(accepted))
    pytest.fail(f"{path}: workers {late} did not give the new answer in time\n{served.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl+C to the server's process group (supervisor and workers); kill it if it hangs."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_for_workers(served: Served, deadline: float) -> None:
    """Poll /healthz on fresh connections until every worker has answered."""
    healthy: set[str] = set()
    while len(healthy) < WORKERS:
        assert served.process.poll() is None, f"the server exited\n{served.log_tail()}"
        assert time.monotonic() < deadline, f"{len(healthy)} worker(s) started in time\n{served.log_tail()}"
        try:
            response = served.get("/healthz")
        except httpx.HTTPError:
            time.sleep(0.5)
            continue
        if response.status_code == 200:
            healthy.add(response.headers[WORKER])


@pytest.fixture
def served(fresh_database_url: str, tmp_path: Path) -> Iterator[Served]:
    """A small catalogue, an admin token from `xingpei users add`, and two workers serving it."""
    engine = make_engine(fresh_database_url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        import_file(session, "buildings", jsonl(*generate_buildings(12, seed=5)), "b.jsonl")
        import_file(session, "enterprises", jsonl(*generate_enterprises(8, seed=5)), "e.jsonl")
        scenarios = generate_scenarios(6, seed=5, reference_date=date.today())
        import_file(session, "scenarios", jsonl(*scenarios), "s.jsonl")
    engine.dispose()
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("XINGPEI_")},
        "XINGPEI_DATABASE_URL": fresh_database_url,
        "XINGPEI_EMBEDDING_MODEL": str(_tiny_model(tmp_path / "tiny-model")),
        "OMP_NUM_THREADS": "1",
    }
    added = subprocess.run(
        [XINGPEI, "users", "add", "worker-admin", "--role", "admin"], env=env, capture_output=True, text=True
    )
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [XINGPEI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}, process, log)
    try:
        _wait_for_workers(served, time.monotonic() + START_TIMEOUT)
        yield served
    finally:
        _stop(process)


def _environment(pid: str) -> dict[str, str]:
    """The environment a process was started with."""
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in entries if b"=" in entry)


def test_changes_through_one_worker_reach_every_worker_without_restart(served: Served) -> None:
    firm = served.get("/api/v1/enterprises?limit=1").json()["items"][0]["id"]
    firm_matches = f"/api/v1/enterprises/{firm}/matches/buildings?k=5"
    before = _until_every_worker(served, firm_matches, lambda r: r.status_code == 200, time.monotonic() + 30)
    assert {answer.json()["weights_version"] for answer in before.values()} == {1}
    pids = set(before)
    assert len(pids) == WORKERS
    # The workers share the cores for encoding rather than each taking every core.
    threads = {_environment(pid).get("XINGPEI_EMBEDDING_THREADS") for pid in pids}
    assert threads == {str(max(1, (os.cpu_count() or 1) // WORKERS))}

    # A weight change saved through one worker: every worker scores with the new version.
    current = served.get("/api/v1/weights").json()
    weights = {**current["weights"], "industry": 1.0, "semantic": 0.0}
    saved = httpx.put(
        served.url + "/api/v1/weights",
        headers=served.admin,
        json={"weights": weights, "reason": "多进程可见性测试", "expected_version": current["version"]},
    )
    assert saved.status_code == 200, saved.text
    new_version = saved.json()["version"]
    assert new_version == current["version"] + 1
    after = _until_every_worker(
        served,
        firm_matches,
        lambda r: r.status_code == 200 and r.json()["weights_version"] == new_version,
        time.monotonic() + VISIBLE_WITHIN,
    )
    assert set(after) == pids, "a worker was restarted"
    for answer in after.values():
        for result in answer.json()["results"]:
            assert result["components"]["semantic"] == 0.0

    # A building created through one worker: every worker can match it.
    new = building(id="BW-NEW", name="多进程测试楼宇", district="渝北区")
    created = httpx.post(served.url + "/api/v1/buildings", headers=served.admin, json=new)
    assert created.status_code in (200, 201), created.text
    _until_every_worker(
        served,
        "/api/v1/buildings/BW-NEW/matches/enterprises?k=3",
        lambda r: r.status_code == 200,
        time.monotonic() + VISIBLE_WITHIN,
    )

    # ...and once deleted through one worker, no worker matches it any more.
    deleted = httpx.delete(served.url + "/api/v1/buildings/BW-NEW", headers=served.admin)
    assert deleted.status_code in (200, 204), deleted.text
    gone = _until_every_worker(
        served,
        "/api/v1/buildings/BW-NEW/matches/enterprises?k=3",
        lambda r: r.status_code == 404,
        time.monotonic() + VISIBLE_WITHIN,
    )
    assert set(gone) == pids, "a worker was restarted"
    assert served.process.poll() is None


BURST = 16
"""Connections a client opens at once (a load test, a proxy's pool)."""
REPLACED_WITHIN = 90.0
"""Seconds for a killed worker's replacement to start and be handed its share of the connections."""


class _Client(threading.Thread):
    """One keep-alive connection asking /healthz over and over, as a load test's connection does; one
    closed after its answer (or lost with its worker) opens again."""

    def __init__(self, served: Served, stop: threading.Event) -> None:
        """A connection to the server, opened at once."""
        super().__init__(daemon=True)
        host, port = served.url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.connection.connect()
        self.stop = stop
        self.worker = ""
        self.closed_at = 0.0
        """When the server last told this connection to close (monotonic)."""
        self.error: Exception | None = None

    def run(self) -> None:
        """Ask until told to stop."""
        try:
            while not self.stop.is_set():
                try:
                    self.connection.request("GET", "/healthz")
                    response = self.connection.getresponse()
                except (ConnectionError, http.client.HTTPException):  # its worker was killed
                    self.connection.close()
                    continue
                response.read()
                assert response.status == 200, response.status
                self.worker = response.getheader(WORKER) or ""
                if response.will_close:
                    self.closed_at = time.monotonic()
        except Exception as error:  # reported by the test
            self.error = error
        finally:
            self.connection.close()


def _settled(clients: list[_Client], within: float, quiet: float = 2.0) -> Counter[str]:
    """How many connections each worker holds once no connection has been told to close for `quiet`
    seconds; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        time.sleep(0.25)
        for client in clients:
            assert client.error is None, client.error
        holders = Counter(client.worker for client in clients)
        last_close = max(client.closed_at for client in clients)
        if "" not in holders and time.monotonic() - last_close > quiet:
            return holders
        assert time.monotonic() < deadline, f"not settled: {holders}"


def test_connections_opened_at_once_end_up_spread_evenly_over_the_workers(served: Served) -> None:
    """A worker that wakes takes every connection waiting on the shared socket; a busy one holding more
    than its share answers with `Connection: close`, and the client's next connection lands where a worker
    waits (`api.balance`). A worker started in place of a killed one gets its share back the same way."""
    stop = threading.Event()
    clients = [_Client(served, stop) for _ in range(BURST)]
    for client in clients:
        client.start()
    try:
        holders = _settled(clients, within=60)
        assert sorted(holders.values()) == [BURST // WORKERS] * WORKERS, holders

        killed = next(iter(holders))
        os.kill(int(killed), signal.SIGKILL)
        deadline = time.monotonic() + REPLACED_WITHIN
        while len(after := _settled(clients, within=REPLACED_WITHIN)) < WORKERS or killed in after:
            assert time.monotonic() < deadline, f"no connection reached the new worker: {after}"
        assert sorted(after.values()) == [BURST // WORKERS] * WORKERS, after
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=30)
