"""Match latency in process: firm → top-10 buildings and scenarios, beside an exact numpy scan.

Usage: python bench/match_latency.py [SIZES...]   (default 1000 10000 100000 items of each kind)

Catalogues come from demo/generate.py (SPEC formats). Vectors come from a deterministic
stand-in encoder (a random unit vector per text, keyed by the text's hash, 384-d like the default
model), because what is measured is the query path: the queries are stored firms whose vectors are
already in the tables. The floor is a plain numpy exact top-10 inner-product scan
(`vectors @ q`, `np.argpartition`) over the same item vectors, timed in the same run, alternating
with the queries so that both see the same load; beside the wall times, the median CPU time (all
threads of the process) of each, which a machine shared with other work inflates less. Also reported:
the median cost of one single-record write (upsert of a changed copy of a stored record, then its
removal).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date

os.environ.setdefault("OMP_NUM_THREADS", "2")
# OpenBLAS threads otherwise spin for about 0.1 s after each floor scan, taking a core from the match
# timed next (the match itself calls no BLAS).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np
import results

from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher.directions import DIRECTIONS
from matcher.recommender import Recommender
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord

DIM = 384
K = 10
QUERIES = 200
WARM_UP = 20
FIRMS = 2_000
WRITES = 50
WRITE_BUDGET_S = 20.0
TODAY = date(2026, 6, 1)
GOAL_P99_MS = 25.0
GOAL_RATIO = 3.0
GOAL_SIZE = 100_000
"""The catalogue size the latency and ratio goals are set for; smaller ones are quoted."""
FIXED_SIZE = 1_000
FIXED_P99_MS = 1.5
"""The fixed cost of a query: at FIXED_SIZE items, p99 at most this (issue 16)."""
LIMIT = (
    "memory bandwidth of the two cores: each match streams every item vector ({mb:.0f} MB, the floor's "
    "own scan) on one core while the other gathers the TF-IDF postings of the firm's terms and scores "
    "the factors (median CPU per match {cpu:.1f} ms of both cores against {floor_cpu:.1f} ms for the "
    "floor); with that little slack, a core taken by any other process shows at the p99"
)


class HashedUnitEncoder:
    """A random unit vector per text, seeded by the text's hash: deterministic and cheap."""

    model_id = "hashed-unit-bench"
    dim = DIM

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """[n, 384] float32, L2-normalised."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            out[row] = np.random.default_rng(seed).standard_normal(self.dim, dtype=np.float32)
        unit: np.ndarray = out / np.linalg.norm(out, axis=1, keepdims=True)
        return unit


def _catalogue(size: int, firms: list[EnterpriseRecord]) -> dict[RecordKind, list[CatalogueRecord]]:
    """`size` buildings and scenarios, and the firms, as validated records."""
    return {
        "buildings": [BuildingRecord.model_validate(r) for r in generate_buildings(size, seed=11)],
        "scenarios": [
            ScenarioRecord.model_validate(r) for r in generate_scenarios(size, seed=11, reference_date=TODAY)
        ],
        "enterprises": list(firms),
    }


def _ms(call: Callable[[], object]) -> float:
    """Wall time of one call in milliseconds."""
    return _wall_and_cpu_ms(call)[0]


def _wall_and_cpu_ms(call: Callable[[], object]) -> tuple[float, float]:
    """Wall time and this process's CPU time (all its threads) of one call, in milliseconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return (time.perf_counter() - wall) * 1000.0, (time.process_time() - cpu) * 1000.0


