"""HTTP under load: wrk on loopback against `xingpei serve [--workers N]` over a fresh demo database.

Usage: python bench/load.py [--workers N] [--duration 60] [--connections 16] [--threads 2]
                            [--warmup 5] [--phases stored,adhoc] [--batch-ms 4] [--postgres URL] [--keep]

1. Creates a database in a temporary folder (or, with --postgres URL, a new database on that server,
   dropped at the end), loads the bundled demo catalogue (`xingpei demo --no-serve`) and a staff token.
2. Starts `xingpei serve` (with `--workers N`) and waits until every worker answers /healthz.
3. Stored firms: wrk (bench/wrk/match.lua) GETs /api/v1/enterprises/{id}/matches/buildings?k=10,
   cycling over every demo firm. Goal: >= 200 requests/s, p99 <= 100 ms, no error.
4. Ad-hoc profiles: wrk (bench/wrk/adhoc.lua) POSTs /api/v1/match/buildings with prospective firms
   whose description is new on every request, so that each one encodes a text. Measured twice in the
   same run: on this server, started with XINGPEI_ENCODE_BATCH_MS=--batch-ms (typed-in texts of
   concurrent requests share model calls), then on a second one started with XINGPEI_ENCODE_BATCH_MS=0
   (each text encoded by a call of its own); with the server's CPU time per request and its share.
   Goal (batching on): p99 <= 250 ms at 16 connections, no error.
5. In this process, once the servers are stopped: the embedding model's CPU time per text when it
   encodes 1, 4 or 16 such texts in one call, with the threads one of the N workers encodes with (CPU,
   not wall time: on a shared machine the wall time mostly measures the other tenants).
Each phase is preceded by an unreported warm-up of --warmup seconds. Prints wrk's report, one summary
line per phase with the load average, the ratios batching on / off, and the resident memory of the
server's process tree (every worker) after start and after each phase.

Vectors are kept between runs in var/bench/vectors.db: the very first run encodes the demo catalogue
with the real model (several minutes on 2 cores), later runs start in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
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
ADHOC_P99_GOAL_MS = 250.0
BATCH_SETTING = "XINGPEI_ENCODE_BATCH_MS"
"""Batching on: the first server runs with --batch-ms; batching off: the second one runs with 0."""
BATCH_SIZES = (1, 4, 16)
"""Texts per model call whose cost per text the bench measures in process."""
QUEUEING = (
    "both cores busy ({setting}, wrk on the same cores): with {connections} requests always in flight "
    "at {rate:.1f} req/s, a request waits {wait:.0f} ms on average (Little's law: in flight / rate)"
)
ENCODING = (
    "encoding: each request encodes one new text, and the model's CPU per text falls little or not at all "
    "when texts share a call ({costs}, measured after the load in this run), so batching does not lower "
    "the {cpu:.1f} ms of CPU a request costs the server: even with all {all_cores} cores that is a mean "
    "latency of at least {floor:.0f} ms at {connections} connections (Little's law); the server got "
    "{cores:.2f} cores on average; "
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
    parser.add_argument(
        "--batch-ms",
        type=float,
        default=4.0,
        help="XINGPEI_ENCODE_BATCH_MS of the batching-on server (4; the other one runs with 0)",
    )
    parser.add_argument("--start-timeout", type=float, default=1800.0, help="seconds allowed for start-up")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, logs)")
    return parser.parse_args()


def _verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


def _load() -> str:
    """The 1-minute load average, to quote with every figure."""
    return f"load average {os.getloadavg()[0]:.1f}"


def _ticks(stat: Path) -> int:
    """User + system clock ticks of a process or thread `stat` file (0 when it is gone)."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))


def _cpu_seconds(server: Server) -> tuple[float, float]:
    """CPU time the server's live processes have used so far: every thread, and their main threads alone
    (a worker's main thread runs the event loop: HTTP, routing, validation, sending)."""
    ticks = loops = 0
    for pid in server.memory().processes:
        ticks += _ticks(Path(f"/proc/{pid}/stat"))
        loops += _ticks(Path(f"/proc/{pid}/task/{pid}/stat"))
    second = os.sysconf("SC_CLK_TCK")
    return ticks / second, loops / second


