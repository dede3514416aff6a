"""The book's figures, drawn by the book's code from the recorded reference run.

Each function returns the text of an SVG file; tools/hooks/figures.py adds them to the site as
figures/NAME.svg at every build, so no figure is ever drawn by hand or goes stale. The plots use
matplotlib (in the `docs` extra); the diagrams are plain SVG written here. The numbers of the
figures that are also live in the page (js/figures.js) come from microgpt/explore.py, the module
the page's Python calls, so the static picture and the live one show the same numbers.

    python -m tools.figures OUT_DIR   # write them all to a folder, to look at them
"""

from __future__ import annotations

import io
import json
import math
import sys
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from microgpt import explore
from microgpt.model import Config

DATA = ROOT / "docs" / "data"
MODEL = str(DATA / "reference-model.json")  # the reference run's trained model, for explore's functions
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
    mean = explore.running_mean(losses, window)
    fig, ax = figure(7, 3.2)
    steps = range(1, len(losses) + 1)
    ax.plot(steps, losses, color=LIGHT, linewidth=0.6, label="loss of the step's document")
    ax.plot(steps, mean, color=ACCENT, linewidth=2, label=f"mean of the last {window} steps")
    uniform = explore.uniform_loss(run["vocab_size"])
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


def attention() -> str:
    """One heat map per head: how much each position attends to each earlier one."""
    weights = explore.attention("emma", MODEL)
    labels, heads = weights["labels"], weights["heads"]
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
    dist = explore.next_letter("", 0.5, MODEL)
    labels = dist["labels"]
    fig, ax = figure(7, 2.8)
    width = 0.4
    for k, (temperature, probs, color) in enumerate([(1.0, dist["probs_at_1"], LIGHT), (0.5, dist["probs"], ACCENT)]):
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
    nodes = {n["name"]: n for n in explore.backward_steps(2.0, 3.0)["nodes"]}
    a, b, c, L = (nodes[n] for n in "abcL")
    svg = Svg(560, 270)
    places = {"a": (20, 80, "a"), "b": (20, 190, "b"), "c": (220, 135, "c = a*b"), "L": (420, 135, "L = c + a")}
    for name, (x, y, title) in places.items():
        svg.box(x, y, 120, 52, [title, f"data {nodes[name]['data']:g}   grad {nodes[name]['grad']:g}"])
    # Edges carry local gradients, not ∂L/∂x: the total ∂L/∂a is 4, the a -> L edge's local one is 1.
    svg.arrow(140, 106, 218, 155, f"local: b = {c['local_grads'][0]:g}")
    svg.arrow(140, 216, 218, 173, f"local: a = {c['local_grads'][1]:g}", bend=-10)
    svg.arrow(340, 161, 418, 161, f"local: {L['local_grads'][0]:g}")
    svg.arrow(80, 80, 470, 133, f"local: {L['local_grads'][1]:g}", bend=110)
    svg.text(280, 262, f"a.grad = {a['grad']:g}: the two paths from L to a, {b['data']:g}·1 + 1, added by +=",
             size=12, color=ACCENT)
    return str(svg)


def tokens() -> str:
    """The tokenizer's figure before a reader types: "Emma", its ids, and the character it does not know."""
    t = explore.tokens("Emma", MODEL)
    svg = Svg(560, 170)
    for i, piece in enumerate(t["pieces"]):
        x = 20 + i * 80
        known = piece["id"] is not None
        svg.box(x, 20, 64, 64, [piece["char"], str(piece["id"]) if known else "?"],
                fill="#e8eaf6" if known else "#ffebee")
    unknown = [p for p in t["pieces"] if p["id"] is None]
    for k, piece in enumerate(unknown):
        svg.text(20, 110 + 18 * k, f"{piece['char']!r}: {piece['error']}", anchor="start", color="#b00020")
    svg.text(20, 110 + 18 * len(unknown), f"ids {t['ids']}  →  decode: {t['decoded']!r}", anchor="start")
    return str(svg)


def embeddings() -> str:
    """The trained token embeddings on their first two principal directions."""
    e = explore.embeddings(MODEL)
    fig, ax = figure(5.5, 4.2)
    xs, ys = zip(*e["points"])
    ax.scatter(xs, ys, s=14, color=ACCENT)
    for label, (x, y) in zip(e["labels"], e["points"]):
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=9, color=INK)
    ax.set_xlabel(f"first principal direction ({e['variance'][0]:.0%} of the spread)")
    ax.set_ylabel(f"second ({e['variance'][1]:.0%})")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return plot(fig)


def valley() -> str:
    """Adam and plain gradient descent in a narrow valley, with the default settings of the live figure."""
    v = explore.valley()
    fig, ax = figure(7, 3.2)
    for contour in v["contours"]:
        ax.plot(*zip(*contour), color=LIGHT, linewidth=0.7)
    for name, color, label in (("descent", INK, "gradient descent"), ("adam", ACCENT, "Adam")):
        path = v["paths"][name]
        ax.plot(*zip(*path), color=color, marker="o", markersize=2.5, linewidth=1.2,
                label=f"{label}: loss {v['final_loss'][name]:.4f} after {len(path) - 1} steps")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", frameon=False, fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return plot(fig)


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


