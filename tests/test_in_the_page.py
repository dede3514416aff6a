"""The package runs in the page (docs/js/python.js, runner.js): in headless Chromium against the built
site on 127.0.0.1, every Run button gives the output the book shows, runs do not disturb each other,
Stop and the time limit end what they must and the page works afterwards, and "Train it here" prints
what the native command prints; no request leaves 127.0.0.1 and no console error appears.

Slow (Pyodide takes seconds to load) and needs Chromium, playwright and Pyodide (npm ci);
.ci/run provides all three. The timings it prints are for the report, never asserted."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_browser import SERVED, browser, served  # noqa: F401  (the browser tests' fixtures)

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
MINUTES = 60_000  # ms, for Playwright's timeouts


def watch(page, origin: str) -> dict:
    """Record a page's errors and its requests to any host but ours."""
    seen = {"errors": [], "foreign": []}
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("requestfailed", lambda r: seen["errors"].append(f"{r.url}: {r.failure}"))
    page.on("request", lambda r: r.url.startswith("http") and not r.url.startswith(origin)
            and seen["foreign"].append(r.url))
    return seen


def clean(seen: dict) -> None:
    assert seen["errors"] == [] and seen["foreign"] == []


def open_page(browser, served, path: str):
    page = browser.new_page()
    seen = watch(page, served)
    page.goto(f"{served}/{path}/", wait_until="networkidle")
    page.wait_for_function("document.documentElement.dataset.runButtons === 'ready' && "
                           "document.documentElement.dataset.figures === 'ready'")
    return page, seen


def finished(page, where, minutes: float = 5) -> str:
    """Wait until the element (a selector's first, or a locator's) is no longer running; its data-state."""
    element = page.locator(where).first if isinstance(where, str) else where
    page.wait_for_function("e => e.dataset.state && e.dataset.state !== 'running'", arg=element.element_handle(),
                           timeout=minutes * MINUTES)
    return element.get_attribute("data-state")


def native(*flags: str) -> tuple[str, float]:
    """What `python -m microgpt FLAGS` prints, and the seconds it takes."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "microgpt", *flags], cwd=ROOT, capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stderr
    return done.stdout, time.perf_counter() - started


def train(page, minutes: float = 10, **settings) -> str:
    """Fill in the trainer's settings, train, and return its output once it is over."""
    for name, value in settings.items():
        if name == "engine":
            page.select_option(".train-here select[name=engine]", value)
        else:
            page.fill(f".train-here input[name={name}]", str(value))
    runs = int(page.get_attribute(".train-here", "data-runs") or 0)
    page.click(".train-button")
    page.wait_for_function(f"document.querySelector('.train-here').dataset.runs > {runs}")  # this run's state
    finished(page, ".train-here", minutes)
    return page.inner_text(".train-output")


def examples(page) -> list[dict]:
    """Each Python example of the page: its index, whether it has Run, the note and the output the book shows."""
    return page.evaluate("""() => [...document.querySelectorAll('.md-content .language-python.highlight')]
      .filter(b => !b.querySelector('.filename') && !b.closest('.doc'))
      .map((b, i) => {
        let next = b.nextElementSibling;
        while (next && (next.matches('.run-bar, .run-output, .run-needs'))) next = next.nextElementSibling;
        const shown = next && next.matches('.language-text.no-copy') ? next.textContent : null;
        const note = b.nextElementSibling?.matches('.run-needs') ? b.nextElementSibling.textContent : null;
        const version = next && next.nextElementSibling && next.nextElementSibling.matches('.python-note');
        return {runnable: b.dataset.runnable, needs: b.dataset.needs || null, note, shown, version,
                code: b.querySelector('code').innerText};
      })""")


