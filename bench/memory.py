"""Resident memory of `xingpei serve` with a large catalogue (default 100,000 firms, 10,000 buildings
and 10,000 scenarios).

Usage: python bench/memory.py [--firms 100000] [--buildings 10000] [--scenarios 10000]
                              [--fake-vectors] [--workers N] [--postgres URL] [--keep]

1. `xingpei gen` writes the three synthetic catalogues, `xingpei import` loads them (timed).
2. Vectors. The app reads every record's vector from its cache table (by hash of model and text) and
   encodes only what is missing. Encoding 120,000 texts with the real model takes about half an hour
   on 2 cores, so:
   - by default the cache is seeded from var/bench/vectors.db (kept between bench runs), and the
     server's first start encodes whatever is missing (the first run at full size is slow; its vectors
     are then saved for the next run);
   - --fake-vectors fills the cache with random unit vectors of the model's dimension instead, under
     the very keys the app computes, so that the server starts without encoding. Memory is the same
     (same shapes); only the semantic scores are meaningless.
3. `xingpei serve` starts; once every worker answers /healthz, the resident memory of its process tree
   is read from /proc (VmRSS and PSS per process), then again after 200 match requests.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import results
from serving import (
    STORED_PATH,
    VECTOR_TABLE,
    Server,
    database,
    environment,
    log,
    new_token,
    running,
    save_vectors,
    seed_vectors,
    xingpei,
)

ENCODED = re.compile(r"已就绪：新编码 (\d+) 条文本")


def _arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--firms", type=int, default=100_000, help="enterprises (100,000)")
    parser.add_argument("--buildings", type=int, default=10_000, help="buildings (10,000)")
    parser.add_argument("--scenarios", type=int, default=10_000, help="scenarios (10,000)")
    parser.add_argument("--seed", type=int, default=1, help="xingpei gen --seed (1)")
    parser.add_argument(
        "--fake-vectors", action="store_true", help="random vectors in the cache instead of encoding"
    )
    parser.add_argument("--workers", type=int, default=1, help="xingpei serve --workers N (1)")
    parser.add_argument("--postgres", metavar="URL", help="run over a new database on this PostgreSQL server")
    parser.add_argument(
        "--start-timeout", type=float, default=4 * 3600.0, help="seconds allowed for start-up (4 h)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, logs)")
    return parser.parse_args()


def _timed(env: dict[str, str], *args: str) -> tuple[float, str]:
    """Run a `xingpei` command; return its seconds and the last line it printed."""
    started = time.monotonic()
    output = xingpei(env, *args)
    return time.monotonic() - started, output.strip().splitlines()[-1]


def fake_vectors(database_url: str, model_folder: str, seed: int) -> int:
    """Random unit vectors for every stored record's text under the app's cache keys; how many."""
    from matcher.encoder import SentenceEncoder, content_key
    from matcher.text import record_text
    from models.catalogue import iter_records
    from models.database import make_engine, make_session_factory

    # The app's own encoder class names the model and its dimension: the cache keys must be its keys.
    encoder = SentenceEncoder(model_folder)
    model_id, dim = encoder.model_id, encoder.dim
    del encoder
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        keys = sorted(
            {
                content_key(model_id, record_text(record))
                for kind in ("buildings", "enterprises", "scenarios")
                for record in iter_records(session, kind)
            }
        )
    with engine.connect() as connection:
        present = set(connection.scalars(sa.select(VECTOR_TABLE.c.key)))
    missing = [key for key in keys if key not in present]
    rng = np.random.default_rng(seed)
    with engine.begin() as connection:
        for start in range(0, len(missing), 5000):
            chunk = missing[start : start + 5000]
            vectors = rng.standard_normal((len(chunk), dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            connection.execute(
                sa.insert(VECTOR_TABLE),
                [
                    {"key": key, "model_id": model_id, "dim": dim, "vector": vector.tobytes()}
                    for key, vector in zip(chunk, vectors, strict=True)
                ],
            )
    engine.dispose()
    return len(missing)


def _exercise(server: Server, token: str, firms: list[str], buildings: list[str]) -> float:
    """200 match requests of three kinds (the first touch of each code path allocates); their seconds."""
    headers = {"Authorization": f"Bearer {token}"}
    started = time.monotonic()
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        for number in range(200):
            if number % 4 == 3:
                path = f"/api/v1/buildings/{buildings[number % len(buildings)]}/matches/enterprises?k=10"
            elif number % 4 == 2:
                path = f"/api/v1/enterprises/{firms[number % len(firms)]}/matches/scenarios?k=10"
            else:
                path = STORED_PATH % firms[number % len(firms)]
            response = client.get(path)
            if response.status_code != 200:
                sys.exit(f"{path}: HTTP {response.status_code} {response.text[:300]}")
    return time.monotonic() - started


def _ids(path: Path, count: int) -> list[str]:
    """The first `count` ids of a generated JSON Lines file."""
    ids = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            ids.append(json.loads(line)["id"])
            if len(ids) == count:
                break
    return ids


def main() -> None:
    """Generate, import, serve, measure, print."""
    arguments = _arguments()
    sizes = {
        "enterprises": arguments.firms,
        "buildings": arguments.buildings,
        "scenarios": arguments.scenarios,
    }
    folder = Path(tempfile.mkdtemp(prefix="xingpei-memory-"))
    steps: list[tuple[str, float, str]] = []
    with database(folder, arguments.postgres) as url:
        env = environment(url)
        files = {kind: folder / f"{kind}.jsonl" for kind in sizes}
        for kind, size in sizes.items():
            seconds, summary = _timed(
                env, "gen", kind, str(size), str(files[kind]), "--seed", str(arguments.seed)
            )
            steps.append(("xingpei gen " + kind, seconds, summary))
            log(steps[-1][2])
        for kind in sizes:
            # Vectors come from --fake-vectors or the bench cache, then the server's start (timed apart).
            imported = _timed(env, "import", "--no-encode", kind, str(files[kind]))
            steps.append(("xingpei import --no-encode " + kind, *imported))
            log(steps[-1][2])
        model = env.get("XINGPEI_EMBEDDING_MODEL", "var/models/multilingual-e5-small")
        if arguments.fake_vectors:
            started = time.monotonic()
            count = fake_vectors(url, model, arguments.seed)
            steps.append(("fake vectors", time.monotonic() - started, f"{count:,} random unit vectors"))
            log(steps[-1][2])
        else:
            seed_vectors(url)
        token = new_token(env, "staff")
        server = Server(env, arguments.workers, folder / "server.log")
        with running(server, arguments.start_timeout):
            at_start = server.memory()
            if not arguments.fake_vectors:
                save_vectors(url)
            health = httpx.get(f"{server.url}/healthz", timeout=60).json()
            exercise = _exercise(server, token, _ids(files["enterprises"], 200), _ids(files["buildings"], 50))
            after = server.memory()
        encoded = [int(n) for n in ENCODED.findall(server.log_path.read_text(errors="replace"))]
    vectors = "random (--fake-vectors)" if arguments.fake_vectors else "the real model (cache, then encoding)"
    print("\n=== memory ===")
    print(
        f"catalogue: {sizes['enterprises']:,} firms, {sizes['buildings']:,} buildings, "
        f"{sizes['scenarios']:,} scenarios (xingpei gen --seed {arguments.seed}); "
        f"{'PostgreSQL' if arguments.postgres else 'SQLite'}; xingpei serve --workers {arguments.workers}; "
        f"vectors: {vectors}; "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    for name, seconds, summary in steps:
        print(f"  {name:<40}{seconds:8.1f} s  {summary}")
    ready = f"{'server start to ready':<40}{server.ready_seconds:8.1f} s"
    print(f"  {ready}  texts encoded at start per worker: {encoded}")
    print(f"  index sizes (/healthz): {health.get('index')}")
    print(f"server memory when ready:         {at_start.describe()}")
    print(f"server memory after 200 matches:  {after.describe()}  ({exercise:.1f} s for the 200)")
    results.record(
        "memory (bench/memory.py)",
        f"{sizes['enterprises']:,} firms, {sizes['buildings']:,} buildings, "
        f"{sizes['scenarios']:,} scenarios, {arguments.workers} worker(s)",
        f"when ready {at_start.describe()}; after 200 matches {after.describe()}; vectors {vectors}",
        "quote the server's resident memory",
        None,
    )
    if arguments.keep:
        print(f"kept {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
