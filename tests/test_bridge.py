"""Chapter 20's bridge: microgpt's model in PyTorch, on batches, is microgpt on the same weights, and the
recorded bigger run (docs/data/bridge-run.json) is what tools.bridge computes.

The tests that need PyTorch import it only when they run, and are skipped without it; those that take an
Adam step are in the slow set (PyTorch's first one takes seconds). The record's own consistency and
tools.bridge's bad input need nothing but the standard library.
"""

from __future__ import annotations

import gc
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import A_TO_Z as DOCS

from microgpt.model import GPT, Config
from microgpt.optim import Adam
from microgpt.tokenizer import Tokenizer
from microgpt.train import doc_loss, train
from tools import bridge as tool

ROOT = Path(__file__).resolve().parent.parent
RUN = json.loads((ROOT / "docs" / "data" / "bridge-run.json").read_text("utf-8"))
SMALL = Config(n_embd=8, n_head=2, block_size=8)  # small enough for the scalar side to be quick
torch = None


@pytest.fixture
def torch_module():
    """PyTorch, imported when a test first asks for it (skipped without it), its leftovers frozen."""
    global torch
    if torch is None:
        torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[torch]'")
        gc.collect()
        gc.freeze()  # torch's 100,000 module objects: no later full collection walks them again
    return torch


def rel_error(a: float, b: float) -> float:
    return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))


def flat(w: dict, what: str = "data") -> list[float]:
    """Every weight (or its gradient) of a dict of tensors, in state_dict order, row by row."""
    return torch.cat([getattr(t, what).detach().flatten() for t in w.values()]).tolist()


def test_record_is_consistent_with_its_settings():
    s = RUN["settings"]
    assert s == tool.SETTINGS  # the record is of the tool's run as it stands
    d, L, V = s["n_embd"], s["n_layer"], RUN["vocab_size"]
    assert RUN["num_params"] == 2 * V * d + s["block_size"] * d + L * 12 * d * d  # wte, lm_head, wpe; 12d² a layer
    assert len(RUN["losses"]) == s["steps"] and RUN["names_seen"] == s["steps"] * s["batch_size"]
    assert [e["step"] for e in RUN["evals"]] == list(range(s["eval_every"], s["steps"] + 1, s["eval_every"]))
    assert RUN["num_train"] + RUN["num_val"] == RUN["num_docs"] and RUN["num_val"] == int(RUN["num_docs"] * 0.1)
    assert RUN["uniform_loss"] == math.log(V) and len(RUN["samples"]) == s["samples"]
    assert RUN["device"] == ("cuda:0" if RUN["gpu"] else "cpu")


def test_record_shows_learning():
    """Far below the uniform guess at the end, the held-out loss still falling, above the training loss."""
    first, last = RUN["evals"][0], RUN["evals"][-1]
    assert last["val"] < RUN["uniform_loss"] - 1 and last["val"] < first["val"] and last["train"] < last["val"]


