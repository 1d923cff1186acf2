"""Process-wide tuning for CPU inference, applied by the entry points (app, CLI, benchmarks).

glibc's malloc hands every allocation above a threshold straight back to the operating system
when it is freed. A network's activations are exactly such buffers, so each forward pass
would page-fault all of them in again: measured here on the U-Net at 1024x768, the forward
pass took 0.080 s with the default and 0.061 s with freed memory kept (bench/speed.py). The
price is that the process keeps its peak memory instead of shrinking between photos.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_KEEP_BYTES = 1 << 30  # free memory kept in the heap before any is returned to the system
_RELEASE_ABOVE_MB = 700  # a long-running server gives freed memory back once it holds more than this


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse; False where that is not possible
    (another C library, or ``COLORIZE_KEEP_FREED_MEMORY=0`` in the environment)."""
    if os.environ.get("COLORIZE_KEEP_FREED_MEMORY", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES))
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to tune
        return False


def release_freed_memory(above_mb: float = _RELEASE_ABOVE_MB) -> bool:
    """Give the heap's freed memory back to the system once the process holds more than
    ``above_mb`` resident: a server that kept the peak of one 24-megapixel photo would idle
    at 2 GB. Below the bound nothing happens, so small photos keep their fast path."""
    try:
        with open("/proc/self/statm") as stream:
            resident_mb = int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        if resident_mb <= above_mb:
            return False
        return bool(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0))
    except (OSError, AttributeError, ValueError):  # no /proc or not glibc: the allocator decides
        return False
