"""PyTorch agrees with the package: the same weights give the same logits, loss and 4,192 gradients,
and ten steps of the package's Adam are ten steps of torch.optim.Adam under the same linear decay.

The PyTorch model (microgpt.gradcheck.torch_logits) is written on float64 tensors, all positions at
once with a causal mask, and shares no code with the package's scalar model: only the weights, the
tokenizer and the Config. Chapter 14 explains it.
"""

from __future__ import annotations

import gc
import random

import pytest
from helpers import A_TO_Z as DOCS

pytestmark = pytest.mark.slow  # importing torch and its first Adam step take seconds: CI runs these
torch = None


@pytest.fixture(scope="module", autouse=True)
def _torch():
    """Import torch only when these tests run, so that the default run never pays for it."""
    global torch
    torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[torch]'")
    # Importing torch leaves over 100,000 objects that live as long as the process. Left to the cyclic
    # garbage collector, every full collection of the session would walk them again, and the scalar
    # graphs of the later tests and examples trigger many: freezing them (module objects, no garbage
    # once collected) keeps the rest of the suite about as fast as it is without torch.
    gc.collect()
    gc.freeze()

from microgpt.gradcheck import rel_error, torch_doc_loss, torch_logits, torch_weights  # noqa: E402
from microgpt.model import GPT, Config  # noqa: E402
from microgpt.optim import Adam  # noqa: E402
from microgpt.tokenizer import Tokenizer  # noqa: E402
from microgpt.train import doc_loss, train  # noqa: E402



def upstreams_model() -> tuple[GPT, Tokenizer]:
    tokenizer = Tokenizer(DOCS)
    model = GPT(Config(), tokenizer.vocab_size, random.Random(42))
    assert (tokenizer.vocab_size, len(model.params)) == (27, 4192)
    return model, tokenizer


def logits_difference(model: GPT, tokenizer: Tokenizer, doc: str) -> float:
    """The largest difference between the two models' logits, relative to the largest logit at its position."""
    tokens = [tokenizer.bos] + tokenizer.encode(doc) + [tokenizer.bos]
    n = min(model.config.block_size, len(tokens) - 1)
    keys, values = model.kv_cache()
    ours = [[logit.data for logit in model(tokens[pos_id], pos_id, keys, values)] for pos_id in range(n)]
    theirs = torch_logits(torch_weights(model), model.config, tokens[:n]).tolist()
    return max(max(abs(a - b) for a, b in zip(row, ref)) / max(abs(b) for b in ref) for row, ref in zip(ours, theirs))


def loss_and_gradient_differences(model: GPT, tokenizer: Tokenizer, doc: str) -> tuple[float, float]:
    """The relative differences of the loss, and the largest over every weight of the gradient."""
    for p in model.params:
        p.grad = 0
    loss = doc_loss(model, tokenizer, doc)
    loss.backward()
    w = torch_weights(model)
    torch_loss = torch_doc_loss(w, model.config, tokenizer, doc)
    torch_loss.backward()
    torch_grads = torch.cat([t.grad.flatten() for t in w.values()]).tolist()  # state_dict order, row by row
    assert len(torch_grads) == len(model.params)
    return (rel_error(loss.data, torch_loss.item()),
            max(rel_error(p.grad, g) for p, g in zip(model.params, torch_grads)))


def test_same_logits_loss_and_every_gradient():
    model, tokenizer = upstreams_model()
    assert logits_difference(model, tokenizer, "jasper") <= 1e-12
    loss_difference, gradient_difference = loss_and_gradient_differences(model, tokenizer, "jasper")
    assert loss_difference <= 1e-12
    assert gradient_difference <= 1e-10


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS)
def test_same_logits_loss_and_every_gradient_on_every_document(doc):
    model, tokenizer = upstreams_model()
    assert logits_difference(model, tokenizer, doc) <= 1e-12
    loss_difference, gradient_difference = loss_and_gradient_differences(model, tokenizer, doc)
    assert loss_difference <= 1e-12
    assert gradient_difference <= 1e-10


@pytest.mark.parametrize("config", [
    pytest.param(Config(n_embd=4, n_head=1), id="small"),
    pytest.param(Config(), marks=pytest.mark.slow, id="upstreams"),  # 4,192 weights: 10 steps take seconds
])
def test_ten_adam_steps_are_torchs_ten_adam_steps(config):
    num_steps = 10
    tokenizer = Tokenizer(DOCS)
    model = GPT(config, tokenizer.vocab_size, random.Random(42))
    w = torch_weights(model)  # the same starting point
    losses = list(train(model, tokenizer, DOCS, Adam(model.params), num_steps))

    optimizer = torch.optim.Adam(w.values(), lr=0.01, betas=(0.85, 0.99), eps=1e-8)
    decay = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / num_steps)  # lr at step 0
    torch_losses = []
    for step in range(num_steps):
        loss = torch_doc_loss(w, model.config, tokenizer, DOCS[step % len(DOCS)])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        decay.step()
        torch_losses.append(loss.item())

    torch_params = torch.cat([t.detach().flatten() for t in w.values()]).tolist()
    assert max(rel_error(a, b) for a, b in zip(losses, torch_losses)) <= 1e-9
    assert max(rel_error(p.data, x) for p, x in zip(model.params, torch_params)) <= 1e-9
    assert max(abs(p.data - x) for p, x in zip(model.params, torch_params)) <= 1e-9
