"""Record the reference run: upstream's settings, seed 42, Karpathy's names.txt.

It writes docs/data/reference-run.json (the sizes, all 1000 losses at full precision, the 20
samples, nodes per step and the time it took on the recording machine) and
docs/data/reference-model.json (the trained model as a checkpoint). The book quotes these
numbers and draws its figures from them; tests/test_recorded.py checks them against the code
(quickly for the first steps, completely in the slow run).

    python -m tools.record [--names ../shared/data/names.txt]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from microgpt import checkpoint
from microgpt.autograd import Value
from microgpt.data import load_docs
from microgpt.model import GPT, Config
from microgpt.optim import Adam
from microgpt.sample import sample
from microgpt.tokenizer import Tokenizer
from microgpt.train import doc_loss, train

DATA = ROOT / "docs" / "data"


@contextmanager
def values_created() -> Iterator[list[int]]:
    """Count the Values created inside the block: the count is the list's one item."""
    count = [0]
    init = Value.__init__

    def counting(self, *args):
        count[0] += 1
        init(self, *args)

    Value.__init__ = counting
    try:
        yield count
    finally:
        Value.__init__ = init


def nodes_created(model: GPT, tokenizer: Tokenizer, doc: str) -> int:
    """How many Values one training step's forward pass creates for `doc`."""
    with values_created() as count:
        doc_loss(model, tokenizer, doc)
    return count[0]


def coverage(docs: list[str], steps: int, block_size: int) -> dict:
    """Which embedding rows ever get a gradient in the first `steps` steps: the step by which every
    character has appeared in a trained document, and the positions no document reaches."""
    seen, every_char_by = set(), None
    chars = set("".join(docs))
    for step in range(steps):
        seen |= set(docs[step % len(docs)])
        if every_char_by is None and seen == chars:
            every_char_by = step + 1
    reached = max(min(block_size, len(docs[step % len(docs)]) + 1) for step in range(steps))
    return {"every_char_by_step": every_char_by, "positions_never_reached": list(range(reached, block_size))}


def reference_run(names: str, steps: int = 1000, samples: int = 20) -> tuple[dict, GPT, Tokenizer, random.Random]:
    """Run the reference run through the package; what it printed and measured."""
    rng = random.Random(42)
    docs = load_docs(names, rng)
    tokenizer = Tokenizer(docs)
    model = GPT(Config(), tokenizer.vocab_size, rng)
    by_length = {n: nodes_created(model, tokenizer, tokenizer.uchars[0] * (n - 1))  # the size depends
                 for n in range(1, model.config.block_size + 1)}  # only on the number of positions
    nodes = [by_length[min(model.config.block_size, len(doc) + 1)] for doc in docs[:steps]]
    start = time.perf_counter()
    losses = list(train(model, tokenizer, docs, Adam(model.params), steps))
    seconds = time.perf_counter() - start
    state = random.Random()
    state.setstate(rng.getstate())
    names_out = [sample(model, tokenizer, rng, 0.5) for _ in range(samples)]
    record = {
        "settings": {"seed": 42, "steps": steps, "samples": samples, "temperature": 0.5,
                     **vars(Config()), "lr": 0.01, "beta1": 0.85, "beta2": 0.99, "eps": 1e-8},
        "num_docs": len(docs), "vocab_size": tokenizer.vocab_size, "num_params": len(model.params),
        "dataset": {"distinct": len(set(docs)), "mean_length": sum(map(len, docs)) / len(docs),
                    "min_length": min(map(len, docs)), "max_length": max(map(len, docs))},
        "losses": losses, "samples": names_out,
        "novel_samples": [name for name in names_out if name not in set(docs)],
        "coverage": coverage(docs, steps, model.config.block_size),
        "nodes_per_step": {"mean": sum(nodes) / len(nodes), "min": min(nodes), "max": max(nodes),
                           "by_positions": {str(n): by_length[n] for n in sorted(by_length)}},
        "timing": {"seconds_per_step": seconds / steps, "python": platform.python_version(),
                   "machine": f"{platform.machine()}, {os.cpu_count()} cores"},
    }
    return record, model, tokenizer, state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", default=str(ROOT.parent / "shared" / "data" / "names.txt"))
    args = parser.parse_args(argv)
    record, model, tokenizer, rng = reference_run(args.names)
    DATA.mkdir(exist_ok=True)
    (DATA / "reference-run.json").write_text(json.dumps(record, indent=1) + "\n", "utf-8")
    checkpoint.save(str(DATA / "reference-model.json"), model, tokenizer, 1000, 42, rng)
    print(f"recorded {len(record['losses'])} losses and {len(record['samples'])} samples in {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
