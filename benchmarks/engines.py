"""microgpt's engines side by side: the ladder from the plain engine to a scalar C step.

Every run builds the model from the same seed, trains it for --steps steps (the same documents,
the same initial weights) and, for the engines that sample, samples --samples names. The runs are
the engines plain, fast, numpy and numba; the two steps on the way from plain to fast (chapter
15), which only train; and a scalar C step with the numpy engine's arithmetic, compiled here with
the machine's cc (`-O2`, and `-O3 -march=native`): benchmarks/c_step.c, never part of the package.

Each run is a process of its own, so that its peak memory is its own. The runs take turns: each
of --rounds rounds runs every one of them once, so that a change in the machine's load falls on
all of them alike. Each run's figure is its CPU time per step (time.process_time, which other
programs disturb less than the wall clock), from the end of the first step to the end of the
last: an engine's one-time set-up (numpy and numba copy the weights into arrays; numba compiles
or loads its machine code) is not a step. A run's speed-up is plain's time over its time in the
same round; the table gives the least, the median and the largest of the rounds. Next to it, the
largest difference between the run's losses and plain's (0: the same floats).

Before the table, the plain engine is profiled over the same steps: the nodes a step builds, the
time of each part of a step, and the time the cyclic garbage collector takes in each. After it,
the floating-point floor: the operations a step of the timed documents does, at the rate NumPy's
matrix product reaches on this machine.

    python -m benchmarks.engines                          # a few minutes
    python -m benchmarks.engines --record                 # also write docs/data/engines-run.json
    python -m benchmarks.engines --steps 2 --samples 1 --rounds 1   # a smoke test: seconds
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib.metadata
import importlib.util
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from importlib import resources
from pathlib import Path

from microgpt import engines, fast
from microgpt.data import load_docs
from microgpt.model import GPT, Config
from microgpt.optim import Adam
from microgpt.tokenizer import Tokenizer
from microgpt.train import doc_loss
from tools.record import values_created

ROOT = Path(__file__).resolve().parent.parent

RUNS = {  # name: what the table calls it, and what the rung removes
    "plain": "plain: the book's Value graph",
    "paused": "  + collector paused, loop sort",
    "fewer": "  + fewer nodes, same arithmetic",
    "fast": "fast: + lean Adam, float sampling",
    "numpy": "numpy: arrays, own backward",
    "numba": "numba: the same loops, compiled",
    "c_o2": "C step, cc -O2",
    "c_native": "C step, cc -O3 -march=native",
}
C_FLAGS = {"c_o2": ["-O2"], "c_native": ["-O3", "-march=native"]}
SEED = 42
RECORD = ROOT / "docs" / "data" / "engines-run.json"


def setup(data: str, config: Config = Config()) -> tuple[list[str], Tokenizer, GPT, random.Random]:
    """The documents, tokenizer and model every run starts from, and the random stream after them."""
    rng = random.Random(SEED)
    docs = load_docs(data, rng)
    tokenizer = Tokenizer(docs)
    return docs, tokenizer, GPT(config, tokenizer.vocab_size, rng), rng


def engine(name: str) -> tuple:
    """The train and sample functions of a run (None: the run only trains)."""
    if name == "paused":
        return lambda *a: fast.train(*a, loss=doc_loss, update=Adam.step), None
    if name == "fewer":
        return lambda *a: fast.train(*a, update=Adam.step), None
    return engines.load(name)


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


def per_step(start: float, ends: list[float]) -> float:
    """Seconds per step from the end of the first step to the end of the last (the one step if one)."""
    return (ends[-1] - ends[0]) / (len(ends) - 1) if len(ends) > 1 else ends[0] - start


def worker(name: str, data: str, steps: int, samples: int, count: bool) -> dict:
    """One run of an engine, in this process: train, then sample; its times, losses, nodes and memory."""
    train, sample = engine(name)
    docs, tokenizer, model, rng = setup(data)
    result = {"start_mb": peak_mb()}
    if count and name in ("plain", "paused", "fewer", "fast"):
        result["nodes"] = count_nodes(model, tokenizer, timed(docs, steps),
                                      doc_loss if name in ("plain", "paused") else fast.doc_loss)
    start, ends, losses = time.process_time(), [], []
    for loss in train(model, tokenizer, docs, Adam(model.params), steps):
        ends.append(time.process_time())
        losses.append(loss)
    result.update(train=per_step(start, ends), losses=losses)
    if sample:
        sample(model, tokenizer, random.Random(0), 0.5, "")  # numba loads its sampling code: not a token
        start, tokens = time.process_time(), 0
        for _ in range(samples):
            name = sample(model, tokenizer, rng, 0.5, "")
            tokens += min(len(name) + 1, model.config.block_size)  # the model ran once per token drawn
        result["sample"] = tokens / (time.process_time() - start)
    result["peak_mb"] = peak_mb()
    return result


def c_worker(library: str, data: str, steps: int) -> dict:
    """The C step's run: the same documents and weights, every step inside one call after the first."""
    import numpy as np

    from microgpt.vectorized import Weights

    docs, tokenizer, model, _ = setup(data)
    c, o = model.config, Adam(model.params)
    weights = Weights(model)
    m, v, losses = np.zeros_like(weights.flat), np.zeros_like(weights.flat), np.zeros(steps)
    lists = [[tokenizer.bos] + tokenizer.encode(doc) + [tokenizer.bos] for doc in docs[:steps]]
    tokens = np.array([t for ids in lists for t in ids], dtype=np.int64)
    starts = np.cumsum([0] + [len(ids) for ids in lists]).astype(np.int64)
    lib = ctypes.CDLL(library)

    def run(first: int, count: int) -> None:
        pointer = [a.ctypes.data_as(ctypes.c_void_p) for a in (weights.flat, weights.grad, m, v, tokens, starts)]
        failed = lib.train_steps(*pointer, len(lists), first, count, steps, len(weights.flat),
                                 tokenizer.vocab_size, c.block_size, c.n_embd, c.n_head, c.n_layer,
                                 *map(ctypes.c_double, (o.lr, o.beta1, o.beta2, o.eps)),
                                 losses[first:].ctypes.data_as(ctypes.c_void_p))
        if failed:
            raise MemoryError("the C step could not allocate its buffers")

    start = time.process_time()
    run(0, 1)
    first = time.process_time()
    if steps > 1:
        run(1, steps - 1)
    seconds = (time.process_time() - first) / (steps - 1) if steps > 1 else first - start
    return {"train": seconds, "losses": losses.tolist(), "start_mb": 0.0, "peak_mb": peak_mb()}


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
            topo = loss.topological_order()  # Value.backward's sort, timed apart from the chain rule
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


