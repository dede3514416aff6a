"""Seconds per training step: the 243-line microgpt against the 199-line one, and where the gap comes from.

Four runs over the same generated names, each a fresh model trained for --steps steps:

    (a) the 243-line program: closure Value, block_size 8, squared ReLU, its init and betas
    (b) the 199-line program: local-gradient Value, block_size 16, ReLU, its init and betas
    (c) the 243-line model and settings, with its weights moved into the 199-line Value
    (d) the 199-line model and settings, with its weights moved into the closure Value

(a) against (c) and (d) against (b) change only the engine; (c) against (b) changes only the
settings. Times are CPU seconds of this process (time.process_time), so that other programs
running on the machine disturb them less. Each run is timed twice: "s/step" as Python runs it,
with its automatic cyclic garbage collector, and "no gc" with that collector paused during the
step (the step's garbage is then collected between steps, untimed). "full gc" counts the full
collections Python ran per step; "us/node" is the "no gc" time per node of the graph, in
microseconds: the engine's own cost.

    python -m benchmarks.legacy_vs_current             # 50 steps per run: a few minutes
    python -m benchmarks.legacy_vs_current --steps 1 --length 2   # a smoke test: about a second
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import sys
import time

from microgpt import autograd, legacy
from microgpt.model import GPT, Config
from microgpt.optim import Adam
from microgpt.tokenizer import Tokenizer
from microgpt.train import doc_loss

# How many of the 32,033 names of makemore's names.txt have 2, 3, ..., 15 letters.
LENGTHS = dict(zip(range(2, 16), (65, 575, 2983, 7133, 9657, 6819, 3108, 1118, 380, 128, 29, 30, 6, 2)))
CONSONANTS, VOWELS = "bcdfghjklmnpqrstvwxyz", "aeiou"


def make_names(n: int, fixed_length: int = 0, seed: int = 0) -> list[str]:
    """n made-up lowercase names, fixed_length letters long or as long as in names.txt (by quantile)."""
    rng = random.Random(seed)
    total, names, decks = sum(LENGTHS.values()), [], {0: [], 1: []}
    for i in range(n):
        rank, length = (i + 0.5) / n * total, fixed_length
        for length, count in LENGTHS.items() if not fixed_length else ():
            rank -= count
            if rank < 0:
                break
        first = rng.randrange(2)
        names.append("".join(draw(decks, (j + first) % 2, rng) for j in range(length)))
    rng.shuffle(names)
    return names


def draw(decks: dict, vowel: int, rng: random.Random) -> str:
    """A letter from a shuffled deck of vowels or of consonants: every letter turns up before any repeats."""
    if not decks[vowel]:
        letters = VOWELS if vowel else CONSONANTS
        decks[vowel] = rng.sample(letters, len(letters))
    return decks[vowel].pop()


def count_nodes(root) -> int:
    """The number of distinct nodes in the graph behind root, for either engine."""
    seen, stack = {id(root)}, [root]
    while stack:
        v = stack.pop()
        for child in (v._prev if isinstance(v, legacy.Value) else v._children):
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


def on_engine(gpt: GPT, value_cls: type) -> GPT:
    """The same model with each weight copied into a leaf of another engine's Value class."""
    gpt.state_dict = {name: [[value_cls(p.data) for p in row] for row in mat] for name, mat in gpt.state_dict.items()}
    gpt.params = [p for mat in gpt.state_dict.values() for row in mat for p in row]
    return gpt


def build(settings: str, engine: str, docs: list[str]) -> tuple:
    """A fresh model, tokenizer and optimiser: settings and engine are each "243" or "199"."""
    rng = random.Random(42)
    if settings == "243":
        tokenizer = legacy.Tokenizer(docs)
        gpt = legacy.GPT(legacy.CONFIG, tokenizer.vocab_size, rng)
    else:
        tokenizer = Tokenizer(docs)
        gpt = GPT(Config(), tokenizer.vocab_size, rng)
    if settings != engine:
        gpt = on_engine(gpt, autograd.Value if engine == "199" else legacy.Value)
    optimizer = legacy.adam(gpt.params) if settings == "243" else Adam(gpt.params)
    return gpt, tokenizer, optimizer


