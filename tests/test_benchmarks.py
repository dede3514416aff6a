"""The benchmarks run and print their figures (the figures themselves are for reading)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cli_overhead_benchmark_prints_both_figures():
    done = subprocess.run([sys.executable, "-m", "benchmarks.cli_overhead", "--steps", "1", "--repeats", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("train() directly") and lines[1].endswith("ms per step")
    assert lines[2].startswith("python -m microgpt") and lines[2].endswith("ms per step")