@dataclass(frozen=True)
class Phase:
    """A measured wrk run and the CPU time the server used during it."""

    result: WrkResult
    cpu_seconds: float
    loop_seconds: float
    """The part of `cpu_seconds` spent on the workers' event loops (their main threads)."""

    @property
    def cpu_ms_per_request(self) -> float:
        """Server CPU milliseconds per completed request."""
        return self.cpu_seconds * 1000 / max(1.0, self.result.number("requests"))

    @property
    def loop_ms_per_request(self) -> float:
        """Event-loop CPU milliseconds per completed request (the rest ran on worker threads)."""
        return self.loop_seconds * 1000 / max(1.0, self.result.number("requests"))

    @property
    def cores(self) -> float:
        """How many cores the server had on average while measured (its share of a busy machine)."""
        return self.cpu_seconds / (self.result.number("duration_us") / 1e6)

    def cpu(self) -> str:
        """`server CPU 31.2 ms per request (1.5 on the event loops), 1.71 cores`."""
        return (
            f"server CPU {self.cpu_ms_per_request:.1f} ms per request "
            f"({self.loop_ms_per_request:.1f} on the event loops), {self.cores:.2f} cores"
        )


def _phase(
    name: str, script: str, server: Server, options: WrkOptions, warmup: float, args: list[str]
) -> Phase:
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
    cpu_before, loops_before = _cpu_seconds(server)
    result = run_wrk(script, server.url, options, args)
    cpu_after, loops_after = _cpu_seconds(server)
    phase = Phase(result, cpu_after - cpu_before, loops_after - loops_before)
    print(f"\n=== {name} ===")
    print(result.output)
    print(f"{result.summary(name)}; {phase.cpu()}; {_load()}")
    return phase


def _queueing(setting: str, connections: int, rate: float) -> str:
    """What holds back a saturated phase's latency, from its own figures."""
    wait = connections / rate * 1000.0 if rate else float("inf")
    return QUEUEING.format(setting=setting, connections=connections, rate=rate, wait=wait)


