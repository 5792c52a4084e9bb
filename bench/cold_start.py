"""Cold start: how long `xingpei serve --workers 2` takes from launch to a match answer from every worker.

    python bench/cold_start.py [--sizes 10000x10000 100000x100000x100000] [--workers 2] [--postgres URL]

For each size (buildings × scenarios [× firms; 1,000 firms when not given]):
1. `xingpei gen` and `xingpei import --no-encode` write the catalogue; the vector cache is filled with
   random unit vectors under the app's own keys (as `bench/memory.py --fake-vectors` does), so nothing is
   encoded and the start measures the build alone. The industry classifier's fit is copied from
   var/cache into the run's own cache directory, which starts without any snapshot.
2. First start: the server builds the recommender from the database and writes the snapshot (the
   baseline, measured in the same run). Second start: it reads the snapshot.
Each start is timed from launching `xingpei serve` to a successful stored-firm match answered by every
worker (told apart by their X-Xingpei-Worker header); resident memory and the CPU seconds each process
of the tree had used are read once every worker answered. On a shared machine the wall time follows the
load, the CPU seconds less so (the supervisor's, then the slowest worker's, make the critical path).
`--repeat N` starts from the snapshot N times and reports the fastest start (and every one).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import results
from memory import fake_vectors
from serving import ROOT, STORED_PATH, WORKER_HEADER, Server, database, environment, log, new_token, xingpei

READ = re.compile(r"（无需重新构建）：([0-9.]+) 秒")
GOALS = {(10_000, 10_000): 5.0, (100_000, 100_000): 15.0}
"""Seconds from launch to every worker's first answer, by (buildings, scenarios)."""
SNAPSHOT_LINES = (
    "从启动快照",
    "不使用启动快照",
    "已写入启动快照",
    "启动快照与目录一致",
    "已从数据库构建",
    "已就绪",
)


