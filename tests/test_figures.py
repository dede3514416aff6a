"""The live figures (docs/js/figures.js) show what microgpt.explore computes: in headless Chromium against
the built site on 127.0.0.1, each figure is driven as a reader would (typing, a slider moved with the
keyboard, the backward pass stepped) and what the page shows is compared, to the digits it shows, with the
same function under native Python. No console error, no request off 127.0.0.1. The seconds from the first
interaction to the first result, cold (Python not yet loaded in the page) and warm, are printed.

Slow, like tests/test_in_the_page.py, whose fixtures and helpers it uses."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import pytest

from microgpt import explore
from test_browser import browser, served  # noqa: F401  (the browser tests' fixtures)
from test_in_the_page import MINUTES, clean, open_page

pytestmark = pytest.mark.slow
MODEL = str(Path(__file__).resolve().parent.parent / "docs" / "data" / "reference-model.json")
TIMES: dict[str, tuple[float, float]] = {}


@contextmanager
def chapter(browser, served, path: str):
    """A chapter's page, checked at the end for console errors and requests off 127.0.0.1."""
    page, seen = open_page(browser, served, path)
    yield page
    clean(seen)
    page.close()


def settle(page, figure: str) -> float:
    """Wait for the figure's next result; the seconds Python took to give it, as the page measured them."""
    page.wait_for_function("f => f.dataset.state && f.dataset.state !== 'computing'",
                           arg=page.locator(figure).element_handle(), timeout=5 * MINUTES)
    assert page.get_attribute(figure, "data-state") == "ready", page.inner_text(figure)
    return float(page.get_attribute(figure, "data-seconds"))


def timed(page, figure: str, first, second) -> None:
    """Do the first interaction and the second, each to its result, and keep both times."""
    assert page.locator(f"{figure} img").is_visible()  # the static picture, until the reader acts
    assert page.locator(f"{figure} .figure-live").is_hidden()
    first()
    cold = settle(page, figure)
    assert page.locator(f"{figure} img").is_hidden() and page.locator(f"{figure} .figure-live").is_visible()
    second()
    TIMES[figure] = (cold, settle(page, figure))


def slide(page, selector: str, presses: int) -> None:
    """Move a range input with the keyboard, as a reader without a mouse would."""
    page.focus(selector)
    for _ in range(abs(presses)):
        page.keyboard.press("ArrowRight" if presses > 0 else "ArrowLeft")


def test_tokenizer(served, browser):
    with chapter(browser, served, "02-tokenizer") as page:
        f = "#figure-tokens"
        timed(page, f, lambda: page.fill(f"{f} input", "Emma"), lambda: page.fill(f"{f} input", "zoë ann"))
        native = explore.tokens("zoë ann", MODEL)
        shown = page.eval_on_selector_all(f"{f} .token-row li", "els => els.map(e => e.innerText.split('\\n'))")
        assert shown == [["␣" if p["char"] == " " else p["char"], "?" if p["id"] is None else str(p["id"])]
                         for p in native["pieces"]]
        errors = page.eval_on_selector_all(f"{f} .token-error", "els => els.map(e => e.innerText)")
        assert errors == [f"'{p['char']}': {p['error']}" for p in native["pieces"] if p["id"] is None]
        assert page.inner_text(f"{f} .token-ids").startswith(f"ids {native['ids']} → decode: '{native['decoded']}'")


def test_autograd_steps_through_backward(served, browser):
    with chapter(browser, served, "03-autograd") as page:
        f = "#figure-autograd"
        timed(page, f, lambda: page.fill(f"{f} input[name=a]", "1.5"), lambda: page.fill(f"{f} input[name=b]", "-2"))
        native = explore.backward_steps(1.5, -2.0)
        data = {n["name"]: n["data"] for n in native["nodes"]}
        said_all = []
        for k, step in enumerate(native["steps"]):
            page.click(f"{f} button:has-text('Step backward')")  # from the result, the first press starts again
            said = page.inner_text(f"{f} .backward-step")
            said_all.append(said)
            assert said.startswith(f"step {k + 1} of {len(native['steps'])}: ")
            for arrival in step["arrivals"]:
                assert f"= {arrival['amount']:g} to {arrival['to']}" in said
            values = page.eval_on_selector_all(f"{f} .node-values", "els => els.map(e => e.textContent)")
            numbers = [[float(x) for x in re.findall(r"-?[\d.]+", v)] for v in values]
            assert numbers == [[data[n], step["grads"][n]] for n in "abcL"]
        assert sum("a has now received two contributions" in said for said in said_all) >= 1


def top_five(dist: dict) -> str:
    ranked = sorted(zip(dist["probs"], dist["labels"]), key=lambda x: -x[0])[:5]
    return f"most likely at T = {dist['temperature']:g}: " + ", ".join(f"{l} {p:.4f}" for p, l in ranked)


