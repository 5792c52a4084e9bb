"""Time `xingpei import` of a generated enterprise file end to end, beside a raw-SQLite floor.

Usage: python bench/import_scale.py [ROWS] [--no-encode]   (default 100,000 rows)
Prints: generation; the first import (parse, validate, write, and encode every new text into the
vector cache with the configured model); the index (`xingpei match`: load every record and vector
into the matcher, then one match); the same file again (must encode nothing); and the floor:
json.loads of every line plus a bare sqlite3 executemany into an unconstrained table, measured in the
same run. Peak memory is the largest child's maximum RSS (what `/usr/bin/time -v` reports).
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

import results

BIN = Path(sys.executable).parent


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, list[str]]:
    """Run a command; return its wall time and its last two output lines (failing loudly on error)."""
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout.strip().splitlines()[-2:]


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


def main(rows: int, encode: bool) -> None:
    """Generate, import twice, measure the floor, and print a table."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        env = {**os.environ, "XINGPEI_DATABASE_URL": f"sqlite:///{work / 'bench.db'}"}
        data = work / "firms.jsonl"
        xingpei = str(BIN / "xingpei")
        encoding = [] if encode else ["--no-encode"]
        generate, _ = _timed([xingpei, "gen", "enterprises", str(rows), str(data)], env)
        first, first_summary = _timed([xingpei, "import", *encoding, "enterprises", str(data)], env)
        first_id = json.loads(data.open(encoding="utf-8").readline())["id"]
        index, _ = _timed([xingpei, "match", "buildings", "--enterprise", first_id, "-k", "10"], env)
        again, again_summary = _timed([xingpei, "import", *encoding, "enterprises", str(data)], env)
        floor = _floor(data, work / "floor.db")
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_mib = data.stat().st_size / 2**20
    print(f"enterprises: {rows:,} rows, {size_mib:.1f} MiB JSONL; load average {os.getloadavg()[0]:.1f}")
    print(f"{'step':<44}{'seconds':>9}{'rows/s':>11}{'× floor':>9}")
    for name, seconds in (
        ("xingpei gen", generate),
        ("xingpei import (new" + (", encoding)" if encode else ")"), first),
        ("index: xingpei match (load all, match one)", index),
        ("xingpei import (same file again)", again),
        ("floor: json.loads + sqlite3 insert", floor),
    ):
        print(f"{name:<44}{seconds:>9.2f}{rows / seconds:>11,.0f}{seconds / floor:>9.1f}")
    print(f"peak RSS of the largest child process: {peak_mib:.0f} MiB")
    print(f"first import: {' / '.join(first_summary)}")
    print(f"re-import:    {' / '.join(again_summary)}")
    results.record(
        "bulk import (bench/import_scale.py)",
        f"{rows:,} generated firms" + ("" if encode else ", --no-encode"),
        f"import {first:.1f} s ({' / '.join(first_summary)}); index {index:.1f} s; "
        f"same file again {again:.1f} s ({' / '.join(again_summary)}); peak RSS {peak_mib:,.0f} MiB",
        "quote both times and the peak memory; the re-import encodes nothing",
        "新编码 0 条" in again_summary[-1] if encode else None,
    )


if __name__ == "__main__":
    arguments = [argument for argument in sys.argv[1:] if argument != "--no-encode"]
    main(int(arguments[0]) if arguments else 100_000, encode="--no-encode" not in sys.argv)
