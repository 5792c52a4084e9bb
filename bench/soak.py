"""Soak: constant wrk load on `xingpei serve --workers 2` while the catalogue and the weights change.

Usage: python bench/soak.py [--duration 600] [--workers 2] [--connections 16] [--interval 30]
                            [--checkers 2] [--postgres URL] [--keep]

Over a fresh demo database (SQLite in a temporary folder, or a new database on --postgres URL):
- wrk (bench/wrk/match.lua) drives GET /api/v1/enterprises/{id}/matches/buildings for the whole
  duration, cycling over every demo firm and counting every status;
- every --interval seconds the weights flip between two sets A and B (alternately through
  PUT /api/v1/weights, i.e. one of the workers, and `xingpei weights set`, another process), and half
  an interval later `xingpei import buildings` flips a catalogue file between state CA (the ledger as
  loaded) and CB (the same buildings, those most often in the sample firms' top 3, left with 10 m² to
  let, so that the hard area constraint drops them);
- checker threads ask for a sample of firms' matches on fresh connections (so both workers answer)
  and keep a fingerprint of every answer (ids, scores, eligible count). Before the load starts, the
  expected answer of each sample firm is recorded in each of the four states (A|B × CA|CB). An answer
  is consistent when it equals the expected answer of the weight set its `weights_version` names under
  one of the two catalogue states: an answer mixing old and new weights or old and new records
  matches neither;
- the resident memory of the server's process tree is sampled every interval.
Prints wrk's report and a summary: requests, failures, inconsistent answers, changes made, and RSS
at start, end and maximum.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import results
from serving import (
    STORED_PATH,
    Memory,
    Server,
    WrkOptions,
    database,
    demo_database,
    environment,
    firm_ids,
    log,
    new_token,
    parse_wrk,
    running,
    save_vectors,
    wrk_command,
    xingpei,
)

SAMPLE_FIRMS = 24
TOGGLED_BUILDINGS = 20
SHRUNK_AREA_M2 = 10.0
CATALOGUE_STATES = ("CA", "CB")
WEIGHT_SETS = ("A", "B")
B_CHANGES = {"semantic": 0.0, "industry": 0.6, "spread": 0.0}
"""Weight set B: A without the semantic channel, more industry fit and no spreading."""


def _arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load (600)")
    parser.add_argument("--workers", type=int, default=2, help="xingpei serve --workers N (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--timeout", type=float, default=5.0, help="wrk request timeout, seconds (5)")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between changes (30)")
    parser.add_argument("--checkers", type=int, default=2, help="consistency-checking threads (2)")
    parser.add_argument("--postgres", metavar="URL", help="run over a new database on this PostgreSQL server")
    parser.add_argument("--start-timeout", type=float, default=1800.0, help="seconds allowed for start-up")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, logs)")
    return parser.parse_args()


def fingerprint(answer: dict[str, Any]) -> str:
    """What must be identical between two answers from the same state: ids, scores, eligible count."""
    results = [(result["id"], round(float(result["score"]), 9)) for result in answer["results"]]
    return json.dumps([results, answer.get("eligible")])


@dataclass
class Admin:
    """Changes the server's state: weights through the API or the command line, catalogue imports."""

    url: str
    env: dict[str, str]
    headers: dict[str, str]
    folder: Path
    weights: dict[str, dict[str, float]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    set_of_version: dict[int, str] = field(default_factory=dict)
    changes: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)
    timeline: list[tuple[float, float, str]] = field(default_factory=list)
    """Each change made during the soak: (began, ended) in seconds since `origin`, and what."""
    origin: float = 0.0

    def timed(self, what: str, change: Callable[[], None]) -> None:
        """Make a change and note when it began and ended."""
        began = time.monotonic() - self.origin
        change()
        self.timeline.append((began, time.monotonic() - self.origin, what))

    def current(self) -> dict[str, Any]:
        """The current weights version."""
        answer: dict[str, Any] = httpx.get(
            f"{self.url}/api/v1/weights", headers=self.headers, timeout=60
        ).json()
        return answer

    def set_weights(self, name: str, through: str) -> None:
        """Make weight set `name` current through "api" (PUT, one worker) or "cli" (`xingpei weights set`)."""
        reason = f"soak：切换到权重组 {name}（{through}）"
        try:
            if through == "api":
                body = {
                    "weights": self.weights[name],
                    "reason": reason,
                    "expected_version": self.current()["version"],
                }
                response = httpx.put(
                    f"{self.url}/api/v1/weights", headers=self.headers, json=body, timeout=60
                )
                response.raise_for_status()
                version = int(response.json()["version"])
            else:
                path = self.folder / f"weights-{name}.json"
                output = xingpei(self.env, "weights", "set", str(path), "--reason", reason)
                match = re.search(r"权重版本 (\d+)", output)
                version = int(match.group(1)) if match else int(self.current()["version"])
        except (httpx.HTTPError, SystemExit) as exc:
            self.failures.append(f"weights {name} via {through}: {exc}")
            return
        self.set_of_version[version] = name
        self.changes[f"weights via {through}"] += 1

    def import_catalogue(self, state: str) -> None:
        """Import catalogue state `state` with `xingpei import buildings` (another process)."""
        try:
            xingpei(self.env, "import", "buildings", str(self.files[state]))
        except SystemExit as exc:
            self.failures.append(f"import {state}: {exc}")
            return
        self.changes["catalogue imports"] += 1


