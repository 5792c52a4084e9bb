"""Time `xingpei import` of a generated enterprise file end to end, beside a raw-SQLite floor.

Usage: python bench/import_scale.py [ROWS]   (default 100,000)
Prints: generation, first import, re-import (unchanged) and the floor: json.loads of every line
plus a bare sqlite3 executemany into an unconstrained table, measured in the same run.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run a command; return its wall time and last output line (failing loudly on error)."""
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout.strip().splitlines()[-1]


def _floor(path: Path, database: Path) -> float:
    """Parse every line and insert the raw JSON into a bare SQLite table in one transaction."""
    started = time.perf_counter()
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE firm (id TEXT PRIMARY KEY, body TEXT)")
    with connection:
        connection.executemany(
            "INSERT INTO firm VALUES (?, ?)",
            ((row["id"], json.dumps(row, ensure_ascii=False)) for row in rows),
        )
    connection.close()
    return time.perf_counter() - started


def main(rows: int) -> None:
    """Generate, import twice, measure the floor, and print a table."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        env = {**os.environ, "XINGPEI_DATABASE_URL": f"sqlite:///{work / 'bench.db'}"}
        data = work / "firms.jsonl"
        generate, _ = _timed([str(BIN / "xingpei"), "gen", "enterprises", str(rows), str(data)], env)
        first, first_summary = _timed([str(BIN / "xingpei"), "import", "enterprises", str(data)], env)
        again, again_summary = _timed([str(BIN / "xingpei"), "import", "enterprises", str(data)], env)
        floor = _floor(data, work / "floor.db")
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_mib = data.stat().st_size / 2**20
    print(f"enterprises: {rows:,} rows, {size_mib:.1f} MiB JSONL")
    print(f"{'step':<34}{'seconds':>9}{'rows/s':>11}{'× floor':>9}")
    for name, seconds in (
        ("xingpei gen", generate),
        ("xingpei import (new)", first),
        ("xingpei import (same file again)", again),
        ("floor: json.loads + sqlite3 insert", floor),
    ):
        print(f"{name:<34}{seconds:>9.2f}{rows / seconds:>11,.0f}{seconds / floor:>9.1f}")
    print(f"peak RSS of the largest child process: {peak_mib:.0f} MiB")
    print(f"first import: {first_summary}")
    print(f"re-import:    {again_summary}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
