"""The package is upstream's program: with seed 42 on names.txt it prints upstream's figures.

The figures are those of Karpathy's microgpt gist (199-line revision) run on makemore's names.txt.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import UPSTREAM_SAMPLES


ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_FIRST_20 = ("3.3660 3.4243 3.1778 3.0664 3.2209 2.9452 3.2894 3.3245 2.8990 3.2229 "
                     "2.7964 2.9345 3.0544 3.0905 3.0651 2.7337 2.8839 2.8977 2.7073 2.7453").split()
UPSTREAM_EVERY_100 = "3.3669 2.3097 2.3178 2.3428 2.0645 2.4851 2.3357 2.2632 2.7785 2.6497".split()


@pytest.mark.needs_names
def test_the_command_prints_upstreams_first_20_losses(names_txt):
    """The real command, stopped after its 20th step: upstream's header and losses."""
    proc = subprocess.Popen([sys.executable, "-m", "microgpt", "--data", str(names_txt)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(23)]
    finally:
        proc.kill()
        proc.communicate()
    assert lines[:3] == ["num docs: 32033", "vocab size: 27", "num params: 4192"]
    assert lines[3:] == [f"step {i + 1:4d} / 1000 | loss {loss}" for i, loss in enumerate(UPSTREAM_FIRST_20)]


@pytest.fixture(scope="module")
def full_run(names_txt, tmp_path_factory) -> tuple[list[str], dict]:
    """The whole reference run through the real command: what it prints, and the model it saves."""
    saved = tmp_path_factory.mktemp("reference") / "model.json"
    done = subprocess.run([sys.executable, "-m", "microgpt", "--data", str(names_txt), "--save", str(saved)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines(), json.loads(saved.read_text("utf-8"))


@pytest.mark.slow
@pytest.mark.needs_names
def test_full_run_prints_what_upstream_prints(full_run):
    full_run = full_run[0]
    steps = [f"step {s:4d} / 1000 | loss " for s in range(1, 1001)]
    assert full_run[:3] == ["num docs: 32033", "vocab size: 27", "num params: 4192"]
    assert [line[:len(s)] for line, s in zip(full_run[3:1003], steps)] == steps
    losses = [line.rsplit(" ", 1)[1] for line in full_run[3:1003]]
    assert losses[:20] == UPSTREAM_FIRST_20
    assert losses[99::100] == UPSTREAM_EVERY_100
    assert full_run[1003:1005] == ["", "--- inference (new, hallucinated names) ---"]
    assert full_run[1005:] == [f"sample {i + 1:2d}: {name}" for i, name in enumerate(UPSTREAM_SAMPLES)]


@pytest.mark.slow
@pytest.mark.needs_names
def test_the_run_it_chapter_shows_lines_of_the_real_run(full_run):
    """Every line of the log quoted in 'Run it' is a line the run printed."""
    full_run = full_run[0]
    text = (ROOT / "docs" / "11-run-it.md").read_text("utf-8")
    quoted = text.split("<!-- reference run -->", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    shown = [line for line in quoted.splitlines() if line != "..."]
    assert len(shown) > 40
    assert all(line in full_run for line in shown), [line for line in shown if line not in full_run]


@pytest.mark.slow
def test_no_arguments_trains_on_the_bundled_names_offline():
    """python -m microgpt alone: 1000 steps on the bundled census names, then 20 samples."""
    done = subprocess.run([sys.executable, "-m", "microgpt"], cwd=ROOT, capture_output=True, text=True,
                          timeout=1800, env={**os.environ, "MICROGPT_NAMES_URL": "http://127.0.0.1:9/"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == ["num docs: 5163", "vocab size: 27", "num params: 4192"]
    assert len([line for line in lines if line.startswith("step ")]) == 1000
    names = [line.split(": ", 1)[1] for line in lines if line.startswith("sample ")]
    assert len(names) == 20 and all(name.isalpha() and name.islower() for name in names)


@pytest.mark.slow
@pytest.mark.needs_names
def test_recorded_run_is_the_real_run(full_run):
    """docs/data/: every weight of the recorded model, every loss to 4 digits, every sample."""
    lines, saved = full_run
    recorded = json.loads((ROOT / "docs" / "data" / "reference-run.json").read_text("utf-8"))
    assert saved == json.loads((ROOT / "docs" / "data" / "reference-model.json").read_text("utf-8"))
    printed = [line.rsplit(" ", 1)[1] for line in lines if line.startswith("step ")]
    assert printed == [f"{loss:.4f}" for loss in recorded["losses"]]
    assert [line.split(": ", 1)[1] for line in lines if line.startswith("sample ")] == recorded["samples"]
