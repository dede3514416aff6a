"""Record the bridge run: microgpt's model in PyTorch, bigger than the scalar engines can train.

It trains the model of microgpt/bridge.py (chapter 20) on Karpathy's names.txt, batched, with a
held-out tenth of the names for validation, and writes docs/data/bridge-run.json: the settings,
where and with what it ran, the loss of every step, the training and validation loss every
`eval_every` steps, the seconds it took and a few sampled names. Chapter 20 quotes it and
tools/figures.py draws its loss curve; tests/test_bridge.py re-runs the first steps (slow set).

    python -m tools.bridge [--names ../shared/data/names.txt] [--steps N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from microgpt import validation
from microgpt.data import load_docs
from microgpt.model import Config
from microgpt.tokenizer import Tokenizer

OUT = ROOT / "docs" / "data" / "bridge-run.json"
NAMES = ROOT.parent / "shared" / "data" / "names.txt"
SETTINGS = {"n_embd": 128, "n_head": 4, "n_layer": 4, "block_size": 16, "batch_size": 64, "steps": 4000,
            "lr": 0.001, "betas": [0.85, 0.99], "seed": 42, "val_fraction": 0.1, "eval_every": 250,
            "threads": 1, "samples": 20, "temperature": 0.5}


def config(settings: dict) -> Config:
    return Config(n_embd=settings["n_embd"], n_head=settings["n_head"], n_layer=settings["n_layer"],
                  block_size=settings["block_size"])


def split(names: str, settings: dict) -> tuple[list[str], list[str], Tokenizer]:
    """The names shuffled with the seed, as microgpt does; the last val_fraction held out, as --val-fraction does."""
    docs = load_docs(names, random.Random(settings["seed"]))
    return (*validation.split(docs, settings["val_fraction"]), Tokenizer(docs))


def start(names: str, settings: dict):
    """The run's data, tokenizer and fresh weights, on the device, float32; the same every time."""
    import torch

    from microgpt import bridge

    torch.set_num_threads(settings["threads"])  # a fixed count: the float32 sums' order, and so the bits
    train_docs, val_docs, tokenizer = split(names, settings)
    generator = torch.Generator().manual_seed(settings["seed"])
    w = bridge.init_weights(config(settings), tokenizer.vocab_size, generator, bridge.device())
    return train_docs, val_docs, tokenizer, w


def losses(names: str, settings: dict, steps: int | None = None):
    """The training losses of the first `steps` steps (all of them by default), and the weights."""
    from microgpt import bridge

    train_docs, _, tokenizer, w = start(names, settings)
    run = bridge.train(w, config(settings), tokenizer, train_docs, settings["steps"], settings["batch_size"],
                       settings["lr"], tuple(settings["betas"]))
    return [loss for _, loss in zip(range(steps or settings["steps"]), run)], w


def record(names: str, settings: dict) -> dict:
    """Train the whole run, measuring as it goes; the record."""
    import torch

    from microgpt import bridge

    c = config(settings)
    train_docs, val_docs, tokenizer, w = start(names, settings)
    seen = train_docs[:len(val_docs)]  # as many training names as held-out ones: the two losses side by side
    evals, step_losses, cpu, wall = [], [], time.process_time(), time.perf_counter()
    run = bridge.train(w, c, tokenizer, train_docs, settings["steps"], settings["batch_size"], settings["lr"],
                       tuple(settings["betas"]))
    for step, loss in enumerate(run, 1):
        step_losses.append(loss)
        if step % settings["eval_every"] == 0 or step == settings["steps"]:
            evals.append({"step": step, "train": bridge.evaluate(w, c, tokenizer, seen),
                          "val": bridge.evaluate(w, c, tokenizer, val_docs)})
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    generator = torch.Generator().manual_seed(settings["seed"])
    samples = bridge.sample(w, c, tokenizer, settings["samples"], generator, settings["temperature"])
    return {
        "settings": settings,
        "device": str(w["wte"].device), "gpu": torch.cuda.is_available(),
        "torch": torch.__version__, "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "threads": torch.get_num_threads(),
        "num_docs": len(train_docs) + len(val_docs), "num_train": len(train_docs), "num_val": len(val_docs),
        "vocab_size": tokenizer.vocab_size, "num_params": sum(t.numel() for t in w.values()),
        "uniform_loss": math.log(tokenizer.vocab_size),
        "losses": step_losses, "evals": evals,
        "names_seen": settings["steps"] * settings["batch_size"],
        "seconds": {"cpu": cpu, "wall": wall, "cpu_per_step": cpu / settings["steps"]},
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bridge", description=__doc__.splitlines()[0])
    parser.add_argument("--names", default=str(NAMES), help="Karpathy's names.txt (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=SETTINGS["steps"], help="training steps (default: %(default)s)")
    parser.add_argument("--out", default=str(OUT), help="the record to write (default: %(default)s)")
    args = parser.parse_args(argv)
    if not Path(args.names).is_file():
        print(f"error: no names file at {args.names} (give one with --names)", file=sys.stderr)
        return 2
    if args.steps < 1:
        print(f"error: --steps must be at least 1, not {args.steps}", file=sys.stderr)
        return 2
    try:
        import torch  # noqa: F401
    except ImportError:
        print("error: the bridge run needs PyTorch: pip install -e '.[torch]'", file=sys.stderr)
        return 2
    result = record(args.names, {**SETTINGS, "steps": args.steps})
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    last = result["evals"][-1]
    print(f"{args.out}: {result['num_params']:,} parameters on {result['device']}, {args.steps} steps in "
          f"{result['seconds']['cpu']:.0f} s of CPU; train {last['train']:.4f}, val {last['val']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
