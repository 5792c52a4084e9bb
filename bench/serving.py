"""Shared by the HTTP benches (load, soak, memory): a database, a running `xingpei serve`, wrk, RSS.

Nothing here imports the app: the server under test runs as `xingpei serve` in its own processes,
exactly as an operator starts it, and is measured from outside (HTTP on loopback, /proc).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
XINGPEI = str(BIN / "xingpei")
WRK = shutil.which("wrk") or "/usr/bin/wrk"
WRK_DIR = Path(__file__).resolve().parent / "wrk"
VECTOR_CACHE = ROOT / "var" / "bench" / "vectors.db"
"""Vectors kept between bench runs (content-keyed by model and text, so never stale): the first run
over a catalogue encodes it with the real model (minutes), later runs start in seconds."""
STORED_PATH = "/api/v1/enterprises/%s/matches/buildings?k=10"
ADHOC_PATH = "/api/v1/match/buildings?k=10"
WORKER_HEADER = "x-xingpei-worker"


def log(message: str) -> None:
    """A progress line on standard error (standard output carries the results)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def xingpei(env: dict[str, str], *args: str) -> str:
    """Run a `xingpei` command; return its standard output, failing loudly on error."""
    result = subprocess.run([XINGPEI, *args], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"xingpei {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def new_token(env: dict[str, str], role: str) -> str:
    """A fresh API token of a new user with `role` (the last line `xingpei users add` prints)."""
    output = xingpei(env, "users", "add", f"bench-{role}-{secrets.token_hex(4)}", "--role", role)
    return output.strip().splitlines()[-1]


# --- databases -------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(workdir: Path, postgres: str | None) -> Iterator[str]:
    """A new, empty database: a SQLite file in `workdir`, or a database created on the PostgreSQL
    server of `postgres` (a SQLAlchemy URL) and dropped afterwards."""
    if not postgres:
        yield f"sqlite:///{workdir / 'xingpei.db'}"
        return
    base = make_url(postgres)
    name = f"xingpei_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    log(f"created PostgreSQL database {name}")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        log(f"dropped PostgreSQL database {name}")


def environment(database_url: str) -> dict[str, str]:
    """This process's environment with the database set (other `XINGPEI_*` settings pass through)."""
    env = {**os.environ, "XINGPEI_DATABASE_URL": database_url}
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


VECTOR_TABLE = sa.Table(
    "text_vector",
    sa.MetaData(),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("model_id", sa.String(200), index=True),
    sa.Column("dim", sa.Integer),
    sa.Column("vector", sa.LargeBinary),
)
"""The app's vector cache table (models/text_vector.py), declared here so that the bench can copy
rows between databases without importing the app."""


def copy_vectors(source_url: str, target_url: str, *, create: bool = False) -> int:
    """Copy the cached vectors that `target` lacks from `source`; return how many were copied."""
    source, target = sa.create_engine(source_url), sa.create_engine(target_url)
    copied = 0
    try:
        if create:
            VECTOR_TABLE.metadata.create_all(target)
        with target.connect() as connection:
            present = set(connection.scalars(sa.select(VECTOR_TABLE.c.key)))
        with source.connect() as reading, target.begin() as writing:
            rows = reading.execution_options(yield_per=2000).execute(sa.select(VECTOR_TABLE))
            for chunk in rows.partitions():
                fresh = [row._asdict() for row in chunk if row.key not in present]
                if fresh:
                    writing.execute(sa.insert(VECTOR_TABLE), fresh)
                    copied += len(fresh)
    finally:
        source.dispose()
        target.dispose()
    return copied


def seed_vectors(database_url: str) -> None:
    """Fill a migrated database's vector cache from the bench's cache file, if there is one."""
    if VECTOR_CACHE.exists():
        copied = copy_vectors(f"sqlite:///{VECTOR_CACHE}", database_url)
        log(f"seeded {copied:,} cached vectors from {VECTOR_CACHE}")
    else:
        log(f"no vector cache at {VECTOR_CACHE}: the first start encodes every text with the model (slow)")


def save_vectors(database_url: str) -> None:
    """Keep the vectors the server computed for the next bench run."""
    VECTOR_CACHE.parent.mkdir(parents=True, exist_ok=True)
    copied = copy_vectors(database_url, f"sqlite:///{VECTOR_CACHE}", create=True)
    if copied:
        log(f"saved {copied:,} new vectors to {VECTOR_CACHE}")


def demo_database(env: dict[str, str]) -> None:
    """Migrate, seed the vector cache and load the bundled demo catalogue (no serving)."""
    xingpei(env, "weights", "show")  # any command migrates the database first
    seed_vectors(env["XINGPEI_DATABASE_URL"])
    for line in xingpei(env, "demo", "--no-serve").strip().splitlines():
        log(line)


def firm_ids(env: dict[str, str], workdir: Path) -> list[str]:
    """Every stored firm's id (via `xingpei export`)."""
    path = workdir / "firms.jsonl"
    xingpei(env, "export", "enterprises", str(path))
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line)["id"] for line in lines if line.strip()]


