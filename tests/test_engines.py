"""The engines of chapter 15: fast keeps every bit of the plain engine, numpy agrees to 1e-12.

Also the steps between plain and fast, the benchmark harness, and python -m microgpt --engine.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import random
import subprocess
import sys
from itertools import islice
from pathlib import Path

import pytest
from helpers import UPSTREAM_SAMPLES, microgpt

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
needs_numpy = pytest.mark.skipif(not HAS_NUMPY, reason="NumPy is not installed (pip install -e '.[numpy]')")

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


def numpy_engine():
    return engines.load("numpy")


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


@pytest.mark.needs_names
def test_fast_first_20_losses_on_names_txt_are_the_plain_engines_floats(names_txt):
    got = run(fast.train, fast.sample, names_txt, Config(), 20, of=1000)
    assert got["losses"] == PLAIN_FIRST_20


# --- numpy: agreement to 1e-12 ------------------------------------------------------------------

@needs_numpy
def test_numpy_engine_agrees_on_the_bundled_names(plain_small):
    got = run(*numpy_engine(), BUNDLED, SMALL, 5, samples=2)
    assert max(abs(a - b) for a, b in zip(got["losses"], plain_small["losses"])) < 1e-12
    assert max(abs(a - b) for a, b in zip(got["weights"], plain_small["weights"])) < 1e-12
    assert got["names"] == plain_small["names"]


@needs_numpy
def test_numpy_gradients_agree_with_the_scalar_ones():
    from microgpt import vectorized
    tokenizer = Tokenizer(["emma", "olivia", "ava"])
    model = GPT(SMALL, tokenizer.vocab_size, random.Random(7))
    loss = fast.doc_loss(model, tokenizer, "olivia")
    fast.backward(loss)
    weights = vectorized.Weights(model)
    tokens = [tokenizer.bos] + tokenizer.encode("olivia") + [tokenizer.bos]
    assert abs(vectorized.loss_and_grads(weights, tokens, SMALL) - loss.data) < 1e-14
    assert max(abs(g - p.grad) for g, p in zip(weights.grad.tolist(), model.params)) < 1e-14
    assert sum(p.grad != 0 for p in model.params) > len(model.params) // 2


@needs_numpy
def test_numpy_engine_writes_the_weights_back_when_stopped_early():
    train_numpy, _ = numpy_engine()
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
@needs_numpy
def test_numpy_first_20_losses_on_names_txt(names_txt):
    got = run(*numpy_engine(), names_txt, Config(), 20, of=1000)
    assert max(abs(a - b) for a, b in zip(got["losses"], PLAIN_FIRST_20)) < 1e-12


# --- the reference run, in full -----------------------------------------------------------------

@pytest.fixture(scope="module")
def plain_full(names_txt) -> dict:
    """The plain engine's reference run: 1000 steps on names.txt, seed 42, 20 names (minutes)."""
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
@needs_numpy
def test_the_full_reference_run_numpy_agrees(plain_full, names_txt):
    got = run(*numpy_engine(), names_txt, Config(), 1000, samples=20)
    worst = max(abs(a - b) for a, b in zip(got["losses"], plain_full["losses"]))
    assert worst < 1e-12, worst
    assert got["names"] == plain_full["names"]


# --- the engines module and the harness ---------------------------------------------------------

def test_engines_load_by_name():
    assert engines.load("plain") == (train, sample)
    assert engines.load("fast") == (fast.train, fast.sample)
    assert engines.DEFAULT == "fast" and engines.NAMES == ("plain", "fast", "numpy")
    with pytest.raises(ValueError, match="plain, fast, numpy"):
        engines.load("torch")


def test_the_harness_prints_its_table(tmp_path):
    data = tmp_path / "short.txt"
    data.write_text("ab\nbo\nan\nota\n", "utf-8")
    done = subprocess.run([sys.executable, "-m", "benchmarks.engines", "--data", str(data), "--steps", "2",
                           "--samples", "1", "--repeats", "1"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("microgpt's engines on ") and "collector" in out and "nodes built" in out
    labels = ("plain:", "  + collector paused", "  + fewer nodes", "fast:", "numpy:")
    rows = [line for line in out.splitlines() if line.startswith(labels)]
    assert len(rows) == (5 if HAS_NUMPY else 4), out
    assert all(" MB (" in row and "x " in row for row in rows), rows


# --- python -m microgpt --engine ----------------------------------------------------------------

NARROW = ["--steps", "3", "--n-embd", "8", "--n-head", "2", "--block-size", "8", "--samples", "3", "--prompt", "a"]


def test_the_default_engine_is_fast():
    assert cli.parser().parse_args([]).engine == "fast"


@pytest.mark.skipif(not HAS_NUMPY, reason="NumPy is not installed")
def test_every_engine_prints_the_same_run_and_reads_the_others_checkpoints(tmp_path):
    ckpt = tmp_path / "model.json"
    runs = {engine: microgpt(*NARROW, "--engine", engine, *(["--save", str(ckpt)] if engine == "numpy" else []))
            for engine in engines.NAMES}
    for done in runs.values():
        assert done.returncode == 0, done.stderr
    assert runs["plain"].stdout == runs["fast"].stdout == runs["numpy"].stdout
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
    done = microgpt(*NARROW, "--quiet", env=env)  # the default engine needs no NumPy
    assert done.returncode == 0 and len(done.stdout.split()) == 3, done.stderr


def test_an_unknown_engine_is_a_one_line_error(capsys):
    assert cli.main(["--engine", "torch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'torch'" in err, err
