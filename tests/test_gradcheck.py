"""Autograd's gradients are the derivatives: central differences in float64 agree with every gradient.

Each Value operation, linear, softmax, rmsnorm, an attention block and the training loss are checked
against microgpt.gradcheck's central differences; hypothesis builds random expressions that share
sub-expressions and tries the edges (log of tiny numbers, relu at its kink). The last tests break the
engine on purpose and check that these checks notice. Chapter 14 explains the method and its limits.
"""

from __future__ import annotations

import random
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from helpers import A_TO_Z as DOCS

from microgpt import fast
from microgpt.autograd import Value
from microgpt.gradcheck import autograd_grads, gradcheck, numerical_grads, rel_error
from microgpt.model import GPT, Config
from microgpt.nn import linear, rmsnorm, softmax
from microgpt.tokenizer import Tokenizer
from microgpt.train import doc_loss

TOL = 1e-6  # the largest relative error allowed anywhere (below a gradient of 1e-4: relative to 1e-4)
EXAMPLES = settings(max_examples=60, deadline=None, database=None, derandomize=True)  # same cases every run


# --- every operation of Value, at a point where nothing is special --------------------------------

OPERATIONS = {  # name: the operation, and where it is defined and smooth (None: everywhere)
    "a + b": (lambda a, b: a + b, None),
    "a * b": (lambda a, b: a * b, None),
    "a * a": (lambda a, b: a * a, None),
    "a ** 3": (lambda a, b: a**3, None),
    "b ** 2": (lambda a, b: b**2, None),
    "a ** -0.5": (lambda a, b: a**-0.5, lambda x, y: x > 0.1),
    "a ** 2.5": (lambda a, b: a**2.5, lambda x, y: x > 0.1),
    "a.log()": (lambda a, b: a.log(), lambda x, y: x > 0.1),
    "b.exp()": (lambda a, b: b.exp(), None),
    "a.relu()": (lambda a, b: a.relu(), lambda x, y: abs(x) > 1e-4),  # the kink: test_relu_at_its_kink
    "-a": (lambda a, b: -a, None),
    "a - b": (lambda a, b: a - b, None),
    "a / b": (lambda a, b: a / b, lambda x, y: abs(y) > 0.1),
    "a + 2": (lambda a, b: a + 2, None),
    "a * 2": (lambda a, b: a * 2, None),
    "a - 2": (lambda a, b: a - 2, None),
    "a / 2": (lambda a, b: a / 2, None),
    "2 + a": (lambda a, b: 2 + a, None),
    "2 - a": (lambda a, b: 2 - a, None),
    "2 * a": (lambda a, b: 2 * a, None),
    "2 / a": (lambda a, b: 2 / a, lambda x, y: abs(x) > 0.1),
}


@pytest.mark.parametrize("name", OPERATIONS)
@pytest.mark.parametrize("x, y", [(0.7, -1.3), (1.9, 0.4)])
def test_every_value_operation(name, x, y):
    a, b = Value(x), Value(y)
    assert gradcheck(lambda: OPERATIONS[name][0](a, b), [a, b]) < TOL


@EXAMPLES
@given(st.floats(-3, 3), st.floats(-3, 3))
def test_every_value_operation_anywhere_it_is_smooth(x, y):
    for name, (op, smooth) in OPERATIONS.items():
        if smooth is None or smooth(x, y):
            a, b = Value(x), Value(y)
            # floor 1e-3: where a derivative is near 0 (a ** 3 at 0) the difference's own error, about
            # h ** 2 = 1e-10, is measured against 1e-3 rather than against the derivative
            assert gradcheck(lambda: op(a, b), [a, b], floor=1e-3) < TOL, name


# --- the edges -------------------------------------------------------------------------------------

def test_relu_at_its_kink():
    """At 0 relu has no derivative: autograd gives the left one, 0; a central difference averages to 0.5."""
    x = Value(0.0)
    assert x.relu().data == 0
    assert autograd_grads(lambda: x.relu(), [x]) == [0.0]
    assert numerical_grads(lambda: x.relu(), [x]) == [0.5]


