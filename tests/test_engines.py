"""The engines of chapter 15: fast keeps every bit of the plain engine, numpy and numba agree to 1e-12.

Also the steps between plain and fast, the benchmark harness, and python -m microgpt --engine.
"""

from __future__ import annotations

import gc
import importlib.util
import math
import os
import random
import shutil
import subprocess
import sys
from itertools import islice
from pathlib import Path

import pytest
from helpers import UPSTREAM_SAMPLES, collector_eased, microgpt

from microgpt import cli, engines, fast
from microgpt.autograd import Value
from microgpt.data import load_docs
from microgpt.model import GPT, Config
from microgpt.optim import Adam
from microgpt.sample import sample
from microgpt.tokenizer import Tokenizer
from microgpt.train import doc_loss, train

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "microgpt" / "names.txt"
HAS_NUMPY = importlib.util.find_spec("numpy") is not None
HAS_NUMBA = importlib.util.find_spec("numba") is not None
needs_numpy = pytest.mark.skipif(not HAS_NUMPY, reason="NumPy is not installed (pip install -e '.[numpy]')")
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="Numba is not installed (pip install -e '.[numba]')")

# The plain engine's first 20 losses on names.txt with seed 42, as exact floats: upstream's first 20
# losses (tests/test_fidelity.py), to the last bit. test_the_full_reference_run checks them again.
PLAIN_FIRST_20 = [float.fromhex(h) for h in (
    "0x1.aed80143a59ddp+1 0x1.b64e9211a7f41p+1 0x1.96c2385500353p+1 0x1.887e57d2d2c4ep+1 "
    "0x1.9c45e5a75bf33p+1 0x1.78fafe69e97cep+1 0x1.a50be1692fab4p+1 0x1.a98a2f79e5b42p+1 "
    "0x1.731388cdf72e6p+1 0x1.9c879a12fc478p+1 0x1.65eed259f20d8p+1 0x1.779d0f95b8d1bp+1 "
    "0x1.86f67ba565eb2p+1 0x1.8b95b2af67157p+1 0x1.88566efe8082cp+1 0x1.5de9b7d61c1fcp+1 "
    "0x1.712240ef9290dp+1 0x1.72e8304567249p+1 0x1.5a8a31a3b4110p+1 0x1.5f658303f7febp+1").split()]

# Two layers, heads of width 2, a width that is not a power of two (so / n_embd is not exact), and
# a block size that cuts the longer names: the cases where an engine could go wrong.
SMALL = Config(n_layer=2, n_embd=6, n_head=3, block_size=8)