def _batch_costs(bodies: Path, workers: int) -> dict[int, float]:
    """CPU milliseconds of the model per ad-hoc text when it encodes 1, 4 or 16 of them in one call, with
    the threads each of `workers` server processes encodes with (the median of 3 calls of fresh texts;
    this process's CPU time, every thread of the model's counted, so that other tenants do not count)."""
    from api.config import Settings
    from api.embedding import configured_model
    from matcher.text import record_text
    from models.records import EnterpriseRecord

    settings = Settings()
    threads = settings.embedding_threads or max(1, (os.cpu_count() or 1) // workers)
    model = configured_model(settings.model_copy(update={"embedding_threads": threads}))
    lines = bodies.read_text(encoding="utf-8").splitlines()
    texts = [
        record_text(EnterpriseRecord.model_validate(json.loads(line.replace("__SEQ__", f"cost-{number}"))))
        for number, line in enumerate(lines)
    ]
    model.encode(texts[:4])  # the first call warms the session up
    costs: dict[int, float] = {}
    for size in BATCH_SIZES:
        seconds = []
        for repeat in range(3):
            batch = texts[(repeat * size) % len(texts) :][:size]
            started = time.process_time()
            model.encode(batch)
            seconds.append(time.process_time() - started)
        costs[size] = sorted(seconds)[1] * 1000 / size
    return costs


def _batching(
    on: Phase, off: Phase, costs: dict[int, float], setting: str, connections: int, batch_ms: float
) -> None:
    """Print batching on against off, and record the typed-in profiles goal line."""
    p99_on = on.result.number("latency_us", "p99") / 1000
    p99_off = off.result.number("latency_us", "p99") / 1000
    print(f"{on.result.summary('ad-hoc, batching on ')}; {on.cpu()}")
    print(f"{off.result.summary('ad-hoc, batching off')}; {off.cpu()}")
    ratios = (
        f"p99 {p99_on:.1f} / {p99_off:.1f} ms = {p99_on / p99_off:.2f}, "
        f"rate {on.result.rate:.1f} / {off.result.rate:.1f} req/s = {on.result.rate / off.result.rate:.2f}, "
        f"server CPU per request {on.cpu_ms_per_request:.1f} / {off.cpu_ms_per_request:.1f} ms "
        f"= {on.cpu_ms_per_request / off.cpu_ms_per_request:.2f}, "
        f"cores the server got {on.cores:.2f} / {off.cores:.2f}"
    )
    print(f"  batching on / off ({BATCH_SETTING} {batch_ms:g} against 0): {ratios}")
    cost_text = ", ".join(f"{size} a call: {ms:.1f} ms" for size, ms in costs.items())
    print(f"  model CPU per ad-hoc text, {cost_text}; {_load()}")
    met = p99_on <= ADHOC_P99_GOAL_MS and on.result.clean and off.result.clean
    goal = f"p99 <= {ADHOC_P99_GOAL_MS:.0f} ms at {connections} connections with batching on, zero errors"
    print(f"  typed-in profiles, goal {goal}: {_verdict(met)}")
    errors_on = on.result.non_2xx + on.result.socket_errors
    errors_off = off.result.non_2xx + off.result.socket_errors
    results.record(
        RESULTS,
        f"typed-in profiles, batching on against off, {setting}",
        f"on / off: {ratios}; errors on {errors_on}, off {errors_off}",
        goal,
        met,
        ENCODING.format(
            costs=cost_text,
            cpu=on.cpu_ms_per_request,
            all_cores=os.cpu_count() or 1,
            floor=connections * on.cpu_ms_per_request / (os.cpu_count() or 1),
            connections=connections,
            cores=on.cores,
        )
        + _queueing(setting, connections, on.result.rate),
    )


def main() -> None:
    """Set up, measure the phases, print the summary."""
    arguments = _arguments()
    options = WrkOptions(arguments.connections, arguments.threads, arguments.duration, arguments.timeout)
    phases = {phase.strip() for phase in arguments.phases.split(",")}
    folder = Path(tempfile.mkdtemp(prefix="xingpei-load-"))
    with database(folder, arguments.postgres) as url:
        env = environment(url)
        demo_database(env)
        token = new_token(env, "staff")
        ids = folder / "firm_ids.txt"
        ids.write_text("\n".join(firm_ids(env, folder)) + "\n", encoding="utf-8")
        bodies = adhoc_bodies(folder)
        batched = {**env, BATCH_SETTING: f"{arguments.batch_ms:g}"}
        server = Server(batched, arguments.workers, folder / "server.log")
        memory: list[tuple[str, str]] = []
        stored = adhoc = unbatched = None
        with running(server, arguments.start_timeout):
            save_vectors(url)
            memory.append(("after start", server.memory().describe()))
            if "stored" in phases:
                stored = _phase(
                    "stored firm", "match.lua", server, options, arguments.warmup, [token, str(ids)]
                )
                memory.append(("after stored-firm phase", server.memory().describe()))
            if "adhoc" in phases:
                adhoc = _phase(
                    "ad-hoc profile, batching on",
                    "adhoc.lua",
                    server,
                    options,
                    arguments.warmup,
                    [token, str(bodies)],
                )
                memory.append(("after ad-hoc phase", server.memory().describe()))
        logs = [server.log_path]
        if "adhoc" in phases:
            alone = Server({**env, BATCH_SETTING: "0"}, arguments.workers, folder / "server-unbatched.log")
            logs.append(alone.log_path)
            with running(alone, arguments.start_timeout):
                unbatched = _phase(
                    "ad-hoc profile, batching off",
                    "adhoc.lua",
                    alone,
                    options,
                    arguments.warmup,
                    [token, str(bodies)],
                )
        server_errors = sum(
            1
            for path in logs
            for line in path.read_text(errors="replace").splitlines()
            if line.startswith("Traceback")
        )
    backend = "PostgreSQL" if arguments.postgres else "SQLite"
    setting = f"{backend}, {arguments.workers} worker(s), {options.connections} connections"
    print("\n=== summary ===")
    print(
        f"xingpei serve --workers {arguments.workers}, {backend}, demo catalogue; "
        f"wrk {options.connections} connections, {options.threads} threads, "
        f"{options.duration:.0f} s per phase; {time.strftime('%Y-%m-%d %H:%M')}; {_load()} "
        f"on {os.cpu_count()} cores"
    )
    if stored is not None:
        stored_ok = (
            stored.result.rate >= STORED_RATE_GOAL
            and stored.result.number("latency_us", "p99") / 1000 <= STORED_P99_GOAL_MS
            and stored.result.clean
        )
        print(f"{stored.result.summary('stored firm')}; {stored.cpu()}")
        goal = f"goal >= {STORED_RATE_GOAL:.0f} req/s, p99 <= {STORED_P99_GOAL_MS:.0f} ms, zero errors"
        print(f"  {goal}: {_verdict(stored_ok)}")
        results.record(
            RESULTS,
            f"stored firm, {setting}",
            stored.result.summary("").removeprefix(": "),
            goal[5:],
            stored_ok,
            _queueing(setting, options.connections, stored.result.rate),
        )
    if adhoc is not None and unbatched is not None:
        costs = _batch_costs(bodies, arguments.workers)
        _batching(adhoc, unbatched, costs, setting, options.connections, arguments.batch_ms)
    for when, described in memory:
        print(f"server memory {when}: {described}")
    print(f"tracebacks in the server logs: {server_errors}")
    if arguments.keep:
        print(f"kept {folder} (server logs, the database)")
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