# --- the server ------------------------------------------------------------------------------------


@dataclass
class Server:
    """A `xingpei serve` process (and its workers), logging to a file."""

    env: dict[str, str]
    workers: int
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    ready_seconds: float = 0.0
    """How long the last start took until every worker answered."""

    @property
    def url(self) -> str:
        """The base URL on loopback."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The process id of `xingpei serve` (the supervisor when there are several workers)."""
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float) -> float:
        """Start the server and wait until every worker answers /healthz; return the seconds it took."""
        command = [XINGPEI, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        log(f"starting {' '.join(command[1:])} (log: {self.log_path})")
        started = time.monotonic()
        with self.log_path.open("ab") as output:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.wait_ready(started + timeout)
        self.ready_seconds = time.monotonic() - started
        return self.ready_seconds

    def wait_ready(self, deadline: float) -> None:
        """Poll /healthz on fresh connections until as many distinct workers as configured answered."""
        seen: set[str] = set()
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                sys.exit(
                    f"the server exited with {self.process.returncode}; see {self.log_path}:\n{self.tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                response = httpx.get(f"{self.url}/healthz", timeout=5)
                if response.status_code == 200:
                    seen.add(response.headers.get(WORKER_HEADER, "?"))
                    if len(seen) >= self.workers:
                        return
                    continue
            time.sleep(0.5)
        sys.exit(
            f"the server did not get ready in time ({len(seen)} worker(s) answered); see {self.log_path}"
        )

    def tail(self, lines: int = 30) -> str:
        """The last lines of the server's log."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (SIGINT, as Ctrl+C would) and its workers."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def memory(self) -> Memory:
        """Resident memory of the server's process tree, now."""
        return tree_memory(self.pid)


@contextlib.contextmanager
def running(server: Server, timeout: float) -> Iterator[Server]:
    """Start a server, and stop it however the block ends."""
    try:
        seconds = server.start(timeout)
        log(f"server ready in {seconds:.1f} s at {server.url}")
        yield server
    finally:
        server.stop()


# --- memory ----------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def _kib(path: Path, key: str) -> int:
    """A `key:  N kB` value of a /proc status-like file, in KiB (0 when the process is gone)."""
    try:
        text = path.read_text()
    except OSError:
        return 0
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


@dataclass(frozen=True)
class Memory:
    """Resident memory of a process tree: RSS summed (counts shared pages once per process) and PSS
    summed (shares them out, so it is what the tree really occupies)."""

    processes: dict[int, tuple[int, int]]
    """pid → (VmRSS KiB, Pss KiB)."""

    @property
    def rss_mib(self) -> float:
        """Sum of VmRSS, MiB."""
        return sum(rss for rss, _ in self.processes.values()) / 1024

    @property
    def pss_mib(self) -> float:
        """Sum of PSS, MiB."""
        return sum(pss for _, pss in self.processes.values()) / 1024

    def describe(self) -> str:
        """`RSS 1,234 MiB (PSS 1,000 MiB) over 4 processes: 12+600+600+22`."""
        each = "+".join(f"{rss / 1024:.0f}" for rss, _ in self.processes.values())
        return (
            f"RSS {self.rss_mib:,.0f} MiB (PSS {self.pss_mib:,.0f} MiB) "
            f"over {len(self.processes)} processes [{each} MiB]"
        )


def tree_memory(root: int) -> Memory:
    """VmRSS and PSS of `root` and all its descendants."""
    children = _children()
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return Memory(
        {
            pid: (_kib(Path(f"/proc/{pid}/status"), "VmRSS"), _kib(Path(f"/proc/{pid}/smaps_rollup"), "Pss"))
            for pid in sorted(pids)
        }
    )


def connections_held(pids: Iterable[int], port: int) -> dict[int, int]:
    """How many established TCP connections to `port` each process holds (from /proc: its sockets'
    inodes against /proc/net/tcp), to see how a load generator's connections fell on the workers."""
    established = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 01: ESTABLISHED
                established.add(fields[9])
    held = {}
    for pid in pids:
        targets = []
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):  # closed meanwhile
                    targets.append(str(fd.readlink()))
        held[pid] = sum(
            1 for target in targets if target.startswith("socket:") and target[8:-1] in established
        )
    return held


# --- wrk -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    """What wrk printed, and the figures our Lua `done` callback reported."""

    output: str
    figures: dict[str, object]

    def number(self, *keys: str) -> float:
        """A figure by path, e.g. number("latency_us", "p99")."""
        value: object = self.figures
        for key in keys:
            assert isinstance(value, dict)
            value = value[key]
        assert isinstance(value, int | float)
        return float(value)

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return self.number("requests") / (self.number("duration_us") / 1e6)

    @property
    def non_2xx(self) -> int:
        """Responses whose status was not 2xx (counted by the Lua `response` callback)."""
        statuses = self.figures.get("statuses", {})
        assert isinstance(statuses, dict)
        return sum(int(n) for code, n in statuses.items() if not str(code).startswith("2"))

    @property
    def answered(self) -> int:
        """Responses received, whatever their status."""
        statuses = self.figures.get("statuses", {})
        assert isinstance(statuses, dict)
        return sum(int(n) for n in statuses.values())

    @property
    def unanswered(self) -> int:
        """Requests sent without an answer when wrk stopped (at most one per connection is normal)."""
        return int(self.number("sent")) - self.answered

    @property
    def clean(self) -> bool:
        """Something was answered, every answer was 2xx, and no socket error or timeout happened."""
        return self.answered > 0 and self.non_2xx == 0 and self.socket_errors == 0

    @property
    def socket_errors(self) -> int:
        """Connect, read, write errors and timeouts."""
        return sum(int(self.number("errors", kind)) for kind in ("connect", "read", "write", "timeout"))

    def summary(self, label: str) -> str:
        """One line: rate, latency percentiles, failures."""
        statuses = self.figures.get("statuses", {})
        return (
            f"{label}: {self.rate:,.1f} req/s, p50 {self.number('latency_us', 'p50') / 1000:.1f} ms, "
            f"p90 {self.number('latency_us', 'p90') / 1000:.1f} ms, "
            f"p99 {self.number('latency_us', 'p99') / 1000:.1f} ms, "
            f"max {self.number('latency_us', 'max') / 1000:.1f} ms; "
            f"{int(self.number('requests')):,} requests, non-2xx {self.non_2xx}, "
            f"unanswered at the end {self.unanswered}, "
            f"socket errors {self.socket_errors} "
            f"(connect {int(self.number('errors', 'connect'))}, read {int(self.number('errors', 'read'))}, "
            f"write {int(self.number('errors', 'write'))}, timeout {int(self.number('errors', 'timeout'))}); "
            f"statuses {json.dumps(statuses, sort_keys=True)}"
        )


@dataclass(frozen=True)
class WrkOptions:
    """How hard and how long wrk drives the server."""

    connections: int = 16
    threads: int = 2
    duration: float = 60.0
    timeout: float = 5.0
    """A request without an answer after this long counts as a timeout error."""


def wrk_command(script: str, url: str, options: WrkOptions, args: list[str]) -> list[str]:
    """The wrk command line for a Lua script in bench/wrk/ (script arguments after `--`)."""
    return [
        WRK,
        f"--threads={max(1, min(options.threads, options.connections))}",
        f"--connections={options.connections}",
        f"--duration={max(1, round(options.duration))}s",
        f"--timeout={max(1, round(options.timeout))}s",
        "--latency",
        f"--script={WRK_DIR / script}",
        url,
        "--",
        *args,
    ]


def parse_wrk(output: str) -> WrkResult:
    """Split wrk's output into its text and the JSON line our Lua `done` prints."""
    figures: dict[str, object] = {}
    text = []
    for line in output.splitlines():
        if line.startswith("XINGPEI_WRK "):
            figures = json.loads(line.removeprefix("XINGPEI_WRK "))
        else:
            text.append(line)
    if not figures:
        sys.exit(f"wrk printed no summary line:\n{output}")
    return WrkResult("\n".join(text), figures)


def run_wrk(script: str, url: str, options: WrkOptions, args: list[str]) -> WrkResult:
    """Run wrk to completion and parse its result."""
    command = wrk_command(script, url, options, args)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return parse_wrk(result.stdout)


def adhoc_bodies(workdir: Path, count: int = 200) -> Path:
    """Ad-hoc profiles for POST /match/buildings, one JSON body a line: prospective firms from the
    generator (not stored ids), whose description ends in a `__SEQ__` placeholder that the Lua script
    replaces with a number unique to each request, so that every request encodes a new text."""
    from demo.generate import generate_enterprises

    path = workdir / "adhoc.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for number, firm in enumerate(generate_enterprises(count, seed=20240601), start=1):
            firm = {key: value for key, value in firm.items() if value is not None}
            firm["id"] = f"ADHOC{number:05d}"
            firm.pop("credit_code", None)
            firm["description"] = f"{firm['description']}（来电线索 __SEQ__）"
            out.write(json.dumps(firm, ensure_ascii=False) + "\n")
    return path
