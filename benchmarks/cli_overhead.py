"""What the command line costs per training step, against calling train() directly.

Both train upstream's model on the bundled names with the same seed, settings and engine; the
command line runs in-process with its output thrown away. Each is timed several times,
alternately, and the best time is kept.

    python -m benchmarks.cli_overhead [--steps 30] [--repeats 3] [--engine plain|fast]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import sys
import time
from importlib import resources

from microgpt import engines
from microgpt.cli import main
from microgpt.data import load_docs
from microgpt.model import GPT, Config
from microgpt.optim import Adam
from microgpt.tokenizer import Tokenizer


def direct(steps: int, engine: str) -> float:
    """Seconds for the steps through the engine's train(), from reading the data on."""
    train = engines.load(engine)[0]
    start = time.perf_counter()
    rng = random.Random(42)
    docs = load_docs(str(resources.files("microgpt") / "names.txt"), rng)
    tokenizer = Tokenizer(docs)
    model = GPT(Config(), tokenizer.vocab_size, rng)
    for _ in train(model, tokenizer, docs, Adam(model.params), steps):
        pass
    return time.perf_counter() - start


def command_line(steps: int, engine: str) -> float:
    """Seconds for the same steps through the command line (and its one sample)."""
    start = time.perf_counter()
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        status = main(["--steps", str(steps), "--samples", "1", "--engine", engine])
    assert status == 0
    return time.perf_counter() - start


def measure(steps: int, repeats: int, engine: str) -> tuple[float, float]:
    """Best seconds per step of each way, measured alternately."""
    best = {direct: float("inf"), command_line: float("inf")}
    for _ in range(repeats):
        for way in best:
            best[way] = min(best[way], way(steps, engine) / steps)
    return best[direct], best[command_line]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", choices=("plain", "fast"), default="plain")
    args = parser.parse_args()
    d, c = measure(args.steps, args.repeats, args.engine)
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
          f"{args.steps} steps, best of {args.repeats}, engine {args.engine}")
    print(f"train() directly   {d * 1000:8.1f} ms per step")
    print(f"python -m microgpt {c * 1000:8.1f} ms per step")
    print(f"difference         {(c - d) * 1000:+8.1f} ms per step ({(c / d - 1) * 100:+.1f}%)")
