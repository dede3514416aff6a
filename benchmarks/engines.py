"""Speed and memory of microgpt's engines, plain, fast and numpy, on the same data, seed and settings.

Every run builds the model from the same seed, trains it for --steps steps (the same documents,
the same initial weights) and then samples --samples names. Five runs: the three engines, and
the two steps on the way from plain to fast (chapter 15), which only train. Each run is a
process of its own, so that its peak memory is its own; the runs take turns, --repeats times,
and the best time of each is kept. Times are CPU seconds of the run's process
(time.process_time), which other programs on the machine disturb less than the wall clock.
A step's time is that from the end of the first step to the end of the last, over the steps
between: an engine's one-time set-up (numpy copies the weights into arrays and back) is not a
step. Sampling counts a token for each run of the model. Memory is the peak resident set size
of the run's process; "at start" is that peak before training.

Before the table, the plain engine is profiled over the same steps: the nodes a step builds,
the time of each part of a step, and the time the cyclic garbage collector takes in each.
After it, the numpy engine's step is split into forward pass, backward pass and the rest, next
to the cost of one NumPy operation on a small array and NumPy's rate on a large matrix product.

    python -m benchmarks.engines                          # two or three minutes
    python -m benchmarks.engines --data names.txt --steps 50 --repeats 5
    python -m benchmarks.engines --steps 1 --samples 1 --repeats 1   # a smoke test: seconds
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import importlib.util
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
import timeit
from importlib import resources
from pathlib import Path

from microgpt import fast
from microgpt.autograd import Value
from microgpt.data import load_docs
from microgpt.model import GPT, Config
from microgpt.optim import Adam
from microgpt.tokenizer import Tokenizer
from microgpt.train import doc_loss
from tools.record import values_created

ROOT = Path(__file__).resolve().parent.parent

RUNS = {  # name: what the table calls it
    "plain": "plain: the book's Value graph",
    "paused": "  + collector paused, loop sort",
    "fewer": "  + fewer nodes, same arithmetic",
    "fast": "fast: + lean Adam, float sampling",
    "numpy": "numpy: arrays, own backward",
}
SEED = 42


def setup(data: str) -> tuple[list[str], Tokenizer, GPT, random.Random]:
    """The documents, tokenizer and model every run starts from, and the random stream after them."""
    rng = random.Random(SEED)
    docs = load_docs(data, rng)
    tokenizer = Tokenizer(docs)
    return docs, tokenizer, GPT(Config(), tokenizer.vocab_size, rng), rng


def engine(name: str) -> tuple:
    """The train and sample functions of a run (None: the run only trains)."""
    if name == "plain":
        from microgpt.sample import sample
        from microgpt.train import train
        return train, sample
    if name == "paused":
        return lambda *a: fast.train(*a, loss=doc_loss, update=Adam.step), None
    if name == "fewer":
        return lambda *a: fast.train(*a, update=Adam.step), None
    if name == "fast":
        return fast.train, fast.sample
    from microgpt import vectorized
    return vectorized.train, vectorized.sample


def peak_mb() -> float:
    """The peak resident set size of this process so far, in MB."""
    try:  # Linux: the peak of this program, not of the process it was forked from
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 2**10
    except (OSError, StopIteration):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux, bytes on macOS
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def timed(docs: list[str], steps: int) -> list[str]:
    """The documents of the steps that are timed: the second to the last (the only one if steps is 1)."""
    return docs[1:steps] if steps > 1 else docs[:1]


def count_nodes(model: GPT, tokenizer: Tokenizer, docs: list[str], loss) -> float:
    """The mean number of Values that the loss of each document builds."""
    with values_created() as count, fast.collector_paused():
        for doc in docs:
            loss(model, tokenizer, doc)
    return count[0] / len(docs)


def worker(name: str, data: str, steps: int, samples: int, count: bool) -> dict:
    """One run, in this process: train, then sample; its times, tokens, nodes and memory."""
    train, sample = engine(name)
    docs, tokenizer, model, rng = setup(data)
    result = {"start_mb": peak_mb()}
    if count and name != "numpy":
        result["nodes"] = count_nodes(model, tokenizer, timed(docs, steps),
                                      doc_loss if name in ("plain", "paused") else fast.doc_loss)
    start, ends = time.process_time(), []
    for _ in train(model, tokenizer, docs, Adam(model.params), steps):
        ends.append(time.process_time())
    # from the end of step 1 to the end of the last: an engine's one-time set-up is not a step
    result["train"] = (ends[-1] - ends[0]) / (steps - 1) if steps > 1 else ends[0] - start
    if sample:
        start, tokens = time.process_time(), 0
        for _ in range(samples):
            name = sample(model, tokenizer, rng, 0.5, "")
            tokens += min(len(name) + 1, model.config.block_size)  # the model ran once per token drawn
        result["sample"] = tokens / (time.process_time() - start)
    result["peak_mb"] = peak_mb()
    return result


def profile(data: str, steps: int) -> dict:
    """The plain engine's steps, each part timed, with the collector's time and collections (step 1 untimed)."""
    docs, tokenizer, model, rng = setup(data)
    optimizer = Adam(model.params)
    parts = dict.fromkeys(("forward", "sort", "chain", "adam"), 0.0)
    collector = dict.fromkeys(parts, 0.0)
    collections, generation_time = [0, 0, 0], [0.0, 0.0, 0.0]  # young, middle, full
    now, started = ["forward"], [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.process_time()
            collections[info["generation"]] += 1
        else:
            seconds = time.process_time() - started[0]
            collector[now[0]] += seconds
            generation_time[info["generation"]] += seconds

    gc.callbacks.append(on_gc)
    try:
        for step in range(steps):
            t0 = time.process_time()
            now[0] = "forward"
            loss = doc_loss(model, tokenizer, docs[step % len(docs)])
            t1 = time.process_time()
            now[0] = "sort"
            topo, visited = [], set()

            def build_topo(v: Value) -> None:  # Value.backward's own code, cut in two to time each half
                if v not in visited:
                    visited.add(v)
                    for child in v._children:
                        build_topo(child)
                    topo.append(v)

            build_topo(loss)
            t2 = time.process_time()
            now[0] = "chain"
            loss.grad = 1
            for v in reversed(topo):
                for child, local_grad in zip(v._children, v._local_grads):
                    child.grad += local_grad * v.grad
            t3 = time.process_time()
            now[0] = "adam"
            optimizer.step(step, steps)
            t4 = time.process_time()
            for part, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                parts[part] += seconds
            if step == 0 and steps > 1:  # time the steps the runs are timed on
                parts, collector = dict.fromkeys(parts, 0.0), dict.fromkeys(parts, 0.0)
                collections[:], generation_time[:] = [0, 0, 0], [0.0, 0.0, 0.0]
    finally:
        gc.callbacks.remove(on_gc)
    timed_steps = len(timed(docs, steps))
    return {"parts": {k: v / timed_steps for k, v in parts.items()},
            "collector": {k: v / timed_steps for k, v in collector.items()},
            "collections": [c / timed_steps for c in collections],
            "generation_time": [t / timed_steps for t in generation_time],
            "nodes": count_nodes(model, tokenizer, timed(docs, steps), doc_loss)}


def numpy_profile(data: str, steps: int) -> dict | None:
    """The numpy engine's step in parts (each the best of several rounds), and what NumPy costs."""
    try:
        import numpy as np

        from microgpt import vectorized
    except ImportError:
        return None
    docs, tokenizer, model, rng = setup(data)
    weights = vectorized.Weights(model)
    token_lists = [[tokenizer.bos] + tokenizer.encode(doc) + [tokenizer.bos] for doc in timed(docs, steps)]
    rounds = max(3, 300 // steps)

    def best(run) -> float:
        """The least time per step of `rounds` runs over the timed steps' documents."""
        times = []
        for _ in range(rounds):
            start = time.process_time()
            run()
            times.append(time.process_time() - start)
        return min(times) / len(token_lists)

    def forward() -> None:
        for tokens in token_lists:
            vectorized.forward(weights, tokens[:min(model.config.block_size, len(tokens) - 1)], model.config)

    def both() -> None:
        for tokens in token_lists:
            vectorized.loss_and_grads(weights, tokens, model.config)

    def train() -> float:
        """A step as the runs time it: train()'s steps, the update included, its set-up not."""
        start, ends = time.process_time(), []
        for _ in vectorized.train(model, tokenizer, docs, Adam(model.params), steps):
            ends.append(time.process_time())
        return (ends[-1] - ends[0]) / (steps - 1) if steps > 1 else ends[0] - start

    x, a = np.ones((8, model.config.n_embd)), np.ones((256, 256))
    return {"forward": best(forward), "both": best(both), "train": min(train() for _ in range(rounds)),
            "call": min(timeit.repeat(lambda: x * x, number=10000, repeat=5)) / 10000,
            "rate": 256**3 / min(timeit.repeat(lambda: a @ a, number=10, repeat=5)) * 10}


def spawn(args: argparse.Namespace, *extra: str) -> dict:
    """Run this file as a worker process; what it printed, as JSON."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", __spec__.name, "--data", args.data, "--steps", str(args.steps),
                           "--samples", str(args.samples), *extra], capture_output=True, text=True, env=env,
                          cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"the worker {' '.join(extra)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def figure(x: float, unit: str = "") -> str:
    """A number with three significant digits, without an exponent."""
    digits = max(0, 2 - int(f"{x:e}".split("e")[1]))
    return f"{x:,.{digits}f}{unit}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="a text file, one document per line (default: the bundled names)")
    p.add_argument("--steps", type=int, default=30, help="training steps per run (default: 30)")
    p.add_argument("--samples", type=int, default=20, help="names sampled per run (default: 20)")
    p.add_argument("--repeats", type=int, default=3, help="times each run is made; the best counts (default: 3)")
    p.add_argument("--worker", choices=[*RUNS, "profile", "numpy-profile"], help=argparse.SUPPRESS)
    p.add_argument("--count", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    bundled = args.data is None
    if bundled:
        with resources.as_file(resources.files("microgpt") / "names.txt") as path:
            args.data = str(path)
    if args.worker == "profile":
        return print(json.dumps(profile(args.data, args.steps)))
    if args.worker == "numpy-profile":
        return print(json.dumps(numpy_profile(args.data, args.steps)))
    if args.worker:
        return print(json.dumps(worker(args.worker, args.data, args.steps, args.samples, args.count)))

    if importlib.util.find_spec("numpy"):  # not imported here: the workers are forked from this process
        runs, numpy_version = list(RUNS), f"NumPy {importlib.metadata.version('numpy')}"
    else:
        runs, numpy_version = list(RUNS)[:-1], "no NumPy"
    docs, tokenizer, model, _ = setup(args.data)
    print(f"microgpt's engines on {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()} {platform.machine()} ({os.cpu_count()} cores), {numpy_version}")
    print(f"data: {'the bundled names' if bundled else args.data} ({len(docs):,} documents), seed {SEED}, "
          f"the default model ({len(model.params):,} parameters)")
    print(f"each run: {args.steps} training steps, then {args.samples} samples; best of {args.repeats}, "
          f"in CPU time\n")

    prof = spawn(args, "--worker", "profile")
    parts, collector = prof["parts"], prof["collector"]
    step, paused = sum(parts.values()), sum(collector.values())
    print("Where the plain engine's time goes, per training step (mean of the steps):")
    print(f"  {'nodes built':24} {prof['nodes']:>10,.0f}")
    names = {"forward": "forward (builds graph)", "sort": "topological sort", "chain": "chain rule",
             "adam": "Adam"}
    for part, label in names.items():
        print(f"  {label:24} {figure(parts[part] * 1e3, ' ms'):>10}   collector {figure(collector[part] * 1e3, ' ms')}")
    print(f"  {'step':24} {figure(step * 1e3, ' ms'):>10}   collector {figure(paused * 1e3, ' ms')} "
          f"({paused / step:.0%})")
    gens = ", ".join(f"{figure(c)} {kind} ({figure(t * 1e3, ' ms')})" for kind, c, t in
                     zip(("young", "middle", "full"), prof["collections"], prof["generation_time"]))
    print(f"  collections per step: {gens}\n")

    best: dict[str, dict] = {}
    for repeat in range(args.repeats):
        for name in runs:
            got = spawn(args, "--worker", name, *(["--count"] if repeat == 0 else []))
            if name not in best:
                best[name] = got
            else:
                best[name]["train"] = min(best[name]["train"], got["train"])
                if "sample" in got:
                    best[name]["sample"] = max(best[name]["sample"], got["sample"])
                best[name]["peak_mb"] = max(best[name]["peak_mb"], got["peak_mb"])

    plain = best["plain"]
    print(f"{'':34} {'nodes':>8} {'train':>10} {'speed-up':>9} {'sample':>11} {'speed-up':>9} "
          f"{'peak memory':>12}")
    print(f"{'':34} {'/step':>8} {'s/step':>10} {'':>9} {'tokens/s':>11} {'':>9} {'(at start)':>12}")
    for name in runs:
        r = best[name]
        nodes = f"{r['nodes']:,.0f}" if "nodes" in r else "-"
        sample = figure(r["sample"]) if "sample" in r else "-"
        sample_x = figure(r["sample"] / plain["sample"], "x") if "sample" in r else "-"
        print(f"{RUNS[name]:34} {nodes:>8} {r['train']:>10.3g} {figure(plain['train'] / r['train'], 'x'):>9} "
              f"{sample:>11} {sample_x:>9} {figure(r['peak_mb'], ' MB'):>8} ({r['start_mb']:.0f})")
    if "numpy" in runs:
        np_prof = spawn(args, "--worker", "numpy-profile")
        forward, backward = np_prof["forward"], np_prof["both"] - np_prof["forward"]
        rest = np_prof["train"] - np_prof["both"]
        print(f"\nThe numpy engine's step, {figure(np_prof['train'] * 1e6, ' us')}: forward "
              f"{figure(forward * 1e6, ' us')}, backward {figure(backward * 1e6, ' us')}, "
              f"Adam and the rest {figure(rest * 1e6, ' us')}")
        print(f"  one NumPy operation on an 8 x {model.config.n_embd} array: {figure(np_prof['call'] * 1e6, ' us')}")
        print(f"  NumPy's arithmetic on a 256 x 256 matrix product: {figure(np_prof['rate'] / 1e9)} billion "
              f"multiply-adds per second")


if __name__ == "__main__":
    main()
