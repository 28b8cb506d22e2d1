"""How a meetstore process asks glibc's allocator to give memory back.

A process moves recordings through buffers of megabytes (a staged part being received, runs of
sealed chunks being opened) on many threads. Two glibc defaults keep such memory resident:
- it serves a buffer over `M_MMAP_THRESHOLD` with a mapping of its own, unmapped when freed, but
  raises that threshold to the size of each large buffer it frees, after which such buffers come
  from the heap and stay; a fixed threshold keeps them mapped and returned;
- it gives each thread that allocates an arena of its own (up to 8 per core), and what a thread
  freed stays in its arena; Python allocates under its GIL, so two arenas cost no waiting.
docs/performance.md has what each did to a worker's and an API process's peak.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
SETTINGS = {"MALLOC_MMAP_THRESHOLD_": (M_MMAP_THRESHOLD, 128 * 1024), "MALLOC_ARENA_MAX": (M_ARENA_MAX, 2)}


def tune_allocator() -> None:
    """For this process (glibc's mallopt; early, before most threads start) and the processes it
    starts (glibc reads the environment at start: uvicorn's API processes). An operator's own
    setting is kept; on a libc without mallopt (musl, macOS) nothing changes."""
    for name, (_param, default) in SETTINGS.items():
        os.environ.setdefault(name, str(default))
    path = ctypes.util.find_library("c")
    if path is None:
        return
    try:
        mallopt = ctypes.CDLL(path).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    for name, (param, default) in SETTINGS.items():
        value = os.environ[name]
        mallopt(param, int(value) if value.isdigit() else default)
