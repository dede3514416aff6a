"""The recorded reference run in docs/data/ is what the code produces.

The book quotes these numbers and draws figures from them. The quick tests replay what is
cheap (the first steps, the graph sizes, the checkpoint); the slow test in test_fidelity.py
checks the whole run, including the trained model's every weight."""

import json
import random
from itertools import islice
from pathlib import Path

import pytest

from microgpt import checkpoint
from microgpt.data import load_docs
from microgpt.model import GPT, Config
from microgpt.optim import Adam
from microgpt.tokenizer import Tokenizer
from microgpt.train import train
from tools.record import coverage, nodes_created

ROOT = Path(__file__).resolve().parent.parent
RUN = json.loads((ROOT / "docs" / "data" / "reference-run.json").read_text("utf-8"))
MODEL = ROOT / "docs" / "data" / "reference-model.json"


@pytest.fixture(scope="module")
def start(names_txt):
    rng = random.Random(42)
    docs = load_docs(str(names_txt), rng)
    tokenizer = Tokenizer(docs)
    return docs, tokenizer, GPT(Config(), tokenizer.vocab_size, rng)


@pytest.mark.needs_names
def test_recorded_sizes_and_first_losses_are_the_codes(start):
    docs, tokenizer, model = start
    assert (RUN["num_docs"], RUN["vocab_size"], RUN["num_params"]) == (len(docs), tokenizer.vocab_size,
                                                                      len(model.params))
    losses = list(islice(train(model, tokenizer, docs, Adam(model.params), 1000), 3))
    assert losses == RUN["losses"][:3]  # exactly, to the last bit


def test_recorded_graph_sizes_are_the_codes():
    """Three sizes recomputed; all sixteen on one curve, 50n^2 + 7690n + 3 for n positions."""
    tokenizer = Tokenizer(["abcdefghijklmnopqrstuvwxyz"])
    model = GPT(Config(), tokenizer.vocab_size, random.Random(0))
    table = RUN["nodes_per_step"]["by_positions"]
    for n in (1, 2, 7):
        assert nodes_created(model, tokenizer, "a" * (n - 1)) == table[str(n)]
    assert table == {str(n): 50 * n * n + 7690 * n + 3 for n in range(1, 17)}


def test_recorded_model_is_a_checkpoint_of_the_recorded_run():
    model, tokenizer, rest = checkpoint.load(str(MODEL))
    assert (len(model.params), tokenizer.vocab_size, rest["steps"], rest["seed"]) == (4192, 27, 1000, 42)
    assert model.config == Config()
    assert len(RUN["losses"]) == 1000 and len(RUN["samples"]) == 20


@pytest.mark.needs_names
def test_recorded_novel_samples_are_not_in_the_data(names_txt):
    names = set(names_txt.read_text("utf-8").split())
    assert RUN["novel_samples"] == [name for name in RUN["samples"] if name not in names]


@pytest.mark.needs_names
def test_recorded_dataset_statistics(names_txt):
    docs = load_docs(str(names_txt), random.Random(0))
    lengths = [len(doc) for doc in docs]
    assert RUN["dataset"] == {"distinct": len(set(docs)), "mean_length": sum(lengths) / len(lengths),
                              "min_length": min(lengths), "max_length": max(lengths)}


@pytest.mark.needs_names
def test_recorded_coverage_is_the_datas(names_txt):
    """The step by which every letter has been trained on, and the positions never reached."""
    docs = load_docs(str(names_txt), random.Random(42))
    assert RUN["coverage"] == coverage(docs, 1000, Config().block_size)
    assert RUN["coverage"]["every_char_by_step"] > 1  # the first name does not hold every letter