@EXAMPLES
@given(st.floats(1e-12, 1e-3), st.booleans())
def test_relu_just_beside_its_kink(size, positive):
    x = Value(size if positive else -size)
    assert autograd_grads(lambda: x.relu(), [x]) == [float(positive)]
    assert gradcheck(lambda: x.relu() * 3, [x], h=size / 10) < TOL  # a step that does not reach the kink


@EXAMPLES
@given(st.floats(1e-300, 1e-2))
def test_log_of_small_numbers(x0):
    """d log x / dx = 1 / x, however small x is; the step of the check shrinks with x."""
    x = Value(x0)
    assert autograd_grads(lambda: x.log(), [x]) == [1 / x0]
    assert gradcheck(lambda: x.log(), [x], h=1e-5 * x0) < TOL


@EXAMPLES
@given(st.floats(5, 40), st.integers(0, 5))
def test_loss_of_a_nearly_impossible_target(gap, target):
    """-log p for a p as small as e**-40: the log of a tiny probability, as in a bad prediction."""
    values = [0.3 * i for i in range(6)]
    values[target] -= gap
    leaves = [Value(v) for v in values]
    assert softmax(leaves)[target].data < 0.01
    assert gradcheck(lambda: -softmax(leaves)[target].log(), leaves) < TOL


# --- the building blocks, attention, the loss ------------------------------------------------------

def vector(rng: random.Random, n: int, scale: float = 1.0) -> list[Value]:
    return [Value(rng.gauss(0, scale)) for _ in range(n)]


def mix(ys: list[Value], rng: random.Random) -> Value:
    """A random weighted sum: a scalar that depends on every output, with no symmetry to hide behind."""
    return sum(rng.gauss(0, 1) * y for y in ys)


@pytest.mark.parametrize("seed", range(5))
def test_linear(seed):
    rng = random.Random(seed)
    nin, nout = rng.randint(1, 8), rng.randint(1, 8)
    x, w = vector(rng, nin), [vector(rng, nin) for _ in range(nout)]
    weights = [wi for row in w for wi in row]
    assert gradcheck(lambda: mix(linear(x, w), random.Random(seed)), x + weights) < TOL


@pytest.mark.parametrize("seed", range(5))
def test_softmax(seed):
    rng = random.Random(seed)
    x = vector(rng, rng.randint(1, 10), scale=3)
    assert gradcheck(lambda: mix(softmax(x), random.Random(seed)), x) < TOL


@pytest.mark.parametrize("seed", range(5))
def test_rmsnorm(seed):
    rng = random.Random(seed)
    x = vector(rng, rng.randint(1, 10))
    assert gradcheck(lambda: mix(rmsnorm(x), random.Random(seed)), x) < TOL


@pytest.mark.parametrize("n_head", [1, 2, 4])
def test_attention_block(n_head):
    """Four positions through one KV cache: the inputs and all four weight matrices."""
    rng = random.Random(n_head)
    model = GPT(Config(n_embd=4, n_head=n_head), vocab_size=3, rng=rng)
    inputs = [vector(rng, 4) for _ in range(4)]

    def attention():
        keys, values = model.kv_cache()
        outs = [model.attention(x, 0, keys, values) for x in inputs]  # position t attends to 0..t
        return mix([o for out in outs for o in out], random.Random(0))

    weights = [p for name, mat in model.state_dict.items() if "attn" in name for row in mat for p in row]
    assert len(weights) == 4 * 4 * 4
    assert gradcheck(attention, [xi for x in inputs for xi in x] + weights) < TOL


@pytest.fixture(scope="module")
def small_model():
    """A small model on a real name, with the numerical gradient of its loss for every weight."""
    tokenizer = Tokenizer(["hugo"])
    model = GPT(Config(n_embd=4, n_head=1, block_size=4), tokenizer.vocab_size, random.Random(7))
    loss = lambda: doc_loss(model, tokenizer, "hugo")  # five predictions, the first four trained on
    return model, tokenizer, loss, numerical_grads(loss, model.params)