def run(train_with, sample_with, path, config: Config, steps: int, samples: int = 0, of: int = 0) -> dict:
    """Train from seed 42 as upstream does (the first `steps` of `of`), then sample; every loss, weight, name."""
    rng = random.Random(42)
    docs = load_docs(path, rng)
    tokenizer = Tokenizer(docs)
    model = GPT(config, tokenizer.vocab_size, rng)
    losses = list(islice(train_with(model, tokenizer, docs, Adam(model.params), of or steps), steps))
    names = [sample_with(model, tokenizer, rng, 0.5, "") for _ in range(samples)]
    names += [sample_with(model, tokenizer, rng, 0.9, "ma") for _ in range(samples // 2)]
    return {"losses": losses, "weights": [p.data for p in model.params], "names": names}


@pytest.fixture(scope="module")
def plain_small() -> dict:
    return run(train, sample, BUNDLED, SMALL, 5, samples=2)


# --- fast: the same bits ------------------------------------------------------------------------

def test_fast_engine_keeps_every_bit_on_the_bundled_names(plain_small):
    got = run(fast.train, fast.sample, BUNDLED, SMALL, 5, samples=2)
    assert got["losses"] == plain_small["losses"]  # floats, compared exactly
    assert got["weights"] == plain_small["weights"]
    assert got["names"] == plain_small["names"] and all(n.startswith("ma") for n in got["names"][2:])


@pytest.mark.parametrize("step", ["collector paused, loop sort", "fewer nodes"])
def test_each_step_on_the_way_keeps_every_bit(plain_small, step):
    """The rows of chapter 15's table between plain and fast, as the harness runs them."""
    if step == "collector paused, loop sort":
        def train_with(*args):
            return fast.train(*args, loss=doc_loss, update=Adam.step)
    else:
        def train_with(*args):
            return fast.train(*args, update=Adam.step)
    got = run(train_with, sample, BUNDLED, SMALL, 5)
    assert got["losses"] == plain_small["losses"] and got["weights"] == plain_small["weights"]


def graph_nodes(loss: Value) -> list[Value]:
    nodes, seen, todo = [], set(), [loss]
    while todo:
        v = todo.pop()
        if v not in seen:
            seen.add(v)
            nodes.append(v)
            todo.extend(v._children)
    return nodes


def test_fast_backward_leaves_every_gradient_as_value_backward():
    """Every node, not only the parameters: the same sums in the same order."""
    tokenizer = Tokenizer(["emma", "olivia", "ava"])
    model = GPT(SMALL, tokenizer.vocab_size, random.Random(5))
    loss = doc_loss(model, tokenizer, "olivia")
    nodes = graph_nodes(loss)
    loss.backward()
    expected = [v.grad for v in nodes]
    for v in nodes:
        v.grad = 0
    fast.backward(loss)
    assert [v.grad for v in nodes] == expected
    assert len(nodes) > 10_000


@pytest.mark.parametrize("config", [pytest.param(Config(), marks=pytest.mark.slow), SMALL],
                         ids=["default", "small"])  # upstream's shape: ten seconds, so with the slow set
def test_the_sort_kept_per_length_is_the_loop_sorts_order(config):
    """sorted_graph's order, node for node, on 120 documents of every length (the first of each is sorted)."""
    rng = random.Random(3)
    docs = load_docs(BUNDLED, rng)
    tokenizer = Tokenizer(docs)
    model = GPT(config, tokenizer.vocab_size, rng)
    fast.ORDERS.clear()
    for doc in docs[:120]:
        loss = fast.doc_loss(model, tokenizer, doc)
        kept, sorted_now = fast.sorted_graph(loss, config), fast.loop_sort(loss)
        assert len(kept) == len(sorted_now) and all(a is b for a, b in zip(kept, sorted_now)), doc
    assert len(fast.ORDERS) >= 5  # several lengths, each sorted once
    plain = doc_loss(model, tokenizer, "emma")  # a graph doc_loss did not build: sorted, not looked up
    assert [id(v) for v in fast.sorted_graph(plain, config)] == [id(v) for v in fast.loop_sort(plain)]
    fast.BUILT.clear()


def test_fast_backward_leaves_no_cycle_for_the_collector():
    tokenizer = Tokenizer(["emma", "ava"])
    model = GPT(Config(n_embd=4, n_head=2), tokenizer.vocab_size, random.Random(0))
    gc.collect()
    with fast.collector_paused():
        for backward in (fast.backward, Value.backward):
            loss = doc_loss(model, tokenizer, "emma")
            backward(loss)
            del loss
            found = gc.collect()  # gc.collect() works while the collector is paused
            assert (found == 0) == (backward is fast.backward), (backward, found)


def test_collector_paused_puts_the_collector_back_as_it_was():
    assert gc.isenabled()
    with pytest.raises(KeyError):
        with fast.collector_paused():
            assert not gc.isenabled()
            raise KeyError
    assert gc.isenabled()
    gc.disable()
    try:
        with fast.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_deep_graph_needs_no_recursion():
    x = Value(1.0)
    y = x
    for _ in range(5_000):  # far deeper than Python's recursion limit
        y = y * 1.0 + 0.0
    fast.backward(y)
    assert x.grad == 1.0


def test_math_pow_squares_as_cpython_squares():
    """adam_step's math.pow(g, 2.0) is g ** 2 on CPython, to the last bit (PyPy's g ** 2 is g * g, which is not)."""
    rng = random.Random(0)
    gs = [rng.gauss(0, 1) * 10 ** rng.randint(-12, 2) for _ in range(100_000)]
    assert [math.pow(g, 2.0) for g in gs] == [g**2 for g in gs]
    assert sum(g * g != g**2 for g in gs) > 0  # where a product and pow part: the reason for math.pow


def test_adam_step_is_adam_step_to_the_last_bit():
    """fast.adam_step against optim.Adam.step on 100,000 gradients of many sizes: moments and weights."""
    rng = random.Random(1)
    grads = [rng.gauss(0, 1) * 10 ** rng.randint(-8, 1) for _ in range(100_000)]
    states = []
    for update in (Adam.step, fast.adam_step):
        params = [Value(0.5) for _ in grads]
        optimizer = Adam(params)
        for step in range(3):
            for p, g in zip(params, grads):
                p.grad = g * (step + 1)
            update(optimizer, step, 10)
        states.append((optimizer.m, optimizer.v, [p.data for p in params], [p.grad for p in params]))
    assert states[0] == states[1]


def test_a_whole_run_of_the_fast_engine_keeps_every_bit():
    """A whole schedule (the learning rate decays to 0) on the default model: every loss, weight and name."""
    got = run(fast.train, fast.sample, BUNDLED, Config(), 12, samples=3)
    with collector_eased():
        want = run(train, sample, BUNDLED, Config(), 12, samples=3)
    assert got == want


@pytest.mark.needs_names
def test_fast_first_20_losses_on_names_txt_are_the_plain_engines_floats(names_txt):
    got = run(fast.train, fast.sample, names_txt, Config(), 20, of=1000)
    assert got["losses"] == PLAIN_FIRST_20


# --- numpy: agreement to 1e-12 ------------------------------------------------------------------

ARRAY_ENGINES = [pytest.param("numpy", marks=needs_numpy), pytest.param("numba", marks=needs_numba)]


@pytest.mark.parametrize("engine", ARRAY_ENGINES)
def test_array_engines_agree_on_the_bundled_names(plain_small, engine):
    got = run(*engines.load(engine), BUNDLED, SMALL, 5, samples=2)
    assert max(abs(a - b) for a, b in zip(got["losses"], plain_small["losses"])) < 1e-12
    assert max(abs(a - b) for a, b in zip(got["weights"], plain_small["weights"])) < 1e-12
    assert got["names"] == plain_small["names"]


def olivia_on_small() -> tuple[Tokenizer, GPT, list[int]]:
    """A model of the SMALL shape and the tokens of one document, for the gradient checks."""
    tokenizer = Tokenizer(["emma", "olivia", "ava"])
    model = GPT(SMALL, tokenizer.vocab_size, random.Random(7))
    return tokenizer, model, [tokenizer.bos] + tokenizer.encode("olivia") + [tokenizer.bos]


@needs_numpy
def test_numpy_gradients_agree_with_the_scalar_ones():
    from microgpt import vectorized
    tokenizer, model, tokens = olivia_on_small()
    loss = fast.doc_loss(model, tokenizer, "olivia")
    fast.backward(loss)
    weights = vectorized.Weights(model)
    assert abs(vectorized.loss_and_grads(weights, tokens, SMALL) - loss.data) < 1e-14
    assert max(abs(g - p.grad) for g, p in zip(weights.grad.tolist(), model.params)) < 1e-14
    assert sum(p.grad != 0 for p in model.params) > len(model.params) // 2


@needs_numpy
def test_numpy_engine_writes_the_weights_back_when_stopped_early():
    train_numpy, _ = engines.load("numpy")
    rng = random.Random(42)
    docs = load_docs(BUNDLED, rng)
    tokenizer = Tokenizer(docs)
    model = GPT(SMALL, tokenizer.vocab_size, rng)
    before = [p.data for p in model.params]
    steps = train_numpy(model, tokenizer, docs, Adam(model.params), 10)
    next(steps), next(steps)
    assert [p.data for p in model.params] == before  # the arrays hold the weights while training
    steps.close()  # what a for loop does when its body raises, Ctrl-C included
    rng = random.Random(42)
    docs = load_docs(BUNDLED, rng)
    scalar = GPT(SMALL, tokenizer.vocab_size, rng)
    scalar_steps = fast.train(scalar, tokenizer, docs, Adam(scalar.params), 10)
    next(scalar_steps), next(scalar_steps)  # two steps of ten, on the scalar engine
    assert [p.data for p in model.params] != before
    assert max(abs(p.data - q.data) for p, q in zip(model.params, scalar.params)) < 1e-12


@pytest.mark.needs_names
@pytest.mark.parametrize("engine", ARRAY_ENGINES)
def test_array_engines_first_20_losses_on_names_txt(names_txt, engine):
    got = run(*engines.load(engine), names_txt, Config(), 20, of=1000)
    assert max(abs(a - b) for a, b in zip(got["losses"], PLAIN_FIRST_20)) < 1e-12


# --- numba: the numpy engine's arithmetic, compiled -------------------------------------------------

@needs_numba
@pytest.mark.parametrize("config, steps, lr", [(SMALL, 40, 0.01), (Config(), 30, 0.01), (Config(n_layer=2), 20, 0.05)],
                         ids=["small", "default", "two-layers-lr-0.05"])
def test_numba_engine_agrees_over_whole_runs(config, steps, lr):
    """Whole runs (the learning rate decays to 0), against the fast engine, which is plain's floats."""
    def with_lr(engine):
        return lambda model, tokenizer, docs, optimizer, n: engine(model, tokenizer, docs,
                                                                      Adam(model.params, lr=lr), n)
    train_numba, sample_numba = engines.load("numba")
    got = run(with_lr(train_numba), sample_numba, BUNDLED, config, steps, samples=4)
    want = run(with_lr(fast.train), fast.sample, BUNDLED, config, steps, samples=4)
    assert max(abs(a - b) for a, b in zip(got["losses"], want["losses"])) < 1e-12
    assert max(abs(a - b) for a, b in zip(got["weights"], want["weights"])) < 1e-12
    assert got["names"] == want["names"] and len(got["names"]) == 6


@needs_numba
def test_numba_step_is_the_numpy_engines_gradients():
    """One step's gradients, before Adam's update, against loss_and_grads (lr 0 leaves the weights)."""
    import numpy as np

    from microgpt import compiled, vectorized
    tokenizer, model, tokens = olivia_on_small()
    weights = vectorized.Weights(model)
    want = vectorized.loss_and_grads(weights, tokens, SMALL)
    grad, m, v = np.zeros_like(weights.flat), np.zeros_like(weights.flat), np.zeros_like(weights.flat)
    c = SMALL
    got = compiled.step(weights.flat, grad, m, v, np.array(tokens), tokenizer.vocab_size, c.block_size, c.n_embd,
                        c.n_head, c.n_layer, 0.0, 0.85, 0.99, 1e-8, 0.15, 0.01)
    assert abs(got - want) < 1e-14
    assert np.abs(grad - weights.grad).max() < 1e-14 and np.count_nonzero(grad) > len(grad) // 2


# --- the reference run, in full -----------------------------------------------------------------

@pytest.fixture(scope="module")
def plain_full(names_txt) -> dict:
    """The plain engine's reference run: 1000 steps on names.txt, seed 42, 20 names (minutes)."""
    with collector_eased():
        return run(train, sample, names_txt, Config(), 1000, samples=20)


@pytest.mark.slow
@pytest.mark.needs_names
def test_the_full_reference_run_fast_keeps_every_bit(plain_full, names_txt):
    got = run(fast.train, fast.sample, names_txt, Config(), 1000, samples=20)
    assert plain_full["losses"][:20] == PLAIN_FIRST_20
    assert plain_full["names"][:20] == UPSTREAM_SAMPLES
    assert got["losses"] == plain_full["losses"]  # all 1000, as floats
    assert got["names"] == plain_full["names"]


@pytest.mark.slow
@pytest.mark.needs_names
@pytest.mark.parametrize("engine", ARRAY_ENGINES)
def test_the_full_reference_run_array_engines_agree(plain_full, names_txt, engine):
    got = run(*engines.load(engine), names_txt, Config(), 1000, samples=20)
    worst = max(abs(a - b) for a, b in zip(got["losses"], plain_full["losses"]))
    assert worst < 1e-12, worst
    assert got["names"] == plain_full["names"]


# --- the engines module and the harness ---------------------------------------------------------

def test_engines_load_by_name():
    assert engines.load("plain") == (train, sample)
    assert engines.load("fast") == (fast.train, fast.sample)
    assert engines.DEFAULT == "fast" and engines.NAMES == ("plain", "fast", "numpy", "numba")
    assert set(engines.NEEDS) == {"numpy", "numba"}
    with pytest.raises(ValueError, match="plain, fast, numpy, numba"):
        engines.load("torch")


@pytest.mark.slow  # every engine, the C step compiled, two rounds: seconds of CPU
def test_the_harness_prints_its_table(tmp_path):
    data = tmp_path / "short.txt"
    data.write_text("ab\nbo\nan\nota\n", "utf-8")
    done = subprocess.run([sys.executable, "-m", "benchmarks.engines", "--data", str(data), "--steps", "2",
                           "--samples", "1", "--rounds", "2"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("microgpt's engines on ") and "collector" in out and "nodes built" in out
    labels = ("plain:", "  + collector paused", "  + fewer nodes", "fast:", "numpy:", "numba:", "C step")
    rows = {line[:34].split(":")[0].strip(" +"): line[34:].split() for line in out.splitlines()
            if line.startswith(labels)}  # ms min, median, max; speed-up min, median, max; loss gap; ...
    expected = 4 + HAS_NUMPY + HAS_NUMBA + 2 * (HAS_NUMPY and shutil.which("cc") is not None)
    assert len(rows) == expected, out
    for name, row in rows.items():  # min <= median <= max, of the times and of the speed-ups
        times, speedups = [float(x) for x in row[:3]], [float(x.strip("x").replace(",", "")) for x in row[3:6]]
        assert times == sorted(times) and speedups == sorted(speedups), row
        assert row[-1] == "MB", row
    assert rows["plain"][3:7] == ["1.00x", "1.00x", "1.00x", "0.0e+00"]  # plain over plain, in every round
    assert rows["fast"][6] == "0.0e+00"  # the same floats
    if HAS_NUMPY:
        assert "The floor: a step of these documents does" in out


# --- python -m microgpt --engine ----------------------------------------------------------------

NARROW = ["--steps", "3", "--n-embd", "8", "--n-head", "2", "--block-size", "8", "--samples", "3", "--prompt", "a"]


def test_the_default_engine_is_fast():
    assert cli.parser().parse_args([]).engine == "fast"


@pytest.mark.skipif(not HAS_NUMPY, reason="NumPy is not installed")
def test_every_engine_prints_the_same_run_and_reads_the_others_checkpoints(tmp_path):
    ckpt = tmp_path / "model.json"
    names = [engine for engine in engines.NAMES if engine != "numba" or HAS_NUMBA]
    runs = {engine: microgpt(*NARROW, "--engine", engine, *(["--save", str(ckpt)] if engine == "numpy" else []))
            for engine in names}
    for done in runs.values():
        assert done.returncode == 0, done.stderr
    assert len({done.stdout for done in runs.values()}) == 1, {e: done.stdout for e, done in runs.items()}
    names = [line.split(": ")[1] for line in runs["numpy"].stdout.splitlines() if line.startswith("sample")]
    assert len(names) == 3 and all(name.startswith("a") for name in names)
    loaded = microgpt("--load", str(ckpt), "--samples", "3", "--quiet", "--prompt", "a", "--engine", "plain")
    assert loaded.returncode == 0 and loaded.stdout.split() == names  # numpy's checkpoint, plain's sampling


def test_engine_numpy_without_numpy_is_a_one_line_error(tmp_path):
    (tmp_path / "numpy.py").write_text("raise ModuleNotFoundError(\"No module named 'numpy'\", name='numpy')\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = microgpt("--engine", "numpy", "--steps", "1", env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("microgpt: error: --engine numpy needs NumPy, which is not installed: "
                           "pip install numpy, or use --engine fast\n")
    (tmp_path / "numba.py").write_text("raise ModuleNotFoundError(\"No module named 'numba'\", name='numba')\n")
    done = microgpt("--engine", "numba", "--steps", "1", env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("microgpt: error: --engine numba needs Numba, which is not installed: "
                           "pip install numba, or use --engine fast\n")
    done = microgpt(*NARROW, "--quiet", env=env)  # the default engine needs no NumPy
    assert done.returncode == 0 and len(done.stdout.split()) == 3, done.stderr


def test_an_unknown_engine_is_a_one_line_error(capsys):
    assert cli.main(["--engine", "torch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'torch'" in err, err
