"""The benchmarks' goal lines, kept in var/bench/results.jsonl so that `make bench` ends with one table.

Each benchmark script calls `record` for every figure the performance issue sets a goal for (or asks
to quote); `python bench/results.py` prints the latest line of each, with when and how it was measured.
"""

from __future__ import annotations

import json
import os
import sys
import time
from functools import cache
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent.parent / "var" / "bench" / "results.jsonl"


REFERENCE_LOOP = 2_000_000
"""Iterations of the pure-Python loop that stands for this machine's speed at the matcher's Python."""
REFERENCE_ROWS = 10_000
"""Rows of 384 float32 (15 MB, a 10,000-item table's vectors) whose scan stands for its memory speed."""


@cache
def machine_speed() -> str:
    """This machine's speed now, best of several tries: a pure-Python loop and a dense scan of 15 MB.

    Figures of one benchmark on two days differ by as much as the machine does (the same tree's match
    has cost anything from 2.2 to 5.1 ms of server CPU); this says by how much it did.
    """
    loops, scans = [], []
    vectors = np.random.default_rng(0).standard_normal((REFERENCE_ROWS, 384)).astype(np.float32)
    query = vectors[0].copy()
    for _ in range(5):
        started = time.process_time()
        total = 0
        for number in range(REFERENCE_LOOP):
            total += number
        loops.append(time.process_time() - started)
        started = time.perf_counter()
        for _ in range(10):
            np.vecdot(vectors, query)
        scans.append((time.perf_counter() - started) / 10)
    return (
        f"machine: Python loop {min(loops) * 1e3:.0f} ms, 15 MB scan {min(scans) * 1e3:.2f} ms, "
        f"{os.cpu_count()} cores with {_vector_units()}"
    )


def _vector_units() -> str:
    """The CPU's widest vector instructions, which numpy's scans and the int8 model's kernels depend on."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8").split()
    except OSError:
        return "unknown vector units"
    found = [name for name in ("avx512f", "avx512_vnni", "avx_vnni", "avx2") if name in flags]
    return "+".join(found) if found else "no AVX2"


def record(bench: str, item: str, measured: str, goal: str, met: bool | None, limit: str = "") -> None:
    """Keep one figure: `met` None when the goal asks only for the figure to be quoted.

    `limit` says what holds the figure back, printed when the goal is missed.
    """
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    line = {
        "bench": bench,
        "item": item,
        "measured": measured,
        "goal": goal,
        "met": None if met is None else bool(met),  # numpy's bool is not JSON
        "limit": limit,
        "at": time.strftime("%Y-%m-%d %H:%M"),
        "load": round(os.getloadavg()[0], 1),
        "machine": machine_speed(),
        "command": " ".join(["python", *sys.argv]),
    }
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


def latest() -> list[dict[str, object]]:
    """The newest line of each (bench, item), grouped by benchmark, in the order the newest run wrote them."""
    newest: dict[tuple[str, str], dict[str, object]] = {}
    if RESULTS.exists():
        for text in RESULTS.read_text(encoding="utf-8").splitlines():
            line = json.loads(text)
            key = (line["bench"], line["item"])
            newest.pop(key, None)
            newest[key] = line
    return sorted(newest.values(), key=lambda line: str(line["bench"]))


def main() -> None:
    """Print the table."""
    lines = latest()
    if not lines:
        sys.exit(f"no results yet in {RESULTS}: run make bench")
    verdicts = {True: "MET", False: "MISSED", None: "quoted"}
    for line in lines:
        print(f"[{verdicts[line['met']]:>6}] {line['bench']} · {line['item']}")  # type: ignore[index]
        print(f"         measured: {line['measured']}")
        print(f"         goal:     {line['goal']}")
        if line["met"] is False and line.get("limit"):
            print(f"         limit:    {line['limit']}")
        machine = f"; {line['machine']}" if line.get("machine") else ""
        print(f"         {line['at']}, load average {line['load']}{machine}: {line['command']}")


if __name__ == "__main__":
    main()
