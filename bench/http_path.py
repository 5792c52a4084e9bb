"""The HTTP path of a stored-firm match at 10,000 buildings + 10,000 scenarios, against /healthz.

Usage: python bench/http_path.py [--buildings 10000] [--scenarios 10000] [--firms 200] [--rotate 60]
                                 [--workers 2] [--duration 30] [--connections 16] [--threads 2]
                                 [--fault | --no-fault] [--fresh]

1. The catalogue (`xingpei gen`, `xingpei import --no-encode`, random unit vectors under the app's
   cache keys as bench/memory.py --fake-vectors makes them) is kept in var/bench/http_path/ between
   runs, one SQLite file per size, so that reruns start at once (--fresh builds it again).
2. `xingpei serve --workers N` starts; every worker answers /healthz before anything is measured.
3. Sequential: 120 stored-firm matches one after another over one connection (the service time).
4. wrk (bench/wrk/match.lua) GETs /api/v1/enterprises/{id}/matches/buildings?k=10 rotating over
   --rotate stored firms, then GETs /healthz the same way, in the same run, each after a warm-up.
   Goals: p99 <= 60 ms and match throughput >= 0.25 x /healthz throughput. The server's CPU time
   per request of each (/proc, every process of the tree) says how far the ratio can go.
5. Beside a wrk run on the match endpoint, 60 typed-in profiles (POST /api/v1/match/buildings, a new
   text each) one at a time: how long they wait behind the stored matches (quoted, no goal).
6. Fault (--fault, on by default): during a wrk run on the match endpoint, one worker gets SIGKILL.
   Is it replaced, does the other keep answering, how many requests failed (only those in flight on
   the killed worker should)?
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import results
from memory import fake_vectors
from serving import (
    ROOT,
    STORED_PATH,
    WORKER_HEADER,
    Server,
    WrkOptions,
    WrkResult,
    connections_held,
    environment,
    log,
    new_token,
    parse_wrk,
    run_wrk,
    running,
    tree_memory,
    wrk_command,
    xingpei,
)

RESULTS = "HTTP path (bench/http_path.py)"
FOLDER = ROOT / "var" / "bench" / "http_path"
P99_GOAL_MS = 60.0
RATIO_GOAL = 0.25
HEALTHZ_FORMAT = "/healthz?firm=%s"
TYPED_IN_PATH = "/api/v1/match/buildings?k=10"
"""/healthz through match.lua: the script needs an id per request, which /healthz ignores."""


def _arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--buildings", type=int, default=10_000, help="buildings (10,000)")
    parser.add_argument("--scenarios", type=int, default=10_000, help="scenarios (10,000)")
    parser.add_argument("--firms", type=int, default=200, help="stored firms (200)")
    parser.add_argument("--rotate", type=int, default=60, help="firms wrk rotates over (60)")
    parser.add_argument("--seed", type=int, default=1, help="xingpei gen --seed (1)")
    parser.add_argument("--workers", type=int, default=2, help="xingpei serve --workers N (2)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per measured wrk run (30)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of unreported warm-up (5)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument(
        "--fault", action=argparse.BooleanOptionalAction, default=True, help="SIGKILL a worker under load"
    )
    parser.add_argument("--fresh", action="store_true", help="build the kept catalogue again")
    parser.add_argument("--start-timeout", type=float, default=900.0, help="seconds allowed for a start")
    return parser.parse_args()


def catalogue(arguments: argparse.Namespace) -> tuple[dict[str, str], Path]:
    """The environment of the kept database (built when missing) and the file of its firm ids."""
    name = f"b{arguments.buildings}-s{arguments.scenarios}-f{arguments.firms}-seed{arguments.seed}"
    folder = FOLDER / name
    path, ids, ready = folder / "xingpei.db", folder / "firm_ids.txt", folder / "ready"
    env = environment(f"sqlite:///{path}")
    if ready.exists() and not arguments.fresh:
        log(f"reusing the catalogue in {folder}")
        return env, ids
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (path, ids, ready):
        stale.unlink(missing_ok=True)
    sizes = {
        "buildings": arguments.buildings,
        "scenarios": arguments.scenarios,
        "enterprises": arguments.firms,
    }
    for kind, size in sizes.items():
        generated = folder / f"{kind}.jsonl"
        log(xingpei(env, "gen", kind, str(size), str(generated), "--seed", str(arguments.seed)).strip())
        log(xingpei(env, "import", "--no-encode", kind, str(generated)).strip().splitlines()[-1])
        if kind == "enterprises":
            with generated.open(encoding="utf-8") as lines:
                firms = [json.loads(line)["id"] for line in lines if line.strip()]
            ids.write_text("\n".join(firms[: arguments.rotate]) + "\n", encoding="utf-8")
        generated.unlink()
    model = env.get("XINGPEI_EMBEDDING_MODEL", "var/models/multilingual-e5-small")
    log(f"{fake_vectors(env['XINGPEI_DATABASE_URL'], model, arguments.seed):,} random unit vectors")
    ready.touch()
    return env, ids


def worker_pids(server: Server, expected: int, tries: int = 60) -> set[str]:
    """The worker process ids that answer /healthz (fresh connections until `expected` were seen)."""
    seen: set[str] = set()
    for _ in range(tries):
        try:
            response = httpx.get(f"{server.url}/healthz", timeout=10)
        except httpx.HTTPError:
            continue
        seen.add(response.headers.get(WORKER_HEADER, "?"))
        if len(seen) >= expected:
            break
    return seen


def sequential(server: Server, token: str, firms: list[str], count: int = 120) -> list[float]:
    """Milliseconds of `count` stored-firm matches one after another over one connection."""
    took = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        for number in range(count):
            started = time.perf_counter()
            response = client.get(STORED_PATH % firms[number % len(firms)])
            took.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                sys.exit(f"HTTP {response.status_code}: {response.text[:300]}")
    return took


def _cpu_ticks(stat: Path) -> int:
    """The CPU clock ticks (user + system) of a /proc stat file; 0 once the process or thread is gone."""
    with contextlib.suppress(OSError):
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return 0


def server_cpu(server: Server) -> tuple[float, float]:
    """Seconds of CPU the server's processes have used so far: in all, and in their main threads.

    A worker's main thread runs the event loop (HTTP parsing, routing, dependencies, sending); the
    others run what FastAPI hands to worker threads (the matcher among them).
    """
    ticks = main = 0
    for pid in tree_memory(server.pid).processes:
        ticks += _cpu_ticks(Path(f"/proc/{pid}/stat"))
        main += _cpu_ticks(Path(f"/proc/{pid}/task/{pid}/stat"))
    second = os.sysconf("SC_CLK_TCK")
    return ticks / second, main / second


def measured(
    name: str, server: Server, options: WrkOptions, warmup: float, args: list[str]
) -> tuple[WrkResult, float]:
    """An unreported warm-up, then the measured wrk run and the server's CPU milliseconds per request;
    prints its summary line (with the event loops' share of that CPU) and the load average."""
    if warmup > 0:
        run_wrk("match.lua", server.url, WrkOptions(options.connections, options.threads, warmup), args)
    log(f"{name}: measuring {options.duration:.0f} s at {options.connections} connections")
    split: dict[int, int] = {}
    sample = threading.Timer(
        min(2.0, options.duration / 2),
        lambda: split.update(connections_held(tree_memory(server.pid).processes, server.port)),
    )
    before, loops_before = server_cpu(server)
    sample.start()
    result = run_wrk("match.lua", server.url, options, args)
    sample.join()
    after, loops_after = server_cpu(server)
    answered = max(1, result.answered)
    cpu, loops = (after - before) * 1000 / answered, (loops_after - loops_before) * 1000 / answered
    held = " / ".join(str(count) for count in sorted(split.values(), reverse=True) if count)
    print(
        f"{result.summary(name)}; server CPU {cpu:.2f} ms per request ({loops:.2f} ms on the event loops, "
        f"{cpu - loops:.2f} ms on other threads); connections per worker {held or '?'}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return result, cpu


def typed_in_beside(server: Server, token: str, options: WrkOptions, args: list[str], count: int = 60) -> str:
    """Typed-in profiles sent one at a time over one connection (0.2 s apart, each a new text) while wrk
    loads stored-firm matches: how long they wait behind the stored matches a worker's event loop runs in
    turn."""
    longer = WrkOptions(options.connections, options.threads, 600.0)  # stopped once the profiles are sent
    load = subprocess.Popen(wrk_command("match.lua", server.url, longer, args), stdout=subprocess.DEVNULL)
    took = []
    try:
        time.sleep(2.0)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            for number in range(-1, count):  # the first opens the model in its worker: not counted
                body = {
                    "id": f"TYPED{number}",
                    "name": f"来电企业{number}",
                    "description": f"专注工业视觉质检算法的企业，来电线索 {number} {time.time()}",
                    "required_area_m2": 500,
                }
                started = time.perf_counter()
                response = client.post(TYPED_IN_PATH, json=body)
                if number >= 0:
                    took.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    sys.exit(f"HTTP {response.status_code}: {response.text[:300]}")
                time.sleep(0.2)
    finally:
        load.terminate()
        load.wait()
    deciles = statistics.quantiles(took, n=10)
    return (
        f"typed-in profiles beside the stored-firm load ({count}, one at a time over one connection): p50 "
        f"{statistics.median(took):.1f} ms, p90 {deciles[-1]:.1f} ms, max {max(took):.1f} ms"
    )


def fault(server: Server, options: WrkOptions, args: list[str], workers: int, timeout: float) -> str:
    """SIGKILL one worker 5 s into a wrk run on the match endpoint; what happened, in one line."""
    before = worker_pids(server, workers)
    victim = int(sorted(before)[0])
    others = set(tree_memory(server.pid).processes) - {victim}
    command = wrk_command("match.lua", server.url, options, args)
    log(f"fault: wrk {options.duration:.0f} s, SIGKILL worker {victim} after 5 s")
    output: list[str] = []
    wrk = threading.Thread(
        target=lambda: output.append(subprocess.run(command, capture_output=True, text=True).stdout)
    )
    wrk.start()
    time.sleep(5)
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    replacement, ready_after = None, None
    while time.monotonic() < killed_at + timeout:
        fresh = set(tree_memory(server.pid).processes) - others - {victim}
        if fresh and replacement is None:
            replacement = min(fresh)
            log(f"fault: new process {replacement} {time.monotonic() - killed_at:.1f} s after the kill")
        if replacement is not None and str(replacement) in worker_pids(server, workers, tries=8):
            ready_after = time.monotonic() - killed_at
            break
        time.sleep(0.5)
    wrk.join()
    result = parse_wrk(output[0])
    print(result.summary("fault run"))
    failed = result.non_2xx + result.socket_errors
    replaced = (
        f"replaced by pid {replacement}, answering {ready_after:.1f} s after the kill"
        if ready_after is not None
        else f"{'a new process ' + str(replacement) + ' started but' if replacement else 'no new process:'} "
        f"not answering within {timeout:.0f} s"
    )
    return (
        f"SIGKILL worker {victim} 5 s into a {options.duration:.0f} s run at {options.connections} "
        f"connections: {replaced}; {result.answered:,} answered ({result.rate:,.1f} req/s over the run), "
        f"{failed} failed (non-2xx {result.non_2xx}, socket errors {result.socket_errors}), "
        f"{result.unanswered} unanswered at the end"
    )


def main() -> None:
    """Build or reuse the catalogue, serve, measure, record the goals."""
    arguments = _arguments()
    options = WrkOptions(arguments.connections, arguments.threads, arguments.duration)
    env, ids = catalogue(arguments)
    firms = ids.read_text(encoding="utf-8").split()
    token = new_token(env, "staff")
    log_path = ids.parent / "server.log"
    log_path.unlink(missing_ok=True)
    server = Server(env, arguments.workers, log_path)
    fault_line = None
    with running(server, arguments.start_timeout):
        took = sequential(server, token, firms)
        seq_p50 = statistics.median(took)
        print(
            f"sequential stored-firm match over HTTP: p50 {seq_p50:.1f} ms, "
            f"p90 {statistics.quantiles(took, n=10)[-1]:.1f} ms ({len(took)} requests); "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        match, match_cpu = measured("stored firm", server, options, arguments.warmup, [token, str(ids)])
        health, health_cpu = measured(
            "/healthz   ", server, options, arguments.warmup, [token, str(ids), HEALTHZ_FORMAT]
        )
        mixed_line = typed_in_beside(server, token, options, [token, str(ids)])
        print(mixed_line)
        if arguments.fault:
            fault_line = fault(server, options, [token, str(ids)], arguments.workers, arguments.start_timeout)
            print(fault_line)
    tracebacks = sum(
        1 for line in log_path.read_text(errors="replace").splitlines() if line.startswith("Traceback")
    )
    p99 = match.number("latency_us", "p99") / 1000
    ratio = match.rate / health.rate if health.rate else 0.0
    setting = (
        f"{arguments.buildings:,} buildings + {arguments.scenarios:,} scenarios, SQLite, "
        f"{arguments.workers} workers, {options.connections} connections"
    )
    print(f"\n=== summary ({setting}; {time.strftime('%Y-%m-%d %H:%M')}; {results.machine_speed()}) ===")
    print(f"match {match.rate:,.1f} req/s, /healthz {health.rate:,.1f} req/s: ratio {ratio:.3f}")
    print(f"tracebacks in the server log: {tracebacks}")
    service = (
        f"a match costs {match_cpu:.2f} ms of server CPU, /healthz {health_cpu:.2f} ms: were both limited "
        f"by the server's CPU, the ratio would be {health_cpu / match_cpu if match_cpu else 0.0:.3f} at "
        f"most; sequentially over HTTP "
        f"a match takes {seq_p50:.1f} ms, and {options.connections} connections on {arguments.workers} "
        f"workers (and wrk) share {os.cpu_count()} cores, so a request queues behind "
        f"~{options.connections / arguments.workers - 1:.0f} others in its worker"
    )
    print(f"limit: {service}")
    p99_met = p99 <= P99_GOAL_MS and match.clean
    ratio_met = ratio >= RATIO_GOAL and match.clean
    print(f"  goal p99 <= {P99_GOAL_MS:.0f} ms, zero errors: {'MET' if p99_met else 'MISSED'} ({p99:.1f} ms)")
    print(f"  goal ratio >= {RATIO_GOAL}: {'MET' if ratio_met else 'MISSED'} ({ratio:.3f})")
    results.record(
        RESULTS,
        f"stored-firm match p99, {setting}",
        f"{match.summary('').removeprefix(': ')}; sequential p50 {seq_p50:.1f} ms",
        f"p99 <= {P99_GOAL_MS:.0f} ms, zero errors",
        p99_met,
        service,
    )
    results.record(
        RESULTS,
        f"stored-firm match / healthz throughput, {setting}",
        f"{match.rate:,.1f} / {health.rate:,.1f} req/s = {ratio:.3f}",
        f">= {RATIO_GOAL} of /healthz in the same run",
        ratio_met,
        service,
    )
    results.record(
        RESULTS, f"typed-in profiles beside the stored-firm load, {setting}", mixed_line, "quote", None
    )
    if fault_line is not None:
        results.record(RESULTS, f"SIGKILL one worker under load, {setting}", fault_line, "quote", None)


if __name__ == "__main__":
    main()