def _answer(url: str, headers: dict[str, str], firm: str) -> httpx.Response:
    """One stored-firm match on a fresh connection."""
    return httpx.get(url + STORED_PATH % firm, headers={**headers, "Connection": "close"}, timeout=60)


def prepare(
    server: Server, admin: Admin, staff: dict[str, str], firms: list[str]
) -> dict[tuple[str, str], dict[str, str]]:
    """Write weight sets and catalogue files; record the expected answer of every sample firm in
    every state (leaving the server in state A, CB)."""
    first = admin.current()
    admin.weights["A"] = first["weights"]
    admin.weights["B"] = {**first["weights"], **B_CHANGES}
    admin.set_of_version[int(first["version"])] = "A"
    for name, weights in admin.weights.items():
        (admin.folder / f"weights-{name}.json").write_text(json.dumps(weights), encoding="utf-8")

    # The buildings most often in the sample firms' top 3 are the ones whose area is toggled.
    counts: collections.Counter[str] = collections.Counter()
    for firm in firms:
        counts.update(result["id"] for result in _answer(server.url, staff, firm).json()["results"][:3])
    toggled = {building for building, _ in counts.most_common(TOGGLED_BUILDINGS)}
    everything = admin.folder / "buildings-all.jsonl"
    xingpei(admin.env, "export", "buildings", str(everything))
    rows = [json.loads(line) for line in everything.read_text(encoding="utf-8").splitlines() if line.strip()]
    original = [row for row in rows if row["id"] in toggled]
    shrunk = [{**row, "vacant_area_m2": SHRUNK_AREA_M2, "min_unit_m2": None} for row in original]
    for state, records in (("CA", original), ("CB", shrunk)):
        path = admin.folder / f"buildings-{state}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        admin.files[state] = path
    log(f"toggling {len(original)} buildings between their ledger area and {SHRUNK_AREA_M2:.0f} m²")

    expected: dict[tuple[str, str], dict[str, str]] = {}
    steps: list[tuple[str, str, Callable[[], None] | None]] = [
        ("A", "CA", None),
        ("B", "CA", lambda: admin.set_weights("B", "api")),
        ("B", "CB", lambda: admin.import_catalogue("CB")),
        ("A", "CB", lambda: admin.set_weights("A", "cli")),
    ]
    for weight_set, catalogue, change in steps:
        if change is not None:
            change()
        if admin.failures:
            sys.exit(f"preparing the states failed: {admin.failures}")
        answers: dict[str, str] = {}
        for firm in firms:
            seen = {fingerprint(_answer(server.url, staff, firm).json()) for _ in range(3)}
            if len(seen) != 1:
                sys.exit(
                    f"firm {firm} gets different answers in one state ({weight_set}, {catalogue}): {seen}"
                )
            answers[firm] = seen.pop()
        expected[(weight_set, catalogue)] = answers
        log(f"recorded the expected answers of {len(firms)} firms in state {weight_set}, {catalogue}")
    distinct = sum(
        expected[("A", "CA")][f] != expected[("A", "CB")][f]
        or expected[("A", "CA")][f] != expected[("B", "CA")][f]
        for f in firms
    )
    log(f"{distinct} of {len(firms)} sample firms' answers differ between the states")
    admin.changes.clear()
    return expected