def _floor(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Exact top-10 rows of `vectors` [n, dim] by inner product with `query` [dim], best first."""
    scores = vectors @ query
    top = np.argpartition(scores, -K)[-K:]
    return top[np.argsort(-scores[top])]


def _write_ms(recommender: Recommender, kind: RecordKind) -> tuple[float, float]:
    """Median ms of a single-record upsert (a changed copy of a stored record) and of a removal.

    Stops after WRITES of each or WRITE_BUDGET_S seconds, whichever comes first.
    """
    records = list(recommender.records[kind].values())[:WRITES]
    timings: dict[str, list[float]] = {"upsert": [], "remove": []}
    for action in timings:
        for record in records:
            if action == "upsert":
                text = f"{getattr(record, 'description', None) or ''}（更新）"
                changed = record.model_copy(update={"description": text})
                timings[action].append(_ms(lambda: recommender.upsert(kind, [changed])))  # noqa: B023
            else:
                timings[action].append(_ms(lambda: recommender.remove(kind, [record.id])))  # noqa: B023
            if sum(timings[action]) > WRITE_BUDGET_S * 1000.0:
                break
    recommender.upsert(kind, records)
    return float(np.median(timings["upsert"])), float(np.median(timings["remove"]))


def _row(
    kind: str, size: int, latency: np.ndarray, floor: np.ndarray, writes: tuple[float, float], mb: float
) -> str:
    """One line of the table from [queries, 2] (wall, CPU) timings of the matches and of the floor."""
    p50, p99 = np.percentile(latency[:, 0], [50, 99])
    f50, f99 = np.percentile(floor[:, 0], [50, 99])
    ratio = p99 / f99
    cpu, floor_cpu = np.median(latency[:, 1]), np.median(floor[:, 1])
    figures = (
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms; floor p50 {f50:.2f} ms, p99 {f99:.2f} ms; ratio {ratio:.2f}"
    )
    if size == FIXED_SIZE:
        goal = f"p99 ≤ {FIXED_P99_MS:g} ms (the fixed cost of a query)"
        met: bool | None = bool(p99 <= FIXED_P99_MS)
        limit = f"Python around the matcher: median CPU per match {cpu:.2f} ms (reasons, numpy calls)"
    else:
        goal = f"p99 ≤ {GOAL_P99_MS:g} ms and ≤ {GOAL_RATIO:g}× the floor's p99 (set at 100,000 items)"
        met = bool(p99 <= GOAL_P99_MS and ratio <= GOAL_RATIO) if size >= GOAL_SIZE else None
        limit = LIMIT.format(mb=mb, cpu=cpu, floor_cpu=floor_cpu)
    results.record(
        "match latency (bench/match_latency.py)",
        f"firm → top-{K} {kind}, {size:,} items",
        figures,
        goal,
        met,
        limit,
    )
    verdict = {True: "yes", False: "no", None: "-"}[met]
    return (
        f"{kind:<10}{size:>8,}{p50:>9.2f}{p99:>9.2f}{f50:>9.2f}{f99:>9.2f}{ratio:>8.2f}  {verdict:<5}"
        f"{cpu:>8.2f}{floor_cpu:>8.2f}{writes[0]:>10.2f}{writes[1]:>10.2f}"
    )


def measure(size: int) -> list[str]:
    """Build a recommender over `size` items of each kind and time both directions and the floor."""
    firms = [EnterpriseRecord.model_validate(r) for r in generate_enterprises(FIRMS, seed=11)]
    started = time.perf_counter()
    recommender = Recommender(HashedUnitEncoder(), today=TODAY).load(_catalogue(size, firms))
    print(f"# {size:,} items: load {time.perf_counter() - started:.1f} s", file=sys.stderr)
    queries = [firms[i * len(firms) // QUERIES] for i in range(QUERIES)]
    firm_table = recommender.tables["enterprises"]
    query_vectors = [firm_table.vectors[firm_table.row_of[firm.id]] for firm in queries]
    lines = []
    for direction in (DIRECTIONS["firm_buildings"], DIRECTIONS["firm_scenarios"]):
        kind = direction.result
        vectors = recommender.tables[kind].vectors
        latency, floor = [], []
        for i in range(-WARM_UP, QUERIES):
            floor_ms = _wall_and_cpu_ms(lambda: _floor(vectors, query_vectors[i]))  # noqa: B023
            match_ms = _wall_and_cpu_ms(lambda: recommender.match(direction, queries[i], K))  # noqa: B023
            if i >= 0:
                floor.append(floor_ms)
                latency.append(match_ms)
        writes = _write_ms(recommender, kind)
        lines.append(_row(kind, size, np.array(latency), np.array(floor), writes, vectors.nbytes / 1e6))
    return lines


def main(sizes: Sequence[int]) -> None:
    """Measure every size and print the table."""
    print(
        f"firm → top-{K}, {QUERIES} stored query firms (vectors precomputed, {DIM}-d, so no encoding), "
        f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, {os.cpu_count()} cores; times in ms"
    )
    print(
        f"{'kind':<10}{'items':>8}{'p50':>9}{'p99':>9}{'floor50':>9}{'floor99':>9}{'ratio':>8}  {'goal':<5}"
        f"{'cpu50':>8}{'fcpu50':>8}{'upsert1':>10}{'remove1':>10}"
    )
    for size in sizes:
        for line in measure(size):
            print(line, flush=True)
    print(
        f"goal: p99 ≤ {GOAL_P99_MS:g} ms and p99 ≤ {GOAL_RATIO:g}× floor p99; ratio = p99 / floor p99; "
        "cpu50/fcpu50: median CPU time of the process (all threads) per match/floor; "
        "upsert1/remove1: median wall time of one single-record write"
    )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1_000, 10_000, 100_000])