@dataclass
class MatchReadyServer(Server):
    """A server counted ready when every worker has answered a stored-firm match (not just /healthz)."""

    token: str = ""
    firm: str = ""

    def wait_ready(self, deadline: float) -> None:
        """Ask for a match on fresh connections until as many distinct workers as configured answered."""
        seen: set[str] = set()
        headers = {"Authorization": f"Bearer {self.token}"}
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                sys.exit(f"the server exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                response = httpx.get(self.url + STORED_PATH % self.firm, headers=headers, timeout=30)
                if response.status_code == 200 and response.json()["results"]:
                    seen.add(response.headers.get(WORKER_HEADER, "?"))
                    if len(seen) >= self.workers:
                        return
            # Every 50 ms whatever the answer: asking without a pause would keep the first worker up busy
            # matching, on the cores the others are still starting on.
            time.sleep(0.05)
        sys.exit(f"no match answer from every worker in time ({len(seen)} answered); see {self.log_path}")


def _cpu_seconds(pid: int) -> list[float]:
    """CPU seconds (user + system) used so far by `pid` and each of its descendants, the process first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            if entry.name.isdigit():
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    tick = os.sysconf("SC_CLK_TCK")
    seconds, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        todo += sorted(children.get(current, []))
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            seconds.append((int(fields[11]) + int(fields[12])) / tick)
    return seconds


@dataclass(frozen=True)
class Start:
    """One start: seconds to every worker's answer, memory, CPU seconds per process, snapshot log lines."""

    seconds: float
    memory: str
    cpu: list[float]
    said: list[str]

    def cpu_line(self) -> str:
        """E.g. `CPU s at readiness: supervisor 0.8, others 0.0 / 3.1 / 3.2` (resource tracker, workers)."""
        rest = " / ".join(f"{seconds:.1f}" for seconds in self.cpu[1:])
        return f"CPU s at readiness: supervisor {self.cpu[0]:.1f}, others {rest}" if self.cpu else "CPU: -"


def _arguments() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["10000x10000", "100000x100000x100000"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", metavar="URL", help="run over a new database on this PostgreSQL server")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start-timeout", type=float, default=3600.0)
    parser.add_argument("--repeat", type=int, default=1, help="starts from the snapshot (the fastest counts)")
    return parser.parse_args()


def _catalogue(env: dict[str, str], folder: Path, sizes: dict[str, int], seed: int) -> None:
    """Generate and import the catalogue, then fake its vectors."""
    for kind, size in sizes.items():
        path = folder / f"{kind}.jsonl"
        log(xingpei(env, "gen", kind, str(size), str(path), "--seed", str(seed)).strip())
        log(xingpei(env, "import", "--no-encode", kind, str(path)).strip().splitlines()[-1])
    model = env.get("XINGPEI_EMBEDDING_MODEL", "var/models/multilingual-e5-small")
    log(f"{fake_vectors(env['XINGPEI_DATABASE_URL'], model, seed):,} random unit vectors in the cache")


def _start(server: MatchReadyServer, timeout: float) -> Start:
    """Start, wait for every worker's answer, read memory and CPU, stop; the snapshot log lines too."""
    mark = server.log_path.stat().st_size if server.log_path.exists() else 0
    try:
        seconds = server.start(timeout)
        cpu = _cpu_seconds(server.pid)
        memory = server.memory()
    finally:
        server.stop()
    with server.log_path.open("rb") as lines:
        lines.seek(mark)
        text = lines.read().decode(errors="replace")
    said = [line.strip() for line in text.splitlines() if any(mark in line for mark in SNAPSHOT_LINES)]
    return Start(seconds, memory.describe(), cpu, said)


def _run(size: str, arguments: argparse.Namespace) -> None:
    """One catalogue size: build, two starts, goal line."""
    counts = [int(part) for part in size.split("x")]
    sizes = {
        "buildings": counts[0],
        "scenarios": counts[1],
        "enterprises": counts[2] if len(counts) > 2 else 1000,
    }
    folder = Path(tempfile.mkdtemp(prefix="xingpei-cold-"))
    cache = folder / "cache"
    cache.mkdir()
    for fit in (ROOT / "var" / "cache").glob("industry-*.npz"):
        shutil.copy(fit, cache / fit.name)
    try:
        with database(folder, arguments.postgres) as url:
            env = environment(url) | {"XINGPEI_CACHE_DIR": str(cache), "XINGPEI_SNAPSHOT": "true"}
            xingpei(env, "weights", "show")  # migrates
            _catalogue(env, folder, sizes, arguments.seed)
            token = new_token(env, "staff")
            server = MatchReadyServer(
                env, arguments.workers, folder / "server.log", token=token, firm="E000001"
            )
            first = _start(server, arguments.start_timeout)
            snapshot_mib = sum(path.stat().st_size for path in cache.glob("*.snapshot")) / 2**20
            again = [_start(server, arguments.start_timeout) for _ in range(max(1, arguments.repeat))]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    second = min(again, key=lambda start: start.seconds)
    load = os.getloadavg()[0]
    label = " + ".join(f"{count:,} {kind}" for kind, count in sizes.items())
    print(f"\n=== cold start: {label}, xingpei serve --workers {arguments.workers} ===")
    starts = (("first start (builds, writes snapshot)", first), ("second start (snapshot)", second))
    for name, start in starts:
        print(f"{name}: {start.seconds:.1f} s to a match answer from every worker; {start.memory}")
        print(f"    {start.cpu_line()}")
        for line in start.said:
            print(f"    log: {line}")
    if len(again) > 1:
        print(f"starts from the snapshot: {', '.join(f'{start.seconds:.1f}' for start in again)} s")
    print(
        f"snapshot file: {snapshot_mib:,.0f} MiB; second / first = {second.seconds / first.seconds:.2f}; "
        f"load average {load:.1f}"
    )
    goal = GOALS.get((sizes["buildings"], sizes["scenarios"]))
    if goal is None:
        return
    results.record(
        "cold_start",
        f"serve --workers {arguments.workers}, {label}: launch → every worker's first match",
        f"{second.seconds:.1f} s from the snapshot (first start building it: {first.seconds:.1f} s, "
        f"ratio {second.seconds / first.seconds:.2f}); {second.memory}; {second.cpu_line()}; load {load:.1f}",
        f"≤ {goal:.0f} s",
        second.seconds <= goal,
        f"reading the snapshot took {_read_seconds(second.said)} per worker; the rest is process start-up: "
        "importing the CLI in the supervisor, then the app in every worker (the embedding model is opened "
        "on the first typed-in profile, not at start)",
    )


def _read_seconds(said: list[str]) -> str:
    """The seconds the workers' log lines give for reading the snapshot, e.g. `1.0 s / 1.2 s`."""
    found = [match.group(1) for line in said if "从启动快照" in line and (match := READ.search(line))]
    return " / ".join(f"{seconds} s" for seconds in found) or "(not logged)"


def main() -> None:
    """Every size asked for."""
    arguments = _arguments()
    for size in arguments.sizes:
        _run(size, arguments)


if __name__ == "__main__":
    main()
