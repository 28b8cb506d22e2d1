"""How a meetstore process asks glibc's allocator to give large buffers back.

A process moves recordings through buffers of megabytes (a staged part being received, runs of
sealed chunks being opened). glibc serves a buffer over `M_MMAP_THRESHOLD` with a mapping of its
own and unmaps it when freed, but by default it raises that threshold to the size of each large
buffer it frees, after which such buffers come from the heap and stay in the process's resident
set: a worker streaming a recording from staging peaked 5 MiB higher, an API process receiving
one 10 MiB higher (bench/upload_staged.py). A fixed threshold keeps them mapped and returned.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 128 * 1024
ENV = "MALLOC_MMAP_THRESHOLD_"


def return_large_buffers() -> None:
    """For this process (glibc's mallopt) and the processes it starts (glibc reads the
    environment at start: uvicorn's API processes). An operator's own setting is kept; on a libc
    without mallopt (musl, macOS) nothing changes."""
    os.environ.setdefault(ENV, str(THRESHOLD_BYTES))
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mallopt(M_MMAP_THRESHOLD, int(os.environ[ENV]) if os.environ[ENV].isdigit() else THRESHOLD_BYTES)