@dataclass
class Checker:
    """Threads that ask for sample firms' matches and keep every answer's fingerprint."""

    url: str
    headers: dict[str, str]
    firms: list[str]
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: collections.Counter[tuple[str, int, str]] = field(default_factory=collections.Counter)
    workers: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    started: float = field(default_factory=time.monotonic)
    slowest: list[tuple[float, float, str]] = field(default_factory=list)
    """The slowest answers: (seconds, at second since the start, worker)."""

    def run(self, offset: int) -> None:
        """Ask until told to stop."""
        position = offset
        while not self.stop.is_set():
            firm = self.firms[position % len(self.firms)]
            position += 1
            asked = time.monotonic()
            try:
                response = _answer(self.url, self.headers, firm)
            except httpx.HTTPError as exc:
                with self.lock:
                    self.requests += 1
                    self.failures.append(f"{time.strftime('%H:%M:%S')} {firm}: {type(exc).__name__} {exc}")
                continue
            took = time.monotonic() - asked
            with self.lock:
                self.requests += 1
                worker = response.headers.get("x-xingpei-worker", "?")
                self.workers[worker] += 1
                self.slowest = sorted([*self.slowest, (took, asked - self.started, worker)], reverse=True)[:5]
                if response.status_code != 200:
                    self.failures.append(f"{time.strftime('%H:%M:%S')} {firm}: HTTP {response.status_code}")
                    continue
                answer = response.json()
                self.answers[(firm, int(answer["weights_version"]), fingerprint(answer))] += 1

    def inconsistent(
        self, expected: dict[tuple[str, str], dict[str, str]], set_of_version: dict[int, str]
    ) -> tuple[int, int, list[str]]:
        """(consistent answers, inconsistent answers, examples) against the expected answers."""
        good, bad, examples = 0, 0, list[str]()
        for (firm, version, print_), count in self.answers.items():
            name = set_of_version.get(version)
            allowed = {expected[(name, state)][firm] for state in CATALOGUE_STATES} if name else set()
            if print_ in allowed:
                good += count
            else:
                bad += count
                if len(examples) < 5:
                    examples.append(f"firm {firm}, weights version {version} (set {name}): {print_[:160]}")
        return good, bad, examples


