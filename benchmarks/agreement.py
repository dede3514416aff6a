"""How closely the numpy and numba engines follow the plain engine's floats, over whole runs.

For each setting (layers x learning rate) it trains the model from seed 42 for --steps steps on
the bundled names with the fast engine, whose floats are the plain engine's to the last bit
(tests/test_engines.py checks that over the whole reference run), then with numpy and numba, and
samples 20 names from each. It prints, per engine and setting, the largest difference of a loss,
the step where it happened, the first step whose loss differs by more than 1e-12, how many of the
printed losses (four decimals, as the program prints them) differ, and whether the names are the
same.

    python -m benchmarks.agreement                 # several minutes
    python -m benchmarks.agreement --record        # also write docs/data/agreement-run.json
    python -m benchmarks.agreement --steps 20 --layers 1 --lrs 0.01   # a smoke test
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import platform
import random
from importlib import resources
from pathlib import Path

from microgpt import engines
from microgpt.data import load_docs
from microgpt.model import GPT, Config
from microgpt.optim import Adam
from microgpt.tokenizer import Tokenizer

ROOT = Path(__file__).resolve().parent.parent

RECORD = ROOT / "docs" / "data" / "agreement-run.json"


def run(engine: str, data: str, n_layer: int, lr: float, steps: int, samples: int) -> tuple[list, list]:
    """Every loss of a whole run of `steps` steps, and the names sampled after it (none if it broke down)."""
    train, sample = engines.load(engine)
    rng = random.Random(42)
    docs = load_docs(data, rng)
    tokenizer = Tokenizer(docs)
    model = GPT(Config(n_layer=n_layer), tokenizer.vocab_size, rng)
    losses = []
    try:  # a learning rate too large can drive a probability to 0: the scalar engines' log() then fails
        for loss in train(model, tokenizer, docs, Adam(model.params, lr=lr), steps):
            if not math.isfinite(loss):  # where the array engines give inf or nan instead
                break
            losses.append(loss)
        else:
            return losses, [sample(model, tokenizer, rng, 0.5, "") for _ in range(samples)]
    except (ValueError, OverflowError, ZeroDivisionError):
        pass
    return losses, []


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=300, help="steps of each run, a whole schedule (default: 300)")
    p.add_argument("--layers", type=int, nargs="+", default=[1, 2, 3], help="n_layer values (default: 1 2 3)")
    p.add_argument("--lrs", type=float, nargs="+", default=[0.01, 0.02, 0.05, 0.2],
                   help="learning rates (default: 0.01 0.02 0.05 0.2)")
    p.add_argument("--record", action="store_true", help=f"write the figures to {RECORD.relative_to(ROOT)}")
    args = p.parse_args()
    others = [name for name in ("numpy", "numba") if importlib.util.find_spec(name)]
    with resources.as_file(resources.files("microgpt") / "names.txt") as path:
        data = str(path)
    print(f"agreement with the plain engine's floats on {platform.python_implementation()} "
          f"{platform.python_version()}: whole runs of {args.steps} steps on the bundled names, seed 42")
    print(f"{'engine':8} {'layers':>6} {'lr':>5} {'largest gap':>12} {'at step':>8} {'> 1e-12 from':>12} "
          f"{'printed':>8}  same names")
    results = []
    for n_layer in args.layers:
        for lr in args.lrs:
            plain, plain_names = run("fast", data, n_layer, lr, args.steps, 20)
            for name in others:
                losses, names = run(name, data, n_layer, lr, args.steps, 20)
                gaps = [abs(a - b) for a, b in zip(losses, plain)]  # over the steps both took
                worst = max(range(len(gaps)), key=gaps.__getitem__)
                printed = sum(f"{a:.4f}" != f"{b:.4f}" for a, b in zip(losses, plain))
                apart = next((step + 1 for step, gap in enumerate(gaps) if gap > 1e-12), None)
                row = {"engine": name, "n_layer": n_layer, "lr": lr, "gap": gaps[worst], "step": worst + 1,
                       "apart": apart, "printed": printed, "same_names": names == plain_names,
                       "plain_steps": len(plain), "steps": len(losses)}
                results.append(row)
                broke = f"  (plain broke down at step {len(plain) + 1})" if len(plain) < args.steps else ""
                print(f"{name:8} {n_layer:6} {lr:5} {row['gap']:12.1e} {row['step']:8} {str(apart or '-'):>12} "
                      f"{printed:8}  {row['same_names']}{broke}", flush=True)
    summary = {name: {"gap": max(r["gap"] for r in results if r["engine"] == name),
                      "within": sum(r["apart"] is None for r in results if r["engine"] == name),
                      "settings": sum(r["engine"] == name for r in results),
                      "first_apart": min((r["apart"] for r in results if r["engine"] == name and r["apart"]),
                                         default=None),
                      "printed": sum(r["printed"] for r in results if r["engine"] == name),
                      "same_names": all(r["same_names"] for r in results if r["engine"] == name),
                      "default_gap": max((r["gap"] for r in results
                                          if r["engine"] == name and r["n_layer"] == 1 and r["lr"] == 0.01),
                                         default=None)}
               for name in others}
    if args.record:
        record = {"python": f"{platform.python_implementation()} {platform.python_version()}",
                  "steps": args.steps, "layers": args.layers, "lrs": args.lrs, "results": results,
                  "engines": summary}
        RECORD.write_text(json.dumps(record, indent=1) + "\n", "utf-8")
        print(f"wrote {RECORD.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
