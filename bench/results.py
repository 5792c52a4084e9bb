"""The benchmarks' goal lines, kept in var/bench/results.jsonl so that `make bench` ends with one table.

Each benchmark script calls `record` for every figure the performance issue sets a goal for (or asks
to quote); `python bench/results.py` prints the latest line of each, with when and how it was measured.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "var" / "bench" / "results.jsonl"


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
        print(f"         {line['at']}, load average {line['load']}: {line['command']}")


if __name__ == "__main__":
    main()
