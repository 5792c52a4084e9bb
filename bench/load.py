"""HTTP under load: wrk on loopback against `xingpei serve [--workers N]` over a fresh demo database.

Usage: python bench/load.py [--workers N] [--duration 60] [--connections 16] [--threads 2]
                            [--warmup 5] [--phases stored,adhoc] [--postgres URL] [--keep]

1. Creates a database in a temporary folder (or, with --postgres URL, a new database on that server,
   dropped at the end), loads the bundled demo catalogue (`xingpei demo --no-serve`) and a staff token.
2. Starts `xingpei serve` (with `--workers N`) and waits until every worker answers /healthz.
3. Stored firms: wrk (bench/wrk/match.lua) GETs /api/v1/enterprises/{id}/matches/buildings?k=10,
   cycling over every demo firm. Goal: >= 200 requests/s, p99 <= 100 ms, no error.
4. Ad-hoc profiles: wrk (bench/wrk/adhoc.lua) POSTs /api/v1/match/buildings with prospective firms
   whose description is new on every request, so that each one encodes a text. Goal: p99 <= 300 ms,
   no error.
Each phase is preceded by an unreported warm-up of --warmup seconds. Prints wrk's report, one summary
line per phase, and the resident memory of the server's process tree (every worker) after start and
after each phase.

Vectors are kept between runs in var/bench/vectors.db: the very first run encodes the demo catalogue
with the real model (several minutes on 2 cores), later runs start in seconds.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import results
from serving import (
    Server,
    WrkOptions,
    WrkResult,
    adhoc_bodies,
    database,
    demo_database,
    environment,
    firm_ids,
    log,
    new_token,
    run_wrk,
    running,
    save_vectors,
)

RESULTS = "HTTP under load (bench/load.py)"
STORED_RATE_GOAL = 200.0
STORED_P99_GOAL_MS = 100.0
ADHOC_P99_GOAL_MS = 300.0
QUEUEING = (
    "both cores busy ({setting}, wrk on the same cores): with {connections} requests always in flight "
    "at {rate:.1f} req/s, a request waits {wait:.0f} ms on average (Little's law: in flight / rate)"
)
ENCODING = (
    "encoding: each request runs the embedding model once, single-threaded per worker (about 12 ms of "
    "a core for a 48-token text with the int8 model on these cores), so the rate is bounded by the cores; "
)


def _arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=1, help="xingpei serve --workers N (default 1)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per measured phase (60)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--warmup", type=float, default=5.0, help="unreported seconds before each phase (5)")
    parser.add_argument("--timeout", type=float, default=5.0, help="wrk request timeout, seconds (5)")
    parser.add_argument(
        "--phases",
        default="stored,adhoc",
        help="which phases to run, comma-separated: stored, adhoc (default both)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run over a new database on this PostgreSQL server, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument("--start-timeout", type=float, default=1800.0, help="seconds allowed for start-up")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, logs)")
    return parser.parse_args()


def _verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


def _phase(
    name: str, script: str, server: Server, options: WrkOptions, warmup: float, args: list[str]
) -> WrkResult:
    """An unreported warm-up, then the measured run; prints wrk's report and the summary line."""
    if warmup > 0:
        log(f"{name}: warm-up {warmup:.0f} s")
        run_wrk(
            script,
            server.url,
            WrkOptions(options.connections, options.threads, warmup, options.timeout),
            args,
        )
    log(f"{name}: measuring {options.duration:.0f} s at {options.connections} connections")
    result = run_wrk(script, server.url, options, args)
    print(f"\n=== {name} ===")
    print(result.output)
    print(result.summary(name))
    return result


def _queueing(setting: str, connections: int, rate: float) -> str:
    """What holds back a saturated phase's latency, from its own figures."""
    wait = connections / rate * 1000.0 if rate else float("inf")
    return QUEUEING.format(setting=setting, connections=connections, rate=rate, wait=wait)


def main() -> None:
    """Set up, measure both phases, print the summary."""
    arguments = _arguments()
    options = WrkOptions(arguments.connections, arguments.threads, arguments.duration, arguments.timeout)
    folder = Path(tempfile.mkdtemp(prefix="xingpei-load-"))
    with database(folder, arguments.postgres) as url:
        env = environment(url)
        demo_database(env)
        token = new_token(env, "staff")
        ids = folder / "firm_ids.txt"
        ids.write_text("\n".join(firm_ids(env, folder)) + "\n", encoding="utf-8")
        bodies = adhoc_bodies(folder)
        server = Server(env, arguments.workers, folder / "server.log")
        memory: list[tuple[str, str]] = []
        with running(server, arguments.start_timeout):
            save_vectors(url)
            memory.append(("after start", server.memory().describe()))
            phases = {phase.strip() for phase in arguments.phases.split(",")}
            stored = adhoc = None
            if "stored" in phases:
                stored = _phase(
                    "stored firm", "match.lua", server, options, arguments.warmup, [token, str(ids)]
                )
                memory.append(("after stored-firm phase", server.memory().describe()))
            if "adhoc" in phases:
                adhoc = _phase(
                    "ad-hoc profile", "adhoc.lua", server, options, arguments.warmup, [token, str(bodies)]
                )
                memory.append(("after ad-hoc phase", server.memory().describe()))
        server_errors = sum(
            1
            for line in server.log_path.read_text(errors="replace").splitlines()
            if line.startswith("Traceback")
        )
    backend = "PostgreSQL" if arguments.postgres else "SQLite"
    setting = f"{backend}, {arguments.workers} worker(s), {options.connections} connections"
    print("\n=== summary ===")
    print(
        f"xingpei serve --workers {arguments.workers}, {backend}, demo catalogue; "
        f"wrk {options.connections} connections, {options.threads} threads, "
        f"{options.duration:.0f} s per phase; {time.strftime('%Y-%m-%d %H:%M')}"
    )
    if stored is not None:
        stored_ok = (
            stored.rate >= STORED_RATE_GOAL
            and stored.number("latency_us", "p99") / 1000 <= STORED_P99_GOAL_MS
            and stored.clean
        )
        print(stored.summary("stored firm   "))
        goal = f"goal >= {STORED_RATE_GOAL:.0f} req/s, p99 <= {STORED_P99_GOAL_MS:.0f} ms, zero errors"
        print(f"  {goal}: {_verdict(stored_ok)}")
        results.record(
            RESULTS,
            f"stored firm, {setting}",
            stored.summary("").removeprefix(": "),
            goal[5:],
            stored_ok,
            _queueing(setting, options.connections, stored.rate),
        )
    if adhoc is not None:
        adhoc_ok = adhoc.number("latency_us", "p99") / 1000 <= ADHOC_P99_GOAL_MS and adhoc.clean
        print(adhoc.summary("ad-hoc profile"))
        goal = f"goal p99 <= {ADHOC_P99_GOAL_MS:.0f} ms, zero errors"
        print(f"  {goal}: {_verdict(adhoc_ok)}")
        results.record(
            RESULTS,
            f"ad-hoc profile, {setting}",
            adhoc.summary("").removeprefix(": "),
            goal[5:],
            adhoc_ok,
            ENCODING + _queueing(setting, options.connections, adhoc.rate),
        )
    for when, described in memory:
        print(f"server memory {when}: {described}")
    print(f"tracebacks in the server log: {server_errors}")
    if arguments.keep:
        print(f"kept {folder} (server.log, the database)")
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
