""""Train it here" (docs/11-run-it.md) prints what `python -m microgpt` prints for the same settings.

The page runs the chapter's train_here block; here it runs natively, so this check is quick. The
browser test (tests/test_in_the_page.py) checks the page against the native command too."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path

import pytest

from microgpt.cli import main
from microgpt.explore import Watch

ROOT = Path(__file__).resolve().parent.parent


def train_here_source() -> str:
    """The code of the block that "Train it here" runs, as the chapter shows it, without its native call."""
    text = (ROOT / "docs" / "11-run-it.md").read_text("utf-8")
    code = text.split("```python\nimport asyncio", 1)[1].split("```", 1)[0]
    return "import asyncio" + code.split('\nif sys.platform != "emscripten"', 1)[0]


def train_here(**settings) -> tuple[str, list]:
    """What train_here prints with these settings, and what it sent its Watch."""
    namespace: dict = {}
    exec(compile(train_here_source(), "docs/11-run-it.md", "exec"), namespace)
    sent = []
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        asyncio.run(namespace["train_here"](**settings, watch=Watch(lambda k, d: sent.append((k, json.loads(d))))))
    return out.getvalue(), sent


def command(*flags: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(flags)) == 0
    return out.getvalue()


@pytest.mark.parametrize("engine", ["fast", "plain"])
def test_train_here_prints_what_the_command_prints(engine):
    printed, sent = train_here(steps=6, seed=7, temperature=0.8, samples=5, engine=engine, n_embd=8, n_head=2,
                               n_layer=1, block_size=8)
    assert printed == command("--steps", "6", "--seed", "7", "--temperature", "0.8", "--samples", "5",
                              "--engine", engine, "--n-embd", "8", "--n-head", "2", "--block-size", "8")
    losses = [float(line.rsplit(" ", 1)[1]) for line in printed.splitlines() if line.startswith("step ")]
    assert sent[0] == ("start", {"steps": 6, "uniform": pytest.approx(3.2958, abs=1e-4)})
    assert [round(d["loss"], 4) for k, d in sent[1:]] == losses
    assert sent[-1][1]["mean"] == pytest.approx(sum(d["loss"] for k, d in sent[1:]) / 6)


def test_stop_samples_from_the_model_so_far():
    namespace: dict = {}
    exec(compile(train_here_source(), "docs/11-run-it.md", "exec"), namespace)
    steps = []
    watch = Watch(lambda kind, data: kind == "step" and steps.append(data), stopped=lambda: len(steps) >= 3)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        asyncio.run(namespace["train_here"](steps=1000, samples=4, watch=watch))
    lines = out.getvalue().splitlines()
    assert "stopped at step 3 / 1000" in lines
    assert [line[:10] for line in lines if line.startswith("sample")] == [f"sample {i:2d}:" for i in range(1, 5)]
