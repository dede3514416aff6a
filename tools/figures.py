"""The book's figures, drawn by the book's code from the recorded reference run.

Each function returns the text of an SVG file; tools/hooks.py adds them to the site as
figures/NAME.svg at every build, so no figure is ever drawn by hand or goes stale. The plots use
matplotlib (in the `docs` extra); the two diagrams are plain SVG written here.

    python -m tools.figures OUT_DIR   # write them all to a folder, to look at them
"""

from __future__ import annotations

import io
import json
import math
import random
import sys
from html import escape
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent

from microgpt import checkpoint, model as model_module
from microgpt.autograd import Value
from microgpt.model import Config
from microgpt.nn import softmax

DATA = ROOT / "docs" / "data"
INK, LIGHT, ACCENT = "#333333", "#9e9e9e", "#3f51b5"


def reference() -> dict:
    return json.loads((DATA / "reference-run.json").read_text("utf-8"))


def plot(fig) -> str:
    """A matplotlib figure as small, deterministic SVG with real text."""
    import matplotlib

    matplotlib.rcParams.update({"svg.hashsalt": "microgpt", "svg.fonttype": "none", "font.size": 10})
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None},
                transparent=True)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return out.getvalue()


def figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def loss_curve() -> str:
    """The loss at each of the reference run's 1000 steps, its running mean, and ln(27)."""
    run = reference()
    losses = run["losses"]
    window = 50
    mean = [sum(losses[max(0, i - window + 1):i + 1]) / len(losses[max(0, i - window + 1):i + 1])
            for i in range(len(losses))]
    fig, ax = figure(7, 3.2)
    steps = range(1, len(losses) + 1)
    ax.plot(steps, losses, color=LIGHT, linewidth=0.6, label="loss of the step's document")
    ax.plot(steps, mean, color=ACCENT, linewidth=2, label=f"mean of the last {window} steps")
    uniform = math.log(run["vocab_size"])
    ax.axhline(uniform, color=INK, linestyle="--", linewidth=1)
    ax.text(len(losses), uniform + 0.05, f"$-\\log(1/{run['vocab_size']})$ = {uniform:.2f}: a uniform guess",
            ha="right", va="bottom", color=INK)
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (nats)")
    ax.set_xlim(0, len(losses))
    ax.legend(loc="lower left", frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return plot(fig)


def trained():
    """The model and tokenizer of the recorded reference run."""
    gpt, tokenizer, _ = checkpoint.load(str(DATA / "reference-model.json"))
    return gpt, tokenizer


def attention_weights(name: str = "emma") -> tuple[list[str], list[list[list[float]]]]:
    """The trained model's attention weights while it reads BOS + name: [head][position][key]."""
    gpt, tokenizer = trained()
    tokens = [tokenizer.bos] + tokenizer.encode(name)
    calls = []

    def recording(logits):
        probs = softmax(logits)
        calls.append([p.data for p in probs])
        return probs

    keys, values = gpt.kv_cache()
    with mock.patch.object(model_module, "softmax", recording):  # attention's softmax, per head
        for pos, token in enumerate(tokens):
            gpt(token, pos, keys, values)
    n_head = gpt.config.n_head
    heads = [[calls[pos * n_head + h] for pos in range(len(tokens))] for h in range(n_head)]
    return ["BOS"] + list(name), heads


def attention() -> str:
    """One heat map per head: how much each position attends to each earlier one."""
    labels, heads = attention_weights()
    fig, axes = figure(8, 2.4)
    fig.clf()
    axes = fig.subplots(1, len(heads))
    n = len(labels)
    for h, (ax, weights) in enumerate(zip(axes, heads)):
        grid = [[weights[t][s] if s <= t else float("nan") for s in range(n)] for t in range(n)]
        ax.imshow(grid, cmap="Blues", vmin=0, vmax=1)
        for t in range(n):
            for s in range(t + 1):
                w = weights[t][s]
                ax.text(s, t, f"{w:.2f}"[1:] if w < 1 else "1", ha="center", va="center", fontsize=7,
                        color="white" if w > 0.6 else INK)
        ax.set_xticks(range(n), labels, fontsize=8)
        ax.set_yticks(range(n), labels if h == 0 else [""] * n, fontsize=8)
        ax.set_title(f"head {h}", fontsize=9)
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
    axes[0].set_ylabel("position reading")
    fig.supxlabel("position attended to", fontsize=9, y=-0.02)
    return plot(fig)


def next_token() -> str:
    """The trained model's distribution over the first letter of a name, at T = 1.0 and 0.5."""
    gpt, tokenizer = trained()
    keys, values = gpt.kv_cache()
    logits = gpt(tokenizer.bos, 0, keys, values)
    labels = list(tokenizer.uchars) + ["BOS"]
    fig, ax = figure(7, 2.8)
    width = 0.4
    for k, (temperature, color) in enumerate([(1.0, LIGHT), (0.5, ACCENT)]):
        probs = [p.data for p in softmax([logit / temperature for logit in logits])]
        ax.bar([i + (k - 0.5) * width for i in range(len(labels))], probs, width, color=color,
               label=f"temperature {temperature}")
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylabel("probability")
    ax.set_title("the first letter of a new name, after BOS", fontsize=10)
    ax.legend(frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return plot(fig)


class Svg:
    """A few shapes on a canvas, written as SVG by hand."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height, self.items = width, height, []

    def box(self, x, y, w, h, lines, fill="#e8eaf6") -> None:
        self.items.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" '
                          f'stroke="{INK}" stroke-width="1.2"/>')
        top = y + h / 2 - (len(lines) - 1) * 8
        for i, line in enumerate(lines):
            weight = ' font-weight="bold"' if i == 0 else ""
            self.items.append(f'<text x="{x + w / 2}" y="{top + i * 16 + 5}" text-anchor="middle"{weight}>'
                              f'{escape(line)}</text>')

    def arrow(self, x1, y1, x2, y2, label="", bend=0) -> None:
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2 - bend
        self.items.append(f'<path d="M{x1},{y1} Q{mx},{my} {x2},{y2}" fill="none" stroke="{INK}" '
                          f'stroke-width="1.2" marker-end="url(#head)"/>')
        if label:
            self.items.append(f'<text x="{mx}" y="{(y1 + y2) / 2 - bend / 2 - 6}" text-anchor="middle" '
                              f'fill="{ACCENT}" font-size="12">{escape(label)}</text>')

    def text(self, x, y, line, size=12, anchor="middle", color=INK) -> None:
        self.items.append(f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="{size}" '
                          f'fill="{color}">{escape(line)}</text>')

    def __str__(self) -> str:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
                f'width="{self.width}" height="{self.height}" font-family="sans-serif" font-size="13" '
                f'fill="{INK}"><defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" '
                f'markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
                f'fill="{INK}"/></marker></defs>' + "".join(self.items) + "</svg>\n")


def graph() -> str:
    """The graph of L = a*b + a after backward(): each node's data and grad, each edge's local gradient."""
    a, b = Value(2.0), Value(3.0)
    c = a * b
    L = c + a
    L.backward()
    svg = Svg(560, 270)
    nodes = {"a": (20, 80, a), "b": (20, 190, b), "c = a*b": (220, 135, c), "L = c + a": (420, 135, L)}
    for name, (x, y, v) in nodes.items():
        svg.box(x, y, 120, 52, [name, f"data {v.data:g}   grad {v.grad:g}"])
    # Edges carry local gradients, not ∂L/∂x: the total ∂L/∂a is 4, the a -> L edge's local one is 1.
    svg.arrow(140, 106, 218, 155, f"local: b = {c._local_grads[0]:g}")
    svg.arrow(140, 216, 218, 173, f"local: a = {c._local_grads[1]:g}", bend=-10)
    svg.arrow(340, 161, 418, 161, f"local: {L._local_grads[0]:g}")
    svg.arrow(80, 80, 470, 133, f"local: {L._local_grads[1]:g}", bend=110)
    svg.text(280, 262, f"a.grad = {a.grad:g}: the two paths from L to a, {b.data:g}·1 + 1, added by +=",
             size=12, color=ACCENT)
    return str(svg)


def data_flow() -> str:
    """The model's data flow for one token, with the length of every vector."""
    run = reference()
    c, vocab = Config(), run["vocab_size"]
    rows = [
        ("token id, position", ["an integer each"], "#ffffff"),
        ("wte[token] + wpe[position]", [f"{c.n_embd} + {c.n_embd} → {c.n_embd}"], "#e8eaf6"),
        ("rmsnorm", [f"{c.n_embd}"], "#e8eaf6"),
        ("attention (rmsnorm first)", [f"q, k, v: {c.n_embd} each; {c.n_head} heads of {c.head_dim}",
                                       f"keys and values of earlier positions from the cache",
                                       f"attn_wo: {c.n_embd} → {c.n_embd}, added to the residual"], "#fff3e0"),
        ("MLP (rmsnorm first)", [f"mlp_fc1: {c.n_embd} → {4 * c.n_embd}, ReLU",
                                 f"mlp_fc2: {4 * c.n_embd} → {c.n_embd}, added to the residual"], "#e8f5e9"),
        ("lm_head", [f"{c.n_embd} → {vocab} logits, one per token"], "#e8eaf6"),
        ("softmax", [f"{vocab} probabilities for the next token"], "#ffffff"),
    ]
    svg = Svg(560, 40 + sum(30 + 16 * len(lines) for _, lines, _ in rows) + 20 * (len(rows) - 1))
    y, layer = 20, []
    for i, (title, lines, fill) in enumerate(rows):
        h = 30 + 16 * len(lines)
        svg.box(40, y, 400, h, [title, *lines], fill=fill)
        if i:
            svg.arrow(240, y - 20, 240, y - 2)
        if title.startswith(("attention", "MLP")):
            layer.append((y, y + h))
        y += h + 20
    top, bottom = layer[0][0] - 8, layer[-1][1] + 8
    svg.items.append(f'<rect x="30" y="{top}" width="420" height="{bottom - top}" rx="8" fill="none" '
                     f'stroke="{ACCENT}" stroke-dasharray="5,4"/>')
    svg.text(458, (top + bottom) / 2, f"× {c.n_layer}", size=14, anchor="start", color=ACCENT)
    svg.text(458, (top + bottom) / 2 + 16, "n_layer", size=11, anchor="start", color=ACCENT)
    return str(svg)


def engine_ladder() -> str:
    """Chapter 15's ladder: ms per step of each engine (log scale) over the rounds, and the floor."""
    record = json.loads((DATA / "engines-run.json").read_text("utf-8"))
    runs = list(record["runs"].values())[::-1]  # plain at the top
    fig, ax = figure(7, 0.42 * len(runs) + 1.2)
    for y, run in enumerate(runs):
        ms = run["ms"]
        ax.barh(y, ms["median"], color=LIGHT if run["label"].startswith("C step") else ACCENT, height=0.6)
        ax.plot([ms["min"], ms["max"]], [y, y], color=INK, linewidth=1.2)
        speedup = run["speedup"]["median"]
        ax.text(ms["max"] * 1.15, y, f"{ms['median']:.3g} ms, {speedup:,.0f}x" if speedup >= 100 else
                f"{ms['median']:.3g} ms, {speedup:.3g}x", va="center", color=INK, fontsize=8)
    floor = record["floor_ms"]
    ax.axvline(floor, color=INK, linestyle="--", linewidth=1)
    ax.text(floor * 1.1, -0.8, f"the arithmetic alone: {record['flops']['step']:,.0f} floating-point operations "
            f"at the matrix product's rate, {floor * 1000:.0f} µs", va="center", fontsize=8, color=INK)
    ax.set_ylim(-1.3, len(runs) - 0.5)
    ax.set_xscale("log")
    ax.set_xlim(floor / 2, max(run["ms"]["max"] for run in runs) * 20)
    ax.set_yticks(range(len(runs)), [run["label"] for run in runs], fontsize=8)
    ax.set_xlabel("CPU time per training step (ms, log scale)")
    ax.set_title(record["machine"]["summary"], fontsize=8, color=INK)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return plot(fig)


FIGURES = {"loss-curve.svg": loss_curve, "attention.svg": attention, "next-token.svg": next_token,
           "graph.svg": graph, "data-flow.svg": data_flow, "engines-ladder.svg": engine_ladder}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "figures")
    out.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        (out / name).write_text(draw(), "utf-8")
        print(out / name)