@pytest.mark.parametrize("args, message", [
    (["--names", "/no/such/file"], "error: no names file at /no/such/file (give one with --names)"),
    (["--names", __file__, "--steps", "0"], "error: --steps must be at least 1, not 0"),
])
def test_tool_refuses_bad_input_in_one_line(args, message):
    done = subprocess.run([sys.executable, "-m", "tools.bridge", *args, "--out", "/dev/null"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr.strip()) == (2, message)


def test_importing_the_bridge_imports_no_torch():
    """The package stays stdlib-only: PyTorch comes in only when a function of microgpt.bridge runs."""
    code = ("import sys, microgpt, microgpt.bridge, microgpt.gradcheck; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "[]")


@pytest.mark.slow  # importing torch alone takes about two seconds
def test_batch_pads_at_the_end_and_masks_the_padding(torch_module):
    from microgpt import bridge

    tokenizer = Tokenizer(DOCS)
    inputs, targets = bridge.batch(tokenizer, ["zoe", "x" * 20], 8)
    ids = [tokenizer.bos] + tokenizer.encode("zoe") + [tokenizer.bos]
    assert inputs.shape == targets.shape == (2, 8)
    assert inputs[0, :4].tolist() == ids[:4] and targets[0].tolist() == ids[1:] + [bridge.PAD] * 4
    assert targets[1].tolist() == tokenizer.encode("x" * 8)  # cut at block_size, as doc_loss does
    assert (targets != bridge.PAD).sum() == 4 + 8


@pytest.mark.slow  # importing torch alone takes about two seconds
def test_padding_changes_no_real_position(torch_module):
    from microgpt import bridge
    from microgpt.gradcheck import torch_logits, torch_weights

    tokenizer = Tokenizer(DOCS)
    model = GPT(SMALL, tokenizer.vocab_size, random.Random(1))
    w = torch_weights(model)
    inputs, _ = bridge.batch(tokenizer, ["zoe", "dominic"], SMALL.block_size)
    padded = torch_logits(w, SMALL, inputs)
    alone = torch_logits(w, SMALL, inputs[0, :4].tolist())
    assert torch.equal(padded[0, :4], alone) or (padded[0, :4] - alone).abs().max() < 1e-14
    with pytest.raises(AssertionError):  # and the check can fail: padding at the front would move every row
        front = torch_logits(w, SMALL, [tokenizer.bos] * 4 + inputs[0, :4].tolist())[4:]
        assert (front - alone).abs().max() < 1e-14


@pytest.mark.slow  # importing torch alone takes about two seconds
def test_init_weights_have_gpts_names_shapes_and_spread(torch_module):
    from microgpt import bridge

    config = Config(n_embd=32, n_head=4, n_layer=2)
    w = bridge.init_weights(config, 27, torch.Generator().manual_seed(0))
    model = GPT(config, 27, random.Random(0))
    shapes = [(name, (len(m), len(m[0]))) for name, m in model.state_dict.items()]
    assert [(name, tuple(t.shape)) for name, t in w.items()] == shapes
    weights = torch.cat([t.detach().flatten() for t in w.values()])
    assert abs(weights.std().item() - 0.08) < 0.002 and abs(weights.mean().item()) < 0.002


def first_step(config: Config) -> dict:
    """One step of a batch of the nine names, from microgpt's weights: both sides' numbers."""
    from microgpt import bridge
    from microgpt.gradcheck import torch_weights

    tokenizer = Tokenizer(DOCS)
    model = GPT(config, tokenizer.vocab_size, random.Random(42))
    w = torch_weights(model)
    positions = [min(config.block_size, len(doc) + 1) for doc in DOCS]
    loss = sum((n / sum(positions)) * doc_loss(model, tokenizer, doc) for n, doc in zip(positions, DOCS))
    loss.backward()
    grads = [p.grad for p in model.params]
    Adam(model.params).step(0, 1)
    torch_loss = next(bridge.train(w, config, tokenizer, DOCS, num_steps=1, batch_size=len(DOCS)))
    return {"loss": rel_error(loss.data, torch_loss),
            "grads": max(rel_error(a, b) for a, b in zip(grads, flat(w, "grad"))),
            "weights": max(abs(p.data - x) for p, x in zip(model.params, flat(w)))}


@pytest.mark.slow  # torch.optim.Adam's first step takes seconds, however small the model
def test_first_batched_step_is_microgpts_on_the_same_weights(torch_module):
    differences = first_step(SMALL)
    assert differences["loss"] <= 1e-14 and differences["grads"] <= 1e-10 and differences["weights"] <= 1e-15


@pytest.mark.slow
def test_first_batched_step_is_microgpts_for_upstreams_model(torch_module):
    differences = first_step(Config())
    assert differences["loss"] <= 1e-14 and differences["grads"] <= 1e-10 and differences["weights"] <= 1e-15


@pytest.mark.slow
def test_batch_of_one_trains_as_microgpt(torch_module):
    from microgpt import bridge
    from microgpt.gradcheck import torch_weights

    tokenizer = Tokenizer(DOCS)
    model = GPT(SMALL, tokenizer.vocab_size, random.Random(42))
    w = torch_weights(model)
    ours = list(train(model, tokenizer, DOCS, Adam(model.params), 12))
    theirs = list(bridge.train(w, SMALL, tokenizer, DOCS, num_steps=12, batch_size=1))
    assert max(rel_error(a, b) for a, b in zip(ours, theirs)) <= 1e-12
    assert max(abs(p.data - x) for p, x in zip(model.params, flat(w))) <= 1e-12


@pytest.mark.slow
@pytest.mark.needs_names
def test_first_steps_of_the_recorded_run_are_the_tools(torch_module, names_txt):
    """50 steps again, float32 on the CPU: each loss within 1e-3 of the record's (the bits may differ
    on another CPU or PyTorch; the same machine and version gives the same ones)."""
    settings = RUN["settings"]
    losses, _ = tool.losses(str(names_txt), settings, 50)
    assert max(abs(a - b) for a, b in zip(losses, RUN["losses"][:50])) <= 1e-3
