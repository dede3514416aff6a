"""What several test modules share: the real command, upstream's names, a set of names with every letter."""

from __future__ import annotations

import os
import subprocess
import sys
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