def test_training_loss_of_a_small_model(small_model):
    model, _, loss, approx = small_model
    assert len(model.params) == 248
    exact = autograd_grads(loss, model.params)
    assert max(rel_error(a, n, floor=1e-4) for a, n in zip(exact, approx)) < TOL


@pytest.mark.slow
def test_training_loss_of_the_full_model():
    """Every one of the 4,192 weights of upstream's model, on a real name: two forward passes each. The
    fast engine's loss is the plain one to the bit (tests/test_engines.py), so its smaller graph gives the
    same central differences, in about a tenth of the time; the gradients checked are plain backward()'s."""
    tokenizer = Tokenizer(DOCS)
    model = GPT(Config(), tokenizer.vocab_size, random.Random(42))
    assert len(model.params) == 4192
    assert fast.doc_loss(model, tokenizer, "zoe").data == doc_loss(model, tokenizer, "zoe").data
    exact = autograd_grads(lambda: doc_loss(model, tokenizer, "zoe"), model.params)
    approx = numerical_grads(lambda: fast.doc_loss(model, tokenizer, "zoe"), model.params)
    assert max(rel_error(a, n, floor=1e-4) for a, n in zip(exact, approx)) < TOL


# --- random expressions ----------------------------------------------------------------------------

# Each operation takes two earlier nodes a, b and their values ad, bd in the unnudged run, which
# decide any branch: the nudged runs of the check then build the same expression.
RANDOM_OPS = {
    "add": lambda a, b, ad, bd: a + b,
    "sub": lambda a, b, ad, bd: a - b,
    "mul": lambda a, b, ad, bd: a * b,
    "div": lambda a, b, ad, bd: a / b if abs(bd) > 0.1 else a / (b * b + 1),
    "neg": lambda a, b, ad, bd: -a,
    "radd": lambda a, b, ad, bd: 1.5 + a,
    "rsub": lambda a, b, ad, bd: 1.5 - a,
    "rmul": lambda a, b, ad, bd: -0.75 * a,
    "rdiv": lambda a, b, ad, bd: 2 / a if abs(ad) > 0.1 else 2 * a,
    "square": lambda a, b, ad, bd: a**2,
    "cube": lambda a, b, ad, bd: a**3,
    "sqrt": lambda a, b, ad, bd: a**0.5 if ad > 0.1 else (a * a + 1) ** 0.5,
    "rsqrt": lambda a, b, ad, bd: a**-0.5 if ad > 0.1 else (a * a + 1) ** -0.5,
    "log": lambda a, b, ad, bd: a.log() if ad > 0.1 else (a * a + 1).log(),
    "exp": lambda a, b, ad, bd: a.exp() if ad < 3 else (-a).exp(),
    "relu": lambda a, b, ad, bd: a.relu() if abs(ad) > 1e-3 else a + b,  # never within a step of the kink
}

programs = st.tuples(
    st.lists(st.floats(-2, 2), min_size=1, max_size=3),  # the leaves
    st.lists(st.tuples(st.sampled_from(sorted(RANDOM_OPS)), st.integers(0, 30), st.integers(0, 30)),
             min_size=1, max_size=10),  # each step: an operation on any two earlier nodes (maybe the same)
)


def evaluate(leaves: list[Value], program: list[tuple], base: list[float] | None = None) -> list[Value]:
    """Every node of the program: the leaves, then one node per step; base fixes the branches."""
    nodes = list(leaves)
    for op, i, j in program:
        i, j = i % len(nodes), j % len(nodes)
        ad, bd = (base[i], base[j]) if base else (nodes[i].data, nodes[j].data)
        nodes.append(RANDOM_OPS[op](nodes[i], nodes[j], ad, bd))
    return nodes


