"""Record the progression: each program of microgpt/progression/ trained on names.txt, seed 42.

Each step is run as `python FILE.py names.txt --steps N` runs it (compiled and executed in this
process as __main__), and what it prints is parsed into docs/data/progression-run.json: its
sizes, every loss, its samples, any other line it printed, and the CPU seconds per step, taken
from the moments its first and last step lines were printed. The learning-rate sweeps behind
the rates steps 2 to 5 use go to docs/data/progression-sweep-run.json: each a whole run at another
rate, with a hash of the program it ran, so that the run at the rate the program now uses can
stand in for running it again (--from-sweep). The book's table, figure and prose quote these
files; tests/test_progression.py checks them against the programs.

    python -m tools.progression [--names PATH]             record every step (about 5 minutes)
    python -m tools.progression --sweep [--only S] [--lr X] record the learning-rate sweeps
    python -m tools.progression --only S [--from-sweep]    one step: several can run at once
    python -m tools.progression --check [--names PATH]     re-run every step, compare, write nothing
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gc
import hashlib
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = ROOT / "microgpt" / "progression"
DATA = ROOT / "docs" / "data"
RECORD = DATA / "progression-run.json"
SWEEP = DATA / "progression-sweep-run.json"
NAMES = ROOT.parent / "shared" / "data" / "names.txt"
NUM_STEPS = 300  # every step's budget: all six runs in about five minutes of CPU (upstream trains 1000)
WINDOW = 100  # the final loss is the mean over this many last steps
STEP_LINE = re.compile(r"^step +(\d+) / +(\d+) \| loss (\S+)$")
LEARNING_RATE = re.compile(r"^(learning_rate\b.*?= )([0-9.e-]+)", re.M)
LABELS = {"step1": "1: bigram, counted", "step2": "2: bigram, gradient descent", "step3": "3: MLP, autograd",
          "step4": "4: attention", "step5": "5: heads and layers", "step6": "6: Adam (microgpt)"}  # the figure's
SWEEPS = {"step2": [1, 3, 10, 30], "step3": [1, 3, 10], "step4": [0.3, 1, 3], "step5": [0.3, 1, 3]}  # whole runs


class Stopped(Exception):
    """Raised from print() once a run has printed as many step lines as it was asked for."""


class Log:
    """A stdout that keeps each printed line with the CPU time at which it was completed."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.lines: list[str] = []
        self.times: list[float] = []
        self.partial = ""
        self.stop_after = stop_after
        self.steps = 0

    def write(self, text: str) -> int:
        self.partial += text
        *done, self.partial = re.split(r"\r|\n", self.partial)  # the step lines end in \r, as upstream's
        for line in done:
            self.lines.append(line)
            self.times.append(time.process_time())
            self.steps += line.startswith("step ")
            if self.stop_after is not None and self.steps >= self.stop_after:
                raise Stopped
        return len(text)

    def flush(self) -> None:
        pass


def step_files() -> dict[str, Path]:
    """step1 ... step6 and their programs, in order."""
    return {p.name.split("_")[0]: p for p in sorted(STEPS.glob("step[0-9]_*.py"))}


def fingerprint(source: str) -> str:
    """A hash of a program with its learning rate left out: the same for every rate of a sweep."""
    return hashlib.sha256(LEARNING_RATE.sub(r"\1RATE", source, count=1).encode()).hexdigest()[:16]


def learning_rate(source: str) -> float | None:
    """The rate a program starts its learning rate at, from its `learning_rate = ...` line."""
    m = LEARNING_RATE.search(source)
    return float(m[2].split(",")[0]) if m else None


def run(path: Path, names: str, steps: int = NUM_STEPS, stop_after: int | None = None,
        lr: float | None = None) -> dict:
    """Run a program as `python FILE names --steps N` would and parse its log; lr replaces its rate."""
    source = path.read_text("utf-8")
    if lr is not None:
        source = LEARNING_RATE.sub(lambda m: m[1] + repr(lr), source, count=1)
    log, argv = Log(stop_after), sys.argv
    sys.argv = [str(path), names, "--steps", str(steps)]
    gc.collect()  # start each run with no garbage of the one before
    diverged = None
    try:
        with contextlib.redirect_stdout(log):
            exec(compile(source, str(path), "exec"), {"__name__": "__main__", "__file__": str(path)})
    except Stopped:
        pass
    except (ArithmeticError, ValueError) as e:  # a rate too large: a probability reached 0, or a number inf
        diverged = f"{type(e).__name__} after {log.steps} steps: {e}"
    finally:
        sys.argv = argv
    out = parse(log.lines, log.times, source)
    return {**out, "diverged": diverged} if diverged else out


def parse(lines: list[str], times: list[float], source: str) -> dict:
    """A program's log as a record: sizes, losses, samples, other lines, CPU seconds per step."""
    out: dict = {"notes": [], "losses": [], "samples": []}
    step_times = []
    for line, t in zip(lines, times):
        m = STEP_LINE.match(line)
        if m:
            out["losses"].append(float(m[3]))
            step_times.append(t)
        elif line.startswith("sample "):
            out["samples"].append(line.split(": ", 1)[1] if ": " in line else "")
        elif re.match(r"^(num docs|vocab size|num params): \d+$", line):
            key, value = line.split(": ")
            out[key.replace(" ", "_")] = int(value)
        elif line and not line.startswith("--- inference"):
            out["notes"].append(line)
    out["learning_rate"] = learning_rate(source)
    if len(step_times) > 1:
        out["seconds_per_step"] = (step_times[-1] - step_times[0]) / (len(step_times) - 1)
    out["final_loss"] = sum(out["losses"][-WINDOW:]) / len(out["losses"][-WINDOW:]) if out["losses"] else None
    return out


