"""microgpt.explore computes what the package computes: the figures' numbers agree with the package's own
functions (backward, sample, softmax), and the claims the chapters make about the figures hold."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from microgpt import explore
from microgpt.autograd import Value
from microgpt.sample import sample

MODEL = str(Path(__file__).resolve().parent.parent / "docs" / "data" / "reference-model.json")


@pytest.mark.parametrize("a, b", [(2.0, 3.0), (-1.5, 0.25), (0.0, 7.0)])
def test_backward_steps_end_where_backward_ends(a, b):
    va, vb = Value(a), Value(b)
    c = va * vb
    L = c + va
    L.backward()
    trace = explore.backward_steps(a, b)
    assert trace["steps"][-1]["grads"] == {"a": va.grad, "b": vb.grad, "c": c.grad, "L": L.grad}
    assert [n["data"] for n in trace["nodes"]] == [a, b, c.data, L.data]
    arrivals = [x for s in trace["steps"] for x in s["arrivals"]]
    assert [x["to"] for x in arrivals].count("a") == 2  # a is used twice: two contributions
    assert sum(x["amount"] for x in arrivals if x["to"] == "a") == va.grad
    assert [s["node"] for s in trace["steps"]] == ["L", "L", "c", "b", "a"]  # the start, then each node's turn


def test_tokens_flag_what_the_tokenizer_cannot_encode():
    t = explore.tokens("Emma", MODEL)
    assert [p["id"] for p in t["pieces"]] == [None, 12, 12, 0]
    assert "ValueError" in t["pieces"][0]["error"] and t["decoded"] == "mma"


def test_next_letter_is_what_sample_draws_from():
    model, tokenizer = explore.reference(MODEL)
    dist = explore.next_letter("", 0.5, MODEL)
    assert math.isclose(sum(dist["probs"]), 1) and math.isclose(sum(dist["probs_at_1"]), 1)
    for seed in range(8):  # the first letter sample() writes is the letter sample_letter draws
        first = sample(model, tokenizer, random.Random(seed), 0.5)[:1]
        drawn = explore.sample_letter("", 0.5, seed, MODEL)
        assert (first or "BOS") == drawn["label"]
    assert explore.next_letter("A", 0.5, MODEL)["error"].startswith("encode('A') raises ValueError")
    assert "error" in explore.next_letter("a" * 16, 0.5, MODEL)


def test_attention_rows_are_distributions_over_earlier_positions():
    att = explore.attention("olivia", MODEL)
    assert att["labels"] == ["BOS", *"olivia"] and len(att["heads"]) == 4
    for head in att["heads"]:
        assert [len(row) for row in head] == list(range(1, 8))
        assert all(math.isclose(sum(row), 1) for row in head)


def test_embeddings_put_the_vowels_apart():
    """Chapter 4 says so: on the first principal direction the five vowels are the five lowest."""
    e = explore.embeddings(MODEL)
    lowest = sorted(zip((p[0] for p in e["points"]), e["labels"]))[:5]
    assert {label for _, label in lowest} == set("aeiou")
    assert 1 > e["variance"][0] > e["variance"][1] > 0
    near = explore.neighbours("a", 5, MODEL)["nearest"]
    assert [n["cosine"] for n in near] == sorted((n["cosine"] for n in near), reverse=True)


def test_principal_directions_are_orthonormal():
    rng = random.Random(1)
    rows = [[rng.gauss(0, 1) * (3 if j == 2 else 1) for j in range(5)] for _ in range(40)]
    u, v = explore.principal_directions(rows)
    assert math.isclose(sum(x * x for x in u), 1) and math.isclose(sum(x * x for x in v), 1)
    assert abs(sum(x * y for x, y in zip(u, v))) < 1e-9
    assert max(range(5), key=lambda j: abs(u[j])) == 2  # the direction of the widest spread


def test_adam_gets_further_down_the_valley_than_descent():
    """Chapter 8's claim for the figure's default settings, and the divergence of descent at lr 0.6."""
    v = explore.valley()
    assert v["final_loss"]["adam"] < v["final_loss"]["descent"]
    assert all(len(p) == 61 for p in v["paths"].values())
    assert all(math.isclose(0.05 * x * x + y * y, 1.0) for x, y in v["contours"][3])


def test_watch_reports_the_running_mean():
    sent = []
    watch = explore.Watch(lambda kind, data: sent.append((kind, data)), window=2)
    watch.start(27, 3)
    for step, loss in enumerate([3.0, 2.0, 1.0], start=1):
        watch.step(step, loss)
    assert '"uniform": 3.295836866004329' in sent[0][1]
    assert [s[1].split('"mean": ')[1].rstrip("}") for s in sent[1:]] == ["3.0", "2.5", "1.5"]
    assert explore.running_mean([3.0, 2.0, 1.0], 2) == [3.0, 2.5, 1.5] and not watch.stopped()