def check_random_expression(values: list[float], program: list[tuple]) -> None:
    leaves = [Value(v) for v in values]
    base = [node.data for node in evaluate(leaves, program)]
    scale = max(1.0, max(abs(v) for v in base))
    assume(scale < 1e4)
    # The output sums every node, so each node reaches it along several paths: += must add them all.
    f = lambda: sum(evaluate(leaves, program, base)[len(leaves):])
    # A central difference is good to about 1e-11 of the largest value in the expression, so
    # gradients below 1e-3 of it are compared to that instead of to themselves.
    assert gradcheck(f, leaves, floor=1e-3 * scale) < TOL


@settings(max_examples=150, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(programs)
def test_random_expressions(program):
    check_random_expression(*program)


def test_shared_node_gets_one_term_per_use():
    """x -> a = 2x; L = 3a + 5a: dL/dx = 16, which needs a's two terms added before a passes them on."""
    x = Value(1.0)
    a = 2 * x
    (3 * a + 5 * a).backward()
    assert (a.grad, x.grad) == (8, 16)


# --- the checks catch a broken engine --------------------------------------------------------------

@contextmanager
def patched(name: str, method):
    original = getattr(Value, name)
    setattr(Value, name, method)
    try:
        yield
    finally:
        setattr(Value, name, original)


def mul_with_swapped_local_grads(self, other):
    other = other if isinstance(other, Value) else Value(other)
    return Value(self.data * other.data, (self, other), (self.data, other.data))  # should be (b, a)


def backward_that_overwrites(self):
    """backward() with = where it needs +=: a node used twice keeps only its last term."""
    self.grad = 1
    for v in reversed(self.topological_order()):
        for child, local_grad in zip(v._children, v._local_grads):
            child.grad = local_grad * v.grad


def find_a_failure() -> AssertionError | None:
    """Run the random-expression property until it fails, without shrinking; the failure or None."""
    @settings(max_examples=150, deadline=None, database=None, derandomize=True, report_multiple_bugs=False,
              phases=[Phase.generate],
              suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
    @given(programs)
    def prop(program):
        check_random_expression(*program)

    try:
        prop()
    except AssertionError as e:
        return e
    return None


def test_random_expressions_catch_a_wrong_local_gradient():
    with patched("__mul__", mul_with_swapped_local_grads):
        assert find_a_failure() is not None
        a, b = Value(0.7), Value(-1.3)
        assert gradcheck(lambda: a * b, [a, b]) > 0.5
        assert gradcheck(lambda: a * a, [a]) < TOL  # a * a hides it: both local gradients are a


def test_random_expressions_catch_overwritten_gradients():
    with patched("backward", backward_that_overwrites):
        assert find_a_failure() is not None
        x = Value(1.0)
        a = 2 * x
        (3 * a + 5 * a).backward()
        assert x.grad != 16


def test_one_backward_per_position_is_caught(small_model):
    """The gist's first revision: backward() once per position. The KV cache's shared nodes pass on
    the gradients of earlier calls again, and the check sees it."""
    model, tokenizer, loss, approx = small_model
    tokens = [tokenizer.bos] + tokenizer.encode("hugo") + [tokenizer.bos]
    n = min(model.config.block_size, len(tokens) - 1)
    for p in model.params:
        p.grad = 0
    keys, values = model.kv_cache()
    for pos_id in range(n):
        probs = softmax(model(tokens[pos_id], pos_id, keys, values))
        ((1 / n) * -probs[tokens[pos_id + 1]].log()).backward()  # each position's share of the mean

    errors = dict.fromkeys(model.state_dict, 0.0)
    names = [name for name, mat in model.state_dict.items() for row in mat for _ in row]
    for name, p, g in zip(names, model.params, approx):
        errors[name] = max(errors[name], rel_error(p.grad, g, floor=1e-4))
    # wrong exactly where the loss is reached through the cached keys and values
    assert {name for name, e in errors.items() if e > 0.1} == {"wte", "wpe", "layer0.attn_wk", "layer0.attn_wv"}
    assert {name for name, e in errors.items() if e < TOL} == {"lm_head", "layer0.attn_wq", "layer0.attn_wo",
                                                               "layer0.mlp_fc1", "layer0.mlp_fc2"}
