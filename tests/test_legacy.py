"""The 243-line re-creation: its engine agrees with the 199-line one, its model has the old shape, it learns."""

import contextlib
import gc
import io
import math
import random
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from microgpt import autograd, legacy
from microgpt.data import load_docs
from microgpt.model import GPT, Config
from microgpt.train import doc_loss, train

ROOT = Path(__file__).resolve().parent.parent
UNARY = ("exp", "relu", "square", "log")  # log of |x| + 0.5, so that it is defined
BINARY = ("+", "-", "*", "/")


def random_program(rng: random.Random, n_leaves: int = 4, n_ops: int = 25) -> list[tuple]:
    """A random straight-line program over n_leaves inputs: each op may reuse any earlier result."""
    program = []
    for i in range(n_ops):
        earlier = n_leaves + i
        if rng.random() < 0.4:
            program.append((rng.choice(UNARY), rng.randrange(earlier)))
        else:
            program.append((rng.choice(BINARY), rng.randrange(earlier), rng.randrange(earlier)))
    return program


def run_program(Value: type, leaves: list[float], program: list[tuple]) -> list:
    """Build the program's graph on one engine; returns every node, leaves first, output last."""
    nodes = [Value(x) for x in leaves]
    for op, *args in program:
        a, b = nodes[args[0]], nodes[args[-1]]
        if op == "exp":
            out = (a * 0.1).exp()  # scaled: no overflow however deep the program
        elif op == "relu":
            out = a.relu()
        elif op == "square":
            out = a**2
        elif op == "log":
            out = (a * a + 0.5).log()
        elif op == "+":
            out = a + b
        elif op == "-":
            out = a - 2.5 * b
        elif op == "*":
            out = a * b * 0.5
        else:
            out = a / (b * b + 1)
        nodes.append(out)
    nodes.append(sum(nodes[len(leaves):]) * 0.01)  # every node reaches the output
    return nodes


def test_closure_engine_computes_the_same_gradients_as_the_local_grad_engine():
    rng = random.Random(0)
    for _ in range(40):
        leaves = [rng.uniform(-2, 2) for _ in range(4)]
        program = random_program(rng)
        new = run_program(autograd.Value, leaves, program)
        old = run_program(legacy.Value, leaves, program)
        new[-1].backward()
        old[-1].backward()
        for a, b in zip(new, old):
            assert math.isclose(a.data, b.data, rel_tol=1e-12, abs_tol=1e-300)
            assert math.isclose(a.grad, b.grad, rel_tol=1e-9, abs_tol=1e-12), (program, a.grad, b.grad)


def test_the_same_node_used_twice_gets_both_contributions():
    x = legacy.Value(3.0)
    y = x * x  # one child in _prev, two contributions in the closure
    y.backward()
    assert len(y._prev) == 1 and x.grad == 6.0


def test_tokenizer_puts_bos_first():
    tokenizer = legacy.Tokenizer(["emma", "ava"])
    assert tokenizer.chars == ["<BOS>", "a", "e", "m", "v"] and tokenizer.bos == 0
    assert tokenizer.encode("ava") == [1, 4, 1] and tokenizer.decode([3, 2]) == "me"


def test_parameter_count_is_4064_with_zero_output_projections():
    gpt = legacy.GPT(legacy.CONFIG, 27, random.Random(42))
    assert len(gpt.params) == 4064 == len(GPT(Config(), 27, random.Random(42)).params) - 8 * 16
    assert all(p.data == 0 for name in ("layer0.attn_wo", "layer0.mlp_fc2") for row in gpt.state_dict[name]
               for p in row)
    weights = [p.data for p in gpt.state_dict["wte"][0] + gpt.state_dict["layer0.mlp_fc1"][0]]
    assert all(isinstance(p, legacy.Value) for p in gpt.params) and 0 < max(map(abs, weights)) < 0.1


def test_a_few_steps_lower_the_loss():
    docs = ["ana", "ava", "ada"]
    tokenizer = legacy.Tokenizer(docs)
    gpt = legacy.GPT(Config(n_embd=4, n_head=1, block_size=4), tokenizer.vocab_size, random.Random(1))
    before = sum(doc_loss(gpt, tokenizer, d).data for d in docs)
    list(train(gpt, tokenizer, docs, legacy.adam(gpt.params), num_steps=10))
    after = sum(doc_loss(gpt, tokenizer, d).data for d in docs)
    assert after < before - 0.3


def test_benchmark_runs_and_prints_its_table():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "legacy_vs_current.py"), "--steps", "1",
                           "--length", "2"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(("CPython", "PyPy")) and "training steps per run: 1" in lines[0]
    for key in "abcd":
        assert any(line.startswith(f"({key}) ") for line in lines), key
    assert any(line.startswith("a / b") and line.endswith("x") for line in lines)


def without_cycles(backward):
    """Value.backward, then every closure of the graph dropped: the graph's reference cycles are
    broken, so it is freed as soon as the step ends and the collector can stay off. The numbers are
    untouched; the 500 steps take about a minute instead of about nine."""
    def run(self):
        backward(self)
        stack, seen = [self], set()
        while stack:
            v = stack.pop()
            if id(v) not in seen:
                seen.add(id(v))
                stack += v._prev
                v._backward, v._prev = nothing, ()  # as a leaf has them: the weights are leaves
    return run


def nothing() -> None:
    """The backward rule of a leaf."""


@pytest.mark.slow
@pytest.mark.needs_names
def test_the_re_creation_prints_the_243_line_programs_whole_output(names_txt):
    """legacy.run, seed 42, names.txt: the whole printed output of the gist's 243-line revision."""
    upstream = ROOT.parent / "shared" / "data" / "upstream-243.txt"
    if not upstream.exists():
        pytest.skip(f"the 243-line revision's output is not at {upstream}")
    rng = random.Random(42)
    docs = load_docs(str(names_txt), rng)
    out = io.StringIO()
    collecting = gc.isenabled()
    gc.disable()
    try:
        with mock.patch.object(legacy.Value, "backward", without_cycles(legacy.Value.backward)), \
                contextlib.redirect_stdout(out):
            legacy.run(docs, rng)
    finally:
        if collecting:
            gc.enable()
    printed = out.getvalue().splitlines()
    assert printed == upstream.read_text("utf-8").splitlines()  # every loss, every sample, every line
    shown = book_excerpt()
    assert [line for line in printed if line in shown] == shown  # the chapter's excerpt, in order


def book_excerpt() -> list[str]:
    """The lines of the 243-line program's output that chapter 12 shows."""
    text = (ROOT / "docs" / "12-from-243-to-199.md").read_text("utf-8")
    block = text.split("it printed the following", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line != "..."]