def _thread(target: Callable[..., None], *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def main() -> None:
    """Set up, soak, print the summary; exit 1 when anything failed."""
    arguments = _arguments()
    options = WrkOptions(arguments.connections, arguments.threads, arguments.duration, arguments.timeout)
    folder = Path(tempfile.mkdtemp(prefix="xingpei-soak-"))
    with database(folder, arguments.postgres) as url:
        env = environment(url)
        demo_database(env)
        staff_token, admin_token = new_token(env, "staff"), new_token(env, "admin")
        staff = {"Authorization": f"Bearer {staff_token}"}
        ids = firm_ids(env, folder)
        ids_file = folder / "firm_ids.txt"
        ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
        sample = ids[:: max(1, len(ids) // SAMPLE_FIRMS)][:SAMPLE_FIRMS]
        server = Server(env, arguments.workers, folder / "server.log")
        with running(server, arguments.start_timeout):
            save_vectors(url)
            admin = Admin(server.url, env, {"Authorization": f"Bearer {admin_token}"}, folder)
            expected = prepare(server, admin, staff, sample)
            memory: list[tuple[float, Memory]] = [(0.0, server.memory())]
            checker = Checker(server.url, staff, sample)
            admin.origin = checker.started = time.monotonic()
            log(
                f"soaking for {arguments.duration:.0f} s: wrk at {arguments.connections} connections, "
                f"{arguments.checkers} checkers, a change every {arguments.interval / 2:.0f} s"
            )
            wrk_output = folder / "wrk.out"
            with wrk_output.open("w") as out:
                wrk = subprocess.Popen(
                    wrk_command("match.lua", server.url, options, [staff_token, str(ids_file)]),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            started = admin.origin
            threads = [_thread(checker.run, n * 7) for n in range(arguments.checkers)]
            tick, weights_set, catalogue_state = 1, "A", "CB"
            half = arguments.interval / 2
            while time.monotonic() - started < arguments.duration - 1:
                due = started + tick * half
                while time.monotonic() < due and wrk.poll() is None:
                    time.sleep(0.2)
                if wrk.poll() is not None or time.monotonic() - started >= arguments.duration - 1:
                    break
                if tick % 2:
                    weights_set = "B" if weights_set == "A" else "A"
                    through = "api" if tick % 4 == 1 else "cli"
                    admin.timed(
                        f"weights → {weights_set} ({through})",
                        functools.partial(admin.set_weights, weights_set, through),
                    )
                    log(f"t={time.monotonic() - started:5.0f} s  weights → {weights_set} ({through})")
                else:
                    catalogue_state = "CA" if catalogue_state == "CB" else "CB"
                    admin.timed(
                        f"catalogue → {catalogue_state}",
                        functools.partial(admin.import_catalogue, catalogue_state),
                    )
                    sample_memory = server.memory()
                    memory.append((time.monotonic() - started, sample_memory))
                    log(
                        f"t={time.monotonic() - started:5.0f} s  catalogue → {catalogue_state}; "
                        f"{sample_memory.describe()}"
                    )
                tick += 1
            wrk.wait(timeout=arguments.duration + 120)
            checker.stop.set()
            for thread in threads:
                thread.join(timeout=120)
            memory.append((time.monotonic() - started, server.memory()))
        load = parse_wrk(wrk_output.read_text())
        tracebacks = sum(
            1
            for line in server.log_path.read_text(errors="replace").splitlines()
            if line.startswith("Traceback")
        )
    good, bad, examples = checker.inconsistent(expected, admin.set_of_version)
    backend = "PostgreSQL" if arguments.postgres else "SQLite"
    print("\n=== wrk (stored-firm endpoint, whole soak) ===")
    print(load.output)
    print("\n=== soak summary ===")
    print(
        f"xingpei serve --workers {arguments.workers}, {backend}, demo catalogue; "
        f"{arguments.duration:.0f} s; "
        f"wrk {arguments.connections} connections; weights and catalogue each change every "
        f"{arguments.interval:.0f} s (offset by half); {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(load.summary("load (wrk)"))
    print(
        f"checker: {checker.requests:,} requests, failures {len(checker.failures)}, "
        f"consistent answers {good:,}, inconsistent answers {bad}; "
        f"answers per worker {dict(checker.workers)}; weight versions seen "
        f"{sorted({version for _, version, _ in checker.answers})}"
    )
    for failure in checker.failures[:10]:
        print(f"  failure: {failure}")
    for example in examples:
        print(f"  inconsistent: {example}")
    slow = ", ".join(
        f"{took:.2f} s at t={at:.0f} s (worker {worker})" for took, at, worker in checker.slowest
    )
    print(f"  slowest checker answers: {slow}")
    print(f"changes: {dict(admin.changes)}; failed changes {len(admin.failures)}")
    for failure in admin.failures[:10]:
        print(f"  failed change: {failure}")
    print(
        "  timeline: "
        + "; ".join(f"{began:.0f}–{ended:.0f} s {what}" for began, ended, what in admin.timeline)
    )
    rss = [sample.rss_mib for _, sample in memory]
    pss = [sample.pss_mib for _, sample in memory]
    print(
        f"server memory (sum over the process tree): RSS start {rss[0]:,.0f} MiB, end {rss[-1]:,.0f} MiB, "
        f"max {max(rss):,.0f} MiB; PSS start {pss[0]:,.0f}, end {pss[-1]:,.0f}, max {max(pss):,.0f} MiB"
    )
    print("  samples (s: RSS MiB): " + ", ".join(f"{t:.0f}: {sample.rss_mib:,.0f}" for t, sample in memory))
    print(f"  at the end: {memory[-1][1].describe()}")
    print(f"tracebacks in the server log: {tracebacks}")
    passed = load.clean and not checker.failures and bad == 0 and good > 0 and not admin.failures
    print(f"verdict: {'PASS' if passed else 'FAIL'} (zero failed requests, no inconsistent answer)")
    results.record(
        "soak (bench/soak.py)",
        f"{arguments.duration:.0f} s, {backend}, {arguments.workers} workers, "
        f"changes every {arguments.interval:.0f} s",
        f"{load.summary('wrk').removeprefix('wrk: ')}; checker {good:,} consistent / {bad} inconsistent, "
        f"{len(checker.failures)} failed; "
        f"{sum(admin.changes.values())} changes, {len(admin.failures)} failed; "
        f"RSS {rss[0]:,.0f} → {rss[-1]:,.0f} MiB (max {max(rss):,.0f})",
        "zero failed requests, no answer mixing old and new state (the verdict); "
        "resident memory flat (judged from the RSS quoted, not by the verdict)",
        passed,
    )
    if arguments.keep or not passed:
        print(f"kept {folder} (server.log, wrk.out, the database)")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
