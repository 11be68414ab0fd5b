"""Fewer glibc malloc arenas for roster, whose photo workers allocate large buffers.

glibc gives a thread that finds the heap busy an arena of its own, up to eight per core, and
memory freed in one arena is only reused by the threads of that arena. roster's photo workers
and gRPC threads each allocate and free 5 MiB uploads and decoded images, so every arena keeps
its own high-water mark of them: with two arenas the peak RSS of 20 parallel 5 MiB uploads was
about 30 MiB lower (bench/README.md), at the same CPU per upload.

Set here, when the process starts, rather than as MALLOC_ARENA_MAX in the image, the chart and
the local stack separately: every way of starting roster gets it alike. An operator's own
MALLOC_ARENA_MAX is left to glibc, which read it already.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping

# mallopt(3) parameter number, from glibc's <malloc.h>.
M_ARENA_MAX = -8
ROSTER_ARENAS = 2


def limit_malloc_arenas(env: Mapping[str, str], arenas: int = ROSTER_ARENAS) -> bool:
    """Caps glibc's arenas at ``arenas`` unless MALLOC_ARENA_MAX is set; False where the C
    library is not glibc (musl has no arenas to cap) or the call is refused."""
    if env.get("MALLOC_ARENA_MAX"):
        return False
    try:
        # The C library the interpreter is linked with, without searching the disk for it.
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success and 0 on error.
    return bool(mallopt(M_ARENA_MAX, arenas))
