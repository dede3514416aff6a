"""Record chapter 19's experiments: runs on Karpathy's names.txt with a held-out validation set.

Each run starts from upstream's settings, changes one (steps, width, depth, context, or how much
is held out), trains with the numba engine and `--val-fraction`, and is recorded in
docs/data/experiments-run.json: its settings and the command that repeats it, the training and
validation losses at every tenth, the final losses, the seconds it trained (evaluations
excluded) and the names it sampled, with the machine and Python it ran on. The chapter's table,
figures and numbers are read from the record; tests/test_experiments.py re-runs the 1,000-step
runs and compares them with it.

    python -m tools.experiments [--names ../shared/data/names.txt]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from microgpt import engines, program
from microgpt.datasets import read_docs
from microgpt.model import Config
from microgpt.optim import Adam
from microgpt.validation import mean_loss, split, watched

DATA = ROOT / "docs" / "data"
RECORD = DATA / "experiments-run.json"
ENGINE, SAMPLES, SEED, TEMPERATURE = "numba", 5, 42, 0.5
BASE = {"steps": 1000, "n_embd": 16, "n_layer": 1, "block_size": 16, "n_head": 4, "val_fraction": 0.1}
CHANGES = [{}, {"n_embd": 32}, {"n_embd": 64}, {"n_layer": 2}, {"n_layer": 4}, {"block_size": 8},
           {"block_size": 32}]
RUNS = [{**BASE, "steps": steps, **change} for steps in (1000, 10000) for change in CHANGES] + [
    {**BASE, "steps": 10000, "val_fraction": 0.99}, {**BASE, "steps": 10000, "val_fraction": 0.99, "n_embd": 64}]
FLAGS = ("steps", "n_embd", "n_layer", "block_size", "val_fraction")


def command(settings: dict) -> str:
    """The command that repeats a run: the flags that differ from upstream's, and the ones every run sets."""
    flags = [f"--{name.replace('_', '-')} {settings[name]}" for name in FLAGS
             if name in ("steps", "val_fraction") or settings[name] != BASE[name]]
    return f"python -m microgpt --data names --engine {ENGINE} --samples {SAMPLES} " + " ".join(flags)


def run(names: str, settings: dict) -> dict:
    """One run, as the command line makes it: read and shuffle, build, hold out, train watched, sample."""
    rng = random.Random(SEED)
    docs = read_docs(names, rng)
    config = Config(**{k: settings[k] for k in ("n_embd", "n_layer", "block_size", "n_head")})
    tokenizer, model = program.build(docs, config, rng, lambda line: None)
    train_docs, held = split(docs, settings["val_fraction"])
    train, sample = engines.load(ENGINE)
    curve, evaluating = [], [0.0]

    def report(step: int, mean: float) -> None:
        start = time.perf_counter()
        curve.append({"step": step, "train": mean, "val": mean_loss(model, tokenizer, held, ENGINE)})
        evaluating[0] += time.perf_counter() - start

    start = time.perf_counter()
    losses = list(watched(train, report)(model, tokenizer, train_docs, Adam(model.params), settings["steps"]))
    seconds = time.perf_counter() - start - evaluating[0]
    seen = train_docs[:min(settings["steps"], len(train_docs))]  # the documents it trained on
    unseen = train_docs[len(seen):len(seen) + len(held)]  # training documents it never reached: a control
    names_out = [sample(model, tokenizer, rng, TEMPERATURE) for _ in range(SAMPLES)]
    trained = set(train_docs)
    return {"settings": settings, "command": command(settings), "num_params": len(model.params),
            "train_docs": len(train_docs), "held_out": len(held), "trained_on": len(seen),
            "curve": curve, "last_loss": losses[-1],
            "train_loss": mean_loss(model, tokenizer, seen, ENGINE), "val_loss": curve[-1]["val"],
            "unseen_loss": mean_loss(model, tokenizer, unseen, ENGINE) if unseen else None,
            "seconds": seconds, "eval_seconds": evaluating[0], "samples": names_out,
            "samples_in_training": sum(name in trained for name in names_out)}


def machine() -> dict:
    """What the seconds depend on: benchmarks/engines.py's description of the machine, and Numba's version."""
    from benchmarks.engines import machine as described

    about = described()
    about["summary"] += f", Numba {about.get('numba', 'absent')}"
    return about


def warm_up(names: str) -> None:
    """Compile the numba engine's functions (or load them from its cache) before anything is timed."""
    run(names, {**BASE, "steps": 2, "n_embd": 8, "n_head": 2})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", default=str(ROOT.parent / "shared" / "data" / "names.txt"))
    args = parser.parse_args(argv)
    warm_up(args.names)
    runs = []
    for settings in RUNS:
        runs.append(run(args.names, settings))
        r = runs[-1]
        print(f"{r['command']}: train {r['train_loss']:.4f}, val {r['val_loss']:.4f}, {r['seconds']:.2f} s, "
              f"{', '.join(r['samples'])}", flush=True)
    record = {"machine": machine(), "engine": ENGINE, "seed": SEED, "temperature": TEMPERATURE,
              "samples": SAMPLES, "base": BASE, "runs": runs}
    DATA.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps(record, indent=1) + "\n", "utf-8")
    print(f"recorded {len(runs)} runs in {RECORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