def entry(name: str, path: Path, got: dict) -> dict:
    """A step's record: its file, title and label, and what its run printed."""
    source = path.read_text("utf-8")
    return {"file": path.name, "title": source.split('"""', 2)[1].splitlines()[0], "label": LABELS[name], **got}


def record_all(names: str, steps: int = NUM_STEPS, only: str | None = None) -> dict:
    """Every step (or only one), trained in full: the contents of progression-run.json."""
    record: dict = {
        "settings": {"seed": 42, "steps": steps, "window": WINDOW, "data": "names.txt", "temperature": 0.5},
        "timing": {"python": platform.python_version(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                   "clock": "CPU time of the process, from the first step's line to the last's"},
    }
    for name, path in step_files().items():
        if not only or name == only:
            print(f"{name}: {path.name}", file=sys.stderr)
            record[name] = entry(name, path, run(path, names, steps))
    return record


def from_sweep(name: str) -> dict:
    """A step's record taken from its sweep: the run at the rate the program uses, of this program."""
    path = step_files()[name]
    source = path.read_text("utf-8")
    runs = json.loads(SWEEP.read_text("utf-8"))[name]["runs"]
    match = [r for r in runs if r["lr"] == learning_rate(source) and r["program"] == fingerprint(source)]
    if not match:
        raise ValueError(f"no run of this {path.name} at its rate {learning_rate(source)} in {SWEEP.name}")
    got = {key: value for key, value in match[0].items() if key not in ("lr", "program")}
    return {name: entry(name, path, {**got, "learning_rate": learning_rate(source)})}


def sweep(names: str, only: str | None = None, lr: float | None = None) -> dict:
    """Whole runs of each step of SWEEPS (or only one) at each of its rates (or only one)."""
    out: dict = {}
    files = step_files()
    for name, rates in SWEEPS.items():
        for rate in rates:
            if (only and name != only) or (lr is not None and rate != lr):
                continue
            print(f"{name} at learning rate {rate}", file=sys.stderr)
            got = run(files[name], names, NUM_STEPS, lr=rate)
            got.pop("learning_rate")
            got["final_loss"] = None if "diverged" in got else got["final_loss"]
            out.setdefault(name, {"runs": []})["runs"].append(
                {"lr": rate, "program": fingerprint(files[name].read_text("utf-8")), **got})
    return out


def merge(path: Path, part: dict, runs: bool = False) -> None:
    """Write `part` into the JSON file at `path`, keeping what it does not replace (runs may be parallel).
    With `runs`, each step's list of runs is merged by learning rate instead of replaced."""
    with open(Path(tempfile.gettempdir()) / f"microgpt-{path.stem}.lock", "w") as lock:  # outside the tree
        fcntl.flock(lock, fcntl.LOCK_EX)
        whole = json.loads(path.read_text("utf-8")) if path.exists() else {}
        for key, value in part.items():
            if runs and key.startswith("step"):
                kept = [r for r in whole.get(key, {}).get("runs", []) if r["lr"] not in {v["lr"] for v in value["runs"]}]
                value = {"runs": sorted(kept + value["runs"], key=lambda r: r["lr"])}
            whole[key] = value
        path.write_text(json.dumps(whole, indent=1) + "\n", "utf-8")


def differences(old: dict, new: dict, where: str = "") -> list[str]:
    """Where two records differ, timings aside."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for key in sorted(set(old) | set(new)) if key not in ("timing", "seconds_per_step")
                for d in differences(old.get(key), new.get(key), f"{where}.{key}")]
    return [] if old == new else [f"{where.lstrip('.')}: recorded {str(old)[:60]}, now {str(new)[:60]}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.progression", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="re-run every step, compare with the record")
    mode.add_argument("--sweep", action="store_true", help="record the learning-rate sweeps")
    parser.add_argument("--names", default=str(NAMES), help="Karpathy's names.txt")
    parser.add_argument("--only", metavar="STEP", help="only this step (step1 ... step6), merged into the file")
    parser.add_argument("--lr", type=float, help="with --sweep: only this rate")
    parser.add_argument("--from-sweep", action="store_true", help="with --only: take the run from the sweep")
    args = parser.parse_args(argv)
    if not Path(args.names).exists():
        print(f"error: {args.names} not found: give Karpathy's names.txt with --names", file=sys.stderr)
        return 2
    if args.from_sweep and not args.only:
        parser.error("--from-sweep needs --only STEP")
    if args.only and args.only not in step_files():
        print(f"error: no step {args.only!r}: give one of {', '.join(step_files())}", file=sys.stderr)
        return 2
    if args.sweep:
        merge(SWEEP, {"settings": {"steps": NUM_STEPS, "window": WINDOW}, **sweep(args.names, args.only, args.lr)},
              runs=True)
        print(f"recorded the sweeps in {SWEEP.relative_to(ROOT)}")
        return 0
    if args.from_sweep:
        try:
            merge(RECORD, from_sweep(args.only))
        except ValueError as e:
            print(f"error: {e}: run the sweep for it first", file=sys.stderr)
            return 1
        print(f"recorded {args.only} from its sweep in {RECORD.relative_to(ROOT)}")
        return 0
    record = record_all(args.names, only=args.only)
    if args.check:
        old = json.loads(RECORD.read_text("utf-8"))
        problems = differences({k: old[k] for k in record if k in old}, record)
        print("\n".join(problems) or f"{RECORD.relative_to(ROOT)} is what the programs print")
        return 1 if problems else 0
    merge(RECORD, record)
    print(f"recorded {args.only or 'every step'} in {RECORD.relative_to(ROOT)}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
