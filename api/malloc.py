"""glibc's malloc arena limit: fewer arenas keep a long-running, many-threaded server's memory flat."""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8
"""glibc's `mallopt` parameter number for the arena limit (malloc.h)."""


def limit_arenas(arenas: int) -> bool:
    """Cap the malloc arenas of this process at `arenas` (0 keeps glibc's default); False where unsupported.

    glibc gives each thread that allocates concurrently an arena of its own, up to 8 per core, and
    returns little of them to the system: a server's threads (request pool, dense scans, the encoder's)
    then grow its resident memory for many minutes under load. Call this before those threads start.
    """
    if arenas <= 0:
        return True
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None)
    return mallopt is not None and bool(mallopt(M_ARENA_MAX, arenas))