def time_steps(settings: str, engine: str, docs: list[str], steps: int, auto_gc: bool) -> dict:
    """Seconds, nodes and full collections per step, and the number of parameters, over `steps` steps."""
    gpt, tokenizer, optimizer = build(settings, engine, docs)
    full = []  # one entry per full (generation 2) collection that Python starts by itself

    def on_gc(phase: str, info: dict) -> None:
        if auto_gc and phase == "start" and info["generation"] == 2:
            full.append(info)

    gc.collect()
    gc.callbacks.append(on_gc)
    seconds = nodes = 0
    for step in range(steps):
        if not auto_gc:
            gc.disable()
        t0 = time.process_time()
        loss = doc_loss(gpt, tokenizer, docs[step % len(docs)])
        t1 = time.process_time()
        nodes += count_nodes(loss)  # not timed
        t2 = time.process_time()
        loss.backward()
        optimizer.step(step, steps)
        del loss  # both graphs are now garbage that only the cycle collector can free
        t3 = time.process_time()
        gc.enable()
        seconds += (t1 - t0) + (t3 - t2)
        if not auto_gc:
            gc.collect()  # not timed: free this step's graph before the next one
    gc.callbacks.remove(on_gc)
    return {"s": seconds / steps, "nodes": nodes / steps, "full": len(full) / steps, "params": len(optimizer.params)}


def main(argv: list[str] | None = None) -> int:
    """Run the four timings and print the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="training steps per run, one name each (default 50)")
    parser.add_argument("--length", type=int, default=0,
                        help="give every name this many letters (default: the lengths of names.txt)")
    args = parser.parse_args(argv)
    docs = make_names(args.steps, args.length)
    long_names = sum(len(d) >= 8 for d in docs)
    print(f"{platform.python_implementation()} {platform.python_version()} on {sys.platform}, "
          f"{os.cpu_count()} cores; training steps per run: {args.steps}, one name each")
    print(f"names: {len(docs)} made up, {sum(map(len, docs)) / len(docs):.1f} letters on average, "
          f"{long_names} with 8 or more (cut short by block_size 8)")
    print()
    runs = {"a": ("243", "243", "243-line program (closures, block 8)"),
            "b": ("199", "199", "199-line program (local grads, block 16)"),
            "c": ("243", "199", "243 settings on the 199-line Value"),
            "d": ("199", "243", "199 settings on the closure Value")}
    print(f"{'':45s}{'params':>7s}{'nodes/step':>12s}{'s/step':>8s}{'full gc':>8s}{'no gc':>8s}{'us/node':>8s}")
    auto, off = {}, {}
    for key, (settings, engine, label) in runs.items():
        auto[key] = time_steps(settings, engine, docs, args.steps, auto_gc=True)
        off[key] = time_steps(settings, engine, docs, args.steps, auto_gc=False)
        a, o = auto[key], off[key]
        print(f"({key}) {label:41s}{a['params']:7,d}{a['nodes']:12,.0f}{a['s']:8.3f}{a['full']:8.1f}{o['s']:8.3f}"
              f"{o['s'] / o['nodes'] * 1e6:8.2f}")
    print()
    print(f"{'ratio':60s}{'s/step':>8s}{'no gc':>8s}")
    for label, x, y in (("a / b  the whole program", "a", "b"),
                        ("a / c  the engine alone, at the 243 settings", "a", "c"),
                        ("d / b  the engine alone, at the 199 settings", "d", "b"),
                        ("b / c  the settings alone, on the 199-line Value", "b", "c")):
        print(f"{label:60s}{auto[x]['s'] / auto[y]['s']:7.2f}x{off[x]['s'] / off[y]['s']:7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
