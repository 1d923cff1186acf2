"""The allocator tuning the entry points apply (colorize.runtime)."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = "from colorize import keep_freed_memory; print(keep_freed_memory())"


def run(**environment: str) -> str:
    done = subprocess.run([sys.executable, "-c", SCRIPT], env={**os.environ, **environment},
                          capture_output=True, text=True, check=True, timeout=120)
    return done.stdout.strip()


def test_glibc_keeps_freed_memory_and_the_environment_can_say_no():
    assert run() == "True"  # Debian/Ubuntu CPython uses glibc
    assert run(COLORIZE_KEEP_FREED_MEMORY="0") == "False"


def test_a_big_process_gives_freed_memory_back_and_a_small_one_keeps_it():
    from colorize.runtime import release_freed_memory

    assert release_freed_memory(above_mb=0) is True       # glibc: malloc_trim ran
    assert release_freed_memory(above_mb=1e9) is False    # under the bound: nothing to do