def test_every_run_button_gives_the_books_output(site, served, browser):
    chapters = sorted(p.parent.name for p in site.glob("*/index.html") if (p.parent / "index.html").exists())
    ran, versioned, notes, timings, problems = 0, 0, [], [], []
    for path in chapters:
        page, seen = open_page(browser, served, path)
        blocks = examples(page)
        bars = page.locator(".run-bar:not(.source-bar)")
        k = 0
        for block in blocks:
            if block["runnable"] == "trainer":  # run by Train it here, in the tests below
                continue
            if block["runnable"] == "no":
                notes.append(f"{path}: needs {block['needs']}")
                assert block["needs"] and re.search(r"\./check (-m '' )?docs/", block["note"]), block
                continue
            assert block["runnable"] == "yes", (path, block["code"][:80])
            bar, output = bars.nth(k), page.locator(".example-output").nth(k)
            k += 1
            bar.evaluate("b => { const d = b.closest('details'); if (d) d.open = true; }")  # a folded solution
            started = time.perf_counter()
            bar.locator("button:has-text('Run')").click()
            try:
                state = finished(page, bar, minutes=4)  # the page stops an example after 2 minutes itself
            except Exception as e:  # noqa: BLE001  (say which example, then go on)
                problems.append(f"{path} #{k}: no end: {bar.inner_text()} ({type(e).__name__})")
                continue
            timings.append((time.perf_counter() - started, f"{path} #{k}"))
            printed = output.inner_text() if output.is_visible() else ""
            ran += 1
            if state != "done":
                problems.append(f"{path} #{k}: {state}: {printed[-300:]}")
            elif block["version"]:  # the page says this output depends on the Python: same shape, not same
                if len(printed.strip().splitlines()) != len(block["shown"].strip().splitlines()):
                    problems.append(f"{path} #{k}: printed\n{printed}\ninstead of (but for the version)\n"
                                    f"{block['shown']}")
                if printed.strip() == block["shown"].strip():
                    problems.append(f"{path} #{k}: marked as depending on the Python version, prints the same")
                versioned += 1
            elif block["shown"] is not None and printed.strip() != block["shown"].strip():
                problems.append(f"{path} #{k}: printed\n{printed}\ninstead of\n{block['shown']}")
        clean(seen)
        page.close()
    timings.sort(reverse=True)
    print(f"\n{ran} examples run in the page ({versioned} whose output depends on the Python version), "
          f"{len(notes)} without a Run button ({'; '.join(notes)}); slowest: "
          + ", ".join(f"{where} {s:.1f} s" for s, where in timings[:5]))
    print("\n\n".join(problems))
    assert problems == []
    assert ran > 50
    optional = {"hypothesis", "numba", "numpy", "torch"}  # the test tools and the extras: nothing else is missing
    assert all(set(note.split(": needs ")[1].split()) <= optional for note in notes), notes


def test_a_training_and_an_example_each_get_their_own_output(served, browser):
    page, seen = open_page(browser, served, "11-run-it")
    expected = page.locator(".md-content .language-text.no-copy").first.inner_text()
    settings = dict(steps=60, samples=20)
    for name, value in settings.items():
        page.fill(f".train-here input[name={name}]", str(value))
    page.click(".train-button")
    page.wait_for_function("document.querySelector('.train-output').textContent.includes('step    3 /')",
                           timeout=5 * MINUTES)
    page.locator(".run-bar button:has-text('Run')").first.click()
    example = finished(page, ".run-bar")
    assert example == "done"
    assert page.locator(".example-output").first.inner_text().strip() == expected.strip()
    assert finished(page, ".train-here") == "done"
    trained = page.inner_text(".train-output")
    command, _ = native("--steps", "60")
    assert trained.strip() == command.strip()  # every step and all 20 samples, nothing of the example
    clean(seen)
    page.close()


def test_stop_and_the_time_limit_end_runs_and_the_page_works_after(served, browser):
    page, seen = open_page(browser, served, "02-tokenizer")
    blocks = [b for b in examples(page) if b["runnable"] == "yes"]
    k = next(i for i, b in enumerate(blocks) if b["shown"])
    code = page.locator(".md-content .language-python.highlight[data-runnable=yes] code").nth(k)
    book, expected = code.inner_text(), blocks[k]["shown"]
    bar, output = page.locator(".run-bar:not(.source-bar)").nth(k), page.locator(".example-output").nth(k)
    code.fill("n = 0\nwhile True:\n    n += 1\n")
    assert bar.locator(".reset-button").is_visible()
    bar.locator("button:has-text('Run')").click()
    page.wait_for_function("e => e.textContent.startsWith('running')",
                           arg=bar.locator(".run-status").element_handle(), timeout=5 * MINUTES)
    bar.locator(".stop-button").click()
    assert finished(page, bar) == "stopped"
    assert "stopped by you" in output.inner_text()
    page.evaluate("window.microgptExampleSeconds = 2")
    bar.locator("button:has-text('Run')").click()
    assert finished(page, bar) == "stopped"
    assert "still running after 2 s" in output.inner_text()
    bar.locator(".reset-button").click()
    assert code.inner_text() == book
    bar.locator("button:has-text('Run')").click()
    assert finished(page, bar) == "done"
    assert output.inner_text().strip() == expected.strip()
    clean(seen)
    page.close()

    page, seen = open_page(browser, served, "11-run-it")
    page.click(".train-button")
    page.wait_for_function("document.querySelector('.train-output').textContent.includes('step    5 /')",
                           timeout=5 * MINUTES)
    page.click(".train-here .stop-button")
    assert finished(page, ".train-here") == "stopped"
    lines = page.inner_text(".train-output").splitlines()
    steps = [line for line in lines if line.startswith("step ")]
    assert 5 <= len(steps) < 1000 and f"stopped at step {len(steps)} / 1000" in lines
    assert len([line for line in lines if line.startswith("sample")]) == 20
    again = train(page, steps=3, samples=2)  # the page works afterwards
    assert again.strip() == native("--steps", "3", "--samples", "2")[0].strip()
    clean(seen)
    page.close()