def progression() -> str:
    """The loss of each step of the progression (docs/data/progression-run.json), as running means."""
    run = json.loads((DATA / "progression-run.json").read_text("utf-8"))
    steps = [run[key] for key in sorted(run) if key.startswith("step")]
    window = 50
    fig, ax = figure(7, 3.6)
    styles = [("#9e9e9e", ":", 1.5), ("#616161", "-", 1.3), ("#8e24aa", "-", 1.3),  # (colour, line, width):
              ("#ef6c00", "-", 2.6), ("#2e7d32", "--", 1.3), (ACCENT, "-", 1.8)]  # 5 lies on 4: dashed, on top
    for step, (color, line, width) in zip(steps, styles):
        losses = step["losses"]
        mean = [sum(losses[max(0, i - window + 1):i + 1]) / (i + 1 - max(0, i - window + 1))
                for i in range(len(losses))]
        ax.plot(range(1, len(losses) + 1), mean, color=color, linewidth=width, linestyle=line, label=step["label"])
    uniform = math.log(steps[0]["vocab_size"])
    ax.axhline(uniform, color=INK, linestyle="--", linewidth=1)
    ax.text(len(steps[0]["losses"]), uniform + 0.02, f"$\\ln {steps[0]['vocab_size']}$: the uniform guess",
            ha="right", va="bottom", color=INK)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"loss, mean of the last {window} steps")
    ax.set_xlim(0, len(steps[0]["losses"]))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=9)  # beside the plot
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return plot(fig)


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


def bridge_loss() -> str:
    """Chapter 20's run in PyTorch: the loss of each batch, its running mean, the held-out and training loss."""
    run = json.loads((DATA / "bridge-run.json").read_text("utf-8"))
    micro = reference()
    losses, window = run["losses"], 100
    fig, ax = figure(7, 3.4)
    steps = range(1, len(losses) + 1)
    ax.plot(steps, losses, color=LIGHT, linewidth=0.5, label="loss of the step's batch")
    ax.plot(steps, explore.running_mean(losses, window), color=ACCENT, linewidth=1.8,
            label=f"mean of the last {window} steps")
    evals = run["evals"]
    ax.plot([e["step"] for e in evals], [e["val"] for e in evals], color="#ef6c00", marker="o", markersize=3,
            linewidth=1.2, label=f"held-out names ({run['num_val']:,}), loss per token")
    ax.plot([e["step"] for e in evals], [e["train"] for e in evals], color="#2e7d32", marker="s", markersize=3,
            linewidth=1, linestyle="--", label=f"as many training names, loss per token")
    ours = sum(micro["losses"][-50:]) / 50  # microgpt's last 50 steps: names it had not seen before either
    ax.axhline(ours, color=INK, linestyle=":", linewidth=1)
    ax.text(len(losses), ours + 0.03, f"microgpt after its {len(micro['losses']):,} steps: {ours:.2f}",
            ha="right", va="bottom", color=INK, fontsize=9)
    ax.axhline(run["uniform_loss"], color=INK, linestyle="--", linewidth=1)
    ax.text(len(losses), run["uniform_loss"] + 0.03, f"$\\ln {run['vocab_size']}$ = {run['uniform_loss']:.2f}: "
            "a uniform guess", ha="right", va="bottom", color=INK, fontsize=9)
    ax.set_ylim(1.5, run["uniform_loss"] + 0.4)  # the first steps, far above, are cut off: the text gives them
    ax.set_xlim(0, len(losses))
    ax.set_xlabel(f"training step (a batch of {run['settings']['batch_size']} names each)")
    ax.set_ylabel("loss (nats per token)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.82), frameon=False, fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return plot(fig)


def experiments() -> dict:
    return json.loads((DATA / "experiments-run.json").read_text("utf-8"))


def experiment(settings: dict) -> dict:
    """The recorded run of chapter 19 with these settings (the others upstream's)."""
    record = experiments()
    wanted = {**record["base"], **settings}
    return next(run for run in record["runs"] if run["settings"] == wanted)


def curves(ax, run: dict, color: str, label: str) -> None:
    """A run's validation loss (solid) and mean training loss (dashed) at every tenth."""
    steps = [point["step"] for point in run["curve"]]
    ax.plot(steps, [point["val"] for point in run["curve"]], color=color, linewidth=2.2, marker="o",
            markersize=4, label=f"{label}: validation")
    ax.plot(steps, [point["train"] for point in run["curve"]], color=color, linewidth=1.4, linestyle="--",
            label=f"{label}: training")


def two_widths(settings: dict) -> str:
    """Chapter 19's curves of the runs with these settings at widths 16 and 64."""
    fig, ax = figure(5.2, 3.9)
    curves(ax, experiment(settings), ACCENT, "width 16")
    curves(ax, experiment({**settings, "n_embd": 64}), "#ef6c00", "width 64")
    ax.set_xlabel("training step", fontsize=12)
    ax.set_ylabel("loss (nats)", fontsize=12)
    ax.tick_params(labelsize=11)
    ax.legend(frameon=False, fontsize=11)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return plot(fig)


def experiment_curves() -> str:
    """Chapter 19: training against validation loss over 10,000 steps, 10% of the names held out."""
    return two_widths({"steps": 10000})


def experiment_overfit() -> str:
    """Chapter 19: the same, with 99% of the names held out: the rest is seen 31 times."""
    return two_widths({"steps": 10000, "val_fraction": 0.99})


FIGURES = {"loss-curve.svg": loss_curve, "attention.svg": attention, "next-token.svg": next_token,
           "graph.svg": graph, "data-flow.svg": data_flow, "tokens.svg": tokens, "embeddings.svg": embeddings,
           "valley.svg": valley, "progression.svg": progression, "engines-ladder.svg": engine_ladder,
           "bridge-loss.svg": bridge_loss,
           "experiments-curves.svg": experiment_curves, "experiments-overfit.svg": experiment_overfit}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "figures")
    out.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        (out / name).write_text(draw(), "utf-8")
        print(out / name)
