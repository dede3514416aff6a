"""What several test modules share: the real command, upstream's names, a set of names with every letter, and a
collector that runs less often for the long runs of the scalar engines."""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The 20 names upstream's 199-line microgpt prints with seed 42 on names.txt (its gist's output)
UPSTREAM_SAMPLES = ("kamon ann karai jaire vialan karia yeran anna areli kaina konna keylen liole alerin "
                    "earan lenne kana lara alela anton").split()

# Nine names that use all 26 letters: a vocabulary of 27 tokens, upstream's, from a few documents
A_TO_Z = ["quinn", "xavier", "jasper", "wyatt", "zoe", "felix", "hugo", "brock", "dominic"]


def microgpt(*args: str, env: dict | None = None, timeout: float = 120, cwd: Path = ROOT,
             stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    """Run python -m microgpt with these arguments; its exit status, stdout and stderr."""
    return subprocess.run([sys.executable, "-m", "microgpt", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=stdin, env={**os.environ, **(env or {})})


# A scalar step builds some 58,000 nodes that live until its backward ends, so the cyclic collector, on
# its default schedule, walks them again and again: more than half of a plain step's time. Collecting
# young objects after 100,000 allocations instead of 700 changes no number (the collector frees memory,
# it computes nothing) and halves the time of a long plain run. GC_EASED is the same for a child Python.
EASED = (100_000, 50, 100)
GC_EASED = f"import gc; gc.set_threshold{EASED}"


@contextlib.contextmanager
def collector_eased() -> Iterator[None]:
    """Run the cyclic collector on EASED's schedule for the with block, then on the one it had."""
    was = gc.get_threshold()
    gc.set_threshold(*EASED)
    try:
        yield
    finally:
        gc.set_threshold(*was)