def test_train_it_here_gives_the_native_command_and_1000_steps(site, served, browser):
    if not (site / "assets" / "pyodide" / "pyodide.asm.wasm").exists():
        pytest.fail("the site has no Pyodide: run npm ci before building")
    page, seen = open_page(browser, served, "11-run-it")
    settings = dict(steps=20, seed=7, temperature=0.8, samples=8, n_embd=8, n_head=2, block_size=8)
    flags = [x for name, value in settings.items() for x in (f"--{name.replace('_', '-')}", str(value))]
    assert train(page, **settings).strip() == native(*flags)[0].strip()
    assert page.inner_text(".train-command").endswith("python -m microgpt " + " ".join(flags))
    train(page, n_embd=10, n_head=4)  # a shape no model can have: Config's one-line reason, no traceback
    assert page.get_attribute(".train-here", "data-state") == "error"
    assert page.inner_text(".train-output").strip() == \
        "ValueError: n_embd (10) must be a multiple of n_head (4): each head takes an equal slice"
    rates = {}
    for engine, steps in (("plain", 20), ("fast", 100)):
        page.reload(wait_until="networkidle")
        out = train(page, steps=steps, engine=engine)
        assert out.strip() == native("--steps", str(steps), "--engine", engine)[0].strip()
        rates[engine] = float(re.search(r"\(([\d.]+) steps/s\)", page.inner_text(".train-progress"))[1])
    page.reload(wait_until="networkidle")
    started = time.perf_counter()
    out = train(page, minutes=20)
    thousand = time.perf_counter() - started
    lines = out.splitlines()
    assert lines[-21] == "--- inference (new, hallucinated names) ---"
    assert [line[:10] for line in lines[-20:]] == [f"sample {i:2d}:" for i in range(1, 21)]
    assert len([line for line in lines if line.startswith("step ")]) == 1000
    clean(seen)
    page.close()
    native_rates = {}
    for engine, steps in (("plain", 20), ("fast", 100)):
        _, short = native("--steps", "1", "--engine", engine, "--samples", "1")
        _, long = native("--steps", str(steps + 1), "--engine", engine, "--samples", "1")
        native_rates[engine] = steps / (long - short)
    print("\nseconds per step, page against native Python (" + sys.version.split()[0] + ") on this machine: " +
          ", ".join(f"{e} {1 / rates[e]:.4f} s against {1 / native_rates[e]:.4f} s "
                    f"({native_rates[e] / rates[e]:.2f}x)" for e in rates) +
          f"; 1000 steps and 20 samples in the page took {thousand:.1f} s from the click")


def test_a_page_nobody_clicks_downloads_under_2_mb(served, browser):
    sizes = {}
    for path in ("11-run-it", "02-tokenizer", "06-attention"):
        page = browser.new_page()
        page.route("**/*", lambda route: route.continue_())  # routing turns the browser's cache off
        SERVED["bytes"] = 0
        page.goto(f"{served}/{path}/", wait_until="networkidle")
        page.wait_for_timeout(500)
        sizes[path] = SERVED["bytes"]
        page.close()
    print("\nbytes served to a page nobody touches: " + ", ".join(f"{p} {b:,}" for p, b in sizes.items()))
    assert max(sizes.values()) < 2_000_000
    assert min(sizes.values()) > 100_000  # the count is real: the theme alone is more


def contrast(page, selector: str) -> float:
    """The contrast ratio of an element's text on the page's background (WCAG's formula)."""
    return page.evaluate("""sel => {
      const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
      const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92
        : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
      const e = document.querySelector(sel);
      if (!e) throw new Error(`nothing matches ${sel}`);
      const bg = getComputedStyle(document.body).backgroundColor;
      const [a, b] = [lum(getComputedStyle(e).color), lum(bg)].sort((x, y) => y - x);
      return (a + 0.05) / (b + 0.05);
    }""", selector)


@pytest.mark.parametrize("scheme", ["default", "slate"])
def test_the_controls_have_aa_contrast(served, browser, scheme):
    page = browser.new_page()
    ratios = {}
    for path, selectors in (("14-how-we-know-it-is-right", (".run-button", ".run-needs", ".run-status")),
                            ("12-from-243-to-199", (".python-note",)),
                            ("11-run-it", (".train-button", ".train-command", ".train-setting span")),
                            ("05-building-blocks", (".figure-control span", ".live-figure .run-button"))):
        page.goto(f"{served}/{path}/", wait_until="networkidle")
        page.add_style_tag(content="* { transition: none !important; }")  # the theme fades colours in
        page.evaluate(f"document.body.setAttribute('data-md-color-scheme', '{scheme}')")  # light or dark
        ratios |= {f"{path} {sel}": contrast(page, sel) for sel in selectors}
    page.close()
    assert min(ratios.values()) >= 4.5, ratios
