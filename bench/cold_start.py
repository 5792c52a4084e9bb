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
worker (told apart by their X-Xingpei-Worker header); resident memory is read once every worker answered.
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
                    continue
            time.sleep(0.05)
        sys.exit(f"no match answer from every worker in time ({len(seen)} answered); see {self.log_path}")


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
    return parser.parse_args()


def _catalogue(env: dict[str, str], folder: Path, sizes: dict[str, int], seed: int) -> None:
    """Generate and import the catalogue, then fake its vectors."""
    for kind, size in sizes.items():
        path = folder / f"{kind}.jsonl"
        log(xingpei(env, "gen", kind, str(size), str(path), "--seed", str(seed)).strip())
        log(xingpei(env, "import", "--no-encode", kind, str(path)).strip().splitlines()[-1])
    model = env.get("XINGPEI_EMBEDDING_MODEL", "var/models/multilingual-e5-small")
    log(f"{fake_vectors(env['XINGPEI_DATABASE_URL'], model, seed):,} random unit vectors in the cache")


def _start(server: MatchReadyServer, timeout: float) -> tuple[float, str, list[str]]:
    """Start, wait for every worker's answer, read memory, stop; seconds, memory, the snapshot log lines."""
    mark = server.log_path.stat().st_size if server.log_path.exists() else 0
    try:
        seconds = server.start(timeout)
        memory = server.memory()
    finally:
        server.stop()
    with server.log_path.open("rb") as lines:
        lines.seek(mark)
        text = lines.read().decode(errors="replace")
    said = [line.strip() for line in text.splitlines() if any(mark in line for mark in SNAPSHOT_LINES)]
    return seconds, memory.describe(), said


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
            second = _start(server, arguments.start_timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load = os.getloadavg()[0]
    label = " + ".join(f"{count:,} {kind}" for kind, count in sizes.items())
    print(f"\n=== cold start: {label}, xingpei serve --workers {arguments.workers} ===")
    for name, (seconds, memory, said) in (
        ("first start (builds, writes snapshot)", first),
        ("second start (snapshot)", second),
    ):
        print(f"{name}: {seconds:.1f} s to a match answer from every worker; {memory}")
        for line in said:
            print(f"    log: {line}")
    print(
        f"snapshot file: {snapshot_mib:,.0f} MiB; second / first = {second[0] / first[0]:.2f}; "
        f"load average {load:.1f}"
    )
    goal = GOALS.get((sizes["buildings"], sizes["scenarios"]))
    if goal is None:
        return
    results.record(
        "cold_start",
        f"serve --workers {arguments.workers}, {label}: launch → every worker's first match",
        f"{second[0]:.1f} s from the snapshot (first start building it: {first[0]:.1f} s, "
        f"ratio {second[0] / first[0]:.2f}); {second[1]}; load {load:.1f}",
        f"≤ {goal:.0f} s",
        second[0] <= goal,
        f"reading the snapshot took {_read_seconds(second[2])} per worker; the rest is process start-up: "
        "importing the CLI, then the app in every worker, and opening the embedding model in every worker",
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
