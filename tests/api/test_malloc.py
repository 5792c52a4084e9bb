"""The server caps glibc's malloc arenas, so that its threads do not each grow an arena of their own."""

from __future__ import annotations

import subprocess
import sys

from api.config import Settings

THREADS = 8
PROBE = f"""
import ctypes, ctypes.util, os, sys, tempfile, threading
from api.malloc import limit_arenas

arenas = int(sys.argv[1])
assert limit_arenas(arenas)
start = threading.Barrier({THREADS})

def allocate() -> None:
    start.wait()  # every thread allocates at the same time, as a loaded server's do
    kept = [bytearray(16_384) for _ in range(200)]
    start.wait()
    del kept

threads = [threading.Thread(target=allocate) for _ in range({THREADS})]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.fopen.restype = ctypes.c_void_p
with tempfile.NamedTemporaryFile(suffix=".xml") as report:
    stream = libc.fopen(report.name.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    print(open(report.name).read().count("<heap nr="))
"""


def _arenas_after_threads(limit: int) -> int:
    """How many arenas a fresh process has after THREADS threads allocated at once under `limit`."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(limit)], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_the_arena_limit_holds_while_many_threads_allocate() -> None:
    unlimited = _arenas_after_threads(0)
    assert unlimited > 2, "without a limit glibc gives concurrent threads arenas of their own"
    assert _arenas_after_threads(Settings().malloc_arenas) <= Settings().malloc_arenas == 2