@pytest.mark.parametrize("path, figure", [("05-building-blocks", "#figure-next-letter"),
                                          ("10-sampling", "#figure-sampling")])
def test_next_letter(served, browser, path, figure):
    with chapter(browser, served, path) as page:
        f = figure
        prefix = f"{f} input[name=prefix]"
        timed(page, f, lambda: page.fill(prefix, "e"), lambda: page.fill(prefix, "em"))
        slide(page, f"{f} input[name=temperature]", 6)  # 0.5 + 6 steps of 0.05
        settle(page, f)
        native = explore.next_letter("em", 0.8, MODEL)
        assert page.inner_text(f"{f} .figure-values") == top_five(native)
        titles = page.eval_on_selector_all(f"{f} .figure-live rect title", "els => els.map(e => e.textContent)")
        assert titles == [t for label, p, p1 in zip(native["labels"], native["probs"], native["probs_at_1"])
                          for t in (f"{label}: {p1:.4f} at T = 1", f"{label}: {p:.4f} at T = 0.8")]
        page.click(f"{f} button:has-text('Sample a letter')")
        settle(page, f)
        drawn = explore.sample_letter("em", 0.8, 0, MODEL)
        assert page.input_value(f"{f} input[name=prefix]") == ("em" if drawn["ended"] else "em" + drawn["label"])


def test_attention(served, browser):
    with chapter(browser, served, "06-attention") as page:
        f = "#figure-attention"
        timed(page, f, lambda: page.fill(f"{f} input", "emm"), lambda: page.fill(f"{f} input", "olivia"))
        native = explore.attention("olivia", MODEL)
        cells = page.eval_on_selector_all(f"{f} .cell",
                                          "els => els.map(e => [e.textContent, e.getAttribute('aria-label')])")
        labels = native["labels"]
        expected = [(f"{w:.2f}"[1:] if w < 1 else "1",
                     f"head {h}: position {t} ({labels[t]}) gives {w:.4f} of its attention to "
                     f"position {s} ({labels[s]})")
                    for h, head in enumerate(native["heads"]) for t, row in enumerate(head) for s, w in enumerate(row)]
        assert [tuple(c) for c in cells] == expected
        page.focus(f"{f} .cell >> nth=5")
        assert page.inner_text(f"{f} .figure-values") == expected[5][1]


def test_embeddings(served, browser):
    with chapter(browser, served, "04-parameters") as page:
        f = "#figure-embeddings"
        timed(page, f, lambda: page.select_option(f"{f} select", "a"), lambda: page.select_option(f"{f} select", "e"))
        native, near = explore.embeddings(MODEL), explore.neighbours("e", 5, MODEL)
        assert page.inner_text(f"{f} .figure-values") == "nearest to e in all 16 dimensions (cosine): " + \
            ", ".join(f"{n['label']} {n['cosine']:.4f}" for n in near["nearest"])
        points = page.eval_on_selector_all(f"{f} .point", "els => els.map(e => e.getAttribute('aria-label'))")
        assert points == [f"{l}: {x:.3f}, {y:.3f}" for l, (x, y) in zip(native["labels"], native["points"])]
        xlabel = f"first principal direction ({round(native['variance'][0] * 100)}% of the spread)"
        assert xlabel in page.inner_text(f"{f} .figure-live")
        page.focus(f"{f} .point >> nth=14")  # o, chosen with the keyboard
        page.keyboard.press("Enter")
        settle(page, f)
        assert page.inner_text(f"{f} .figure-values").startswith("nearest to o in")


def test_adam_against_descent(served, browser):
    with chapter(browser, served, "08-adam") as page:
        f = "#figure-valley"
        timed(page, f, lambda: slide(page, f"{f} input[name=lr]", 5), lambda: slide(page, f"{f} input[name=beta1]", -5))
        v = explore.valley(0.15, 0.8, 0.99)
        legend = page.inner_text(f"{f} .figure-values")
        for name, label in (("descent", "gradient descent"), ("adam", "Adam")):
            assert f"{label}: loss {v['final_loss'][name]:.4f} after {len(v['paths'][name]) - 1} steps" in legend
        points = page.eval_on_selector_all(f"{f} polyline.path-adam",
                                           "els => els[0].getAttribute('points').split(' ').length")
        assert points == len(v["paths"]["adam"])


def test_zz_report_the_times():
    """Runs last in this file: the seconds from first interaction to first result, cold and warm."""
    if not TIMES:
        pytest.skip("no figure ran")
    print("\nseconds from interaction to result (cold: Python loads first; warm: loaded): " +
          "; ".join(f"{figure} {cold:.2f} / {warm:.3f}" for figure, (cold, warm) in TIMES.items()))