def numpy_profile(data: str, steps: int) -> dict:
    """The numpy engine's step in parts (each the best of several rounds), and what NumPy costs."""
    import numpy as np

    from microgpt import vectorized

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
        return per_step(start, ends)

    x, a = np.ones((8, model.config.n_embd)), np.ones((256, 256))
    return {"forward": best(forward), "both": best(both), "train": min(train() for _ in range(rounds)),
            "call": min(timeit.repeat(lambda: x * x, number=10000, repeat=5)) / 10000,
            "rate": 256**3 / min(timeit.repeat(lambda: a @ a, number=5, repeat=40)) * 5}


def step_flops(config: Config, vocab: int, n: int, params: int) -> dict[str, int]:
    """The floating-point operations of a training step on n positions, as the C step does them."""
    d, nh, nl = config.n_embd, config.n_head, config.n_layer
    pairs = n * (n + 1) // 2  # (position, earlier position) pairs that attention looks at
    linear = nl * 12 * d * d + vocab * d  # the weights a position multiplies
    rmsnorm = (1 + 2 * nl) * n * (3 * d + 3)
    attention = nl * (nh * pairs * (2 * d // nh + 5) + 2 * d * pairs)  # scores, softmax, the mix
    elementwise = n * d + nl * n * (2 * d + 4 * d) + 4 * vocab * n + n  # adds, ReLU, softmax, log
    forward = 2 * linear * n + rmsnorm + attention + elementwise
    backward = 4 * linear * n + 2 * rmsnorm + nl * nh * pairs * (8 * d // nh + 4) + 2 * elementwise
    adam = 14 * params  # m: 3, v: 4, the update: 7
    return {"forward": forward, "backward": backward, "adam": adam, "step": forward + backward + adam}


def build_c(folder: Path) -> dict[str, str]:
    """benchmarks/c_step.c compiled with each set of flags: the libraries' paths (none without cc)."""
    cc = os.environ.get("CC") or shutil.which("cc")
    if not cc:
        return {}
    built = {}
    for name, flags in C_FLAGS.items():
        out = folder / f"{name}.so"
        done = subprocess.run([cc, *flags, "-shared", "-fPIC", "-o", str(out), str(ROOT / "benchmarks" / "c_step.c"),
                               "-lm"], capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"cc could not compile benchmarks/c_step.c:\n{done.stderr}")
        built[name] = str(out)
    return built


def spawn(args: argparse.Namespace, *extra: str) -> dict:
    """Run this file as a worker process; what it printed, as JSON."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "NUMBA_NUM_THREADS": "1"}
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


def spread(values: list[float]) -> dict[str, float]:
    """The least, the median and the largest of a run's figures over the rounds."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def machine() -> dict[str, str | int]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {name: importlib.metadata.version(name) for name in ("numpy", "numba")
                if importlib.util.find_spec(name)}
    cc = shutil.which("cc")
    compiler = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[0] if cc else ""
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return {"python": python, "system": f"{platform.system()} {platform.machine()}", "cpu": cpu,
            "cores": os.cpu_count(), "cc": compiler, **versions,
            "summary": f"{python} on {platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="a text file, one document per line (default: the bundled names)")
    p.add_argument("--steps", type=int, default=30, help="training steps per run (default: 30)")
    p.add_argument("--samples", type=int, default=20, help="names sampled per run (default: 20)")
    p.add_argument("--rounds", type=int, default=5, help="times every run is made, in turn (default: 5)")
    p.add_argument("--record", action="store_true", help=f"write the figures to {RECORD.relative_to(ROOT)}")
    p.add_argument("--worker", choices=[*RUNS, "profile", "numpy-profile"], help=argparse.SUPPRESS)
    p.add_argument("--library", help=argparse.SUPPRESS)
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
    if args.worker in C_FLAGS:
        return print(json.dumps(c_worker(args.library, args.data, args.steps)))
    if args.worker:
        return print(json.dumps(worker(args.worker, args.data, args.steps, args.samples, args.count)))

    has = {name: importlib.util.find_spec(name) is not None for name in ("numpy", "numba")}
    about = machine()
    docs, tokenizer, model, _ = setup(args.data)
    print(f"microgpt's engines on {about['summary']}")
    print(", ".join(f"{name.capitalize() if name == 'numba' else 'NumPy'} {about[name]}" if has[name]
                    else f"no {name}" for name in has) + (f"; {about['cc']}" if about["cc"] else "; no cc"))
    print(f"data: {'the bundled names' if bundled else args.data} ({len(docs):,} documents), seed {SEED}, "
          f"the default model ({len(model.params):,} parameters)")
    print(f"each run: {args.steps} training steps, then {args.samples} samples; {args.rounds} rounds "
          f"in turn, in CPU time\n")

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

    runs = [name for name in RUNS if name not in ("numpy", "numba", *C_FLAGS) or has.get(name, False)]
    with tempfile.TemporaryDirectory() as folder:
        libraries = build_c(Path(folder)) if has["numpy"] else {}
        runs += list(libraries)
        rounds: dict[str, list[dict]] = {name: [] for name in runs}
        for repeat in range(args.rounds):
            for name in runs:
                extra = ["--library", libraries[name]] if name in libraries else []
                rounds[name].append(spawn(args, "--worker", name, *extra, *(["--count"] if repeat == 0 else [])))

    plain = rounds["plain"]
    results = {}
    for name in runs:
        got = rounds[name]
        results[name] = {
            "label": RUNS[name].strip(" +"),
            "ms": spread([r["train"] * 1e3 for r in got]),
            "speedup": spread([p["train"] / r["train"] for p, r in zip(plain, got)]),
            "loss_gap": max(abs(a - b) for a, b in zip(got[0]["losses"], plain[0]["losses"])),
            "peak_mb": max(r["peak_mb"] for r in got), "start_mb": got[0]["start_mb"],
            **({"nodes": got[0]["nodes"]} if "nodes" in got[0] else {}),
            **({"sample": spread([r["sample"] for r in got])} if "sample" in got[0] else {}),
        }
    print(f"{'':34} {'ms per step':>26} {'speed-up over plain':>25} {'loss gap':>9} {'sample':>9} {'peak':>8}")
    print(f"{'':34} {'min   median      max':>26} {'min  median    max':>25} {'to plain':>9} {'tokens/s':>9} "
          f"{'memory':>8}")
    for name, r in results.items():
        ms, up = r["ms"], r["speedup"]
        sample = figure(r["sample"]["median"]) if "sample" in r else "-"
        print(f"{RUNS[name]:34} {ms['min']:8.3g} {ms['median']:8.3g} {ms['max']:8.3g} "
              f"{figure(up['min'], 'x'):>8} {figure(up['median'], 'x'):>8} {figure(up['max'], 'x'):>8} "
              f"{r['loss_gap']:9.1e} {sample:>9} {figure(r['peak_mb'], ' MB'):>8}")

    record = {"machine": about, "settings": {"data": "the bundled names" if bundled else args.data,
                                             "documents": len(docs), "steps": args.steps,
                                             "samples": args.samples, "rounds": args.rounds},
              "profile": {**prof, "step": step, "collector_share": paused / step}, "runs": results}
    if has["numpy"]:
        np_prof = spawn(args, "--worker", "numpy-profile")
        forward, backward = np_prof["forward"], np_prof["both"] - np_prof["forward"]
        rest = np_prof["train"] - np_prof["both"]
        print(f"\nThe numpy engine's step, {figure(np_prof['train'] * 1e6, ' us')}: forward "
              f"{figure(forward * 1e6, ' us')}, backward {figure(backward * 1e6, ' us')}, "
              f"Adam and the rest {figure(rest * 1e6, ' us')}")
        print(f"  one NumPy operation on an 8 x {model.config.n_embd} array: {figure(np_prof['call'] * 1e6, ' us')}")
        print(f"  NumPy's arithmetic on a 256 x 256 matrix product: {figure(np_prof['rate'] / 1e9)} billion "
              f"multiply-adds per second")
        lengths = [min(model.config.block_size, len(doc) + 1) for doc in timed(docs, args.steps)]
        flops = [step_flops(model.config, tokenizer.vocab_size, n, len(model.params)) for n in lengths]
        mean = {part: statistics.mean(f[part] for f in flops) for part in flops[0]}
        floor = mean["step"] / (2 * np_prof["rate"])
        print(f"\nThe floor: a step of these documents does {mean['step']:,.0f} floating-point operations on "
              f"average (forward {mean['forward']:,.0f}, backward {mean['backward']:,.0f}, Adam "
              f"{mean['adam']:,.0f}); at the matrix product's rate, {figure(floor * 1e6, ' us')}")
        record.update(numpy_profile=np_prof, flops=mean, floor_ms=floor * 1e3)
    if args.record:
        RECORD.write_text(json.dumps(record, indent=1) + "\n", "utf-8")
        print(f"\nwrote {RECORD.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
