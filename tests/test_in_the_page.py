"""The package runs in the page: Run on an example, and "Train it here" for 20 steps, in headless
Chromium against the site on 127.0.0.1, give what native Python gives, to the printed digits,
with no request leaving 127.0.0.1 and no console error.

Slow (Pyodide takes seconds to load) and needs Chromium, playwright and Pyodide (npm ci);
.ci/run provides all three."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_browser import SERVED, browser, served  # noqa: F401  (the browser tests' fixtures)

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def watch(page, origin: str) -> dict:
    """Record a page's errors and its requests to any host but ours."""
    seen = {"errors": [], "foreign": []}
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("requestfailed", lambda r: seen["errors"].append(f"{r.url}: {r.failure}"))
    page.on("request", lambda r: r.url.startswith("http") and not r.url.startswith(origin)
            and seen["foreign"].append(r.url))
    return seen


def train_here_source() -> str:
    """The code of the block that "Train it here" runs, as the chapter shows it."""
    text = (ROOT / "docs" / "11-run-it.md").read_text("utf-8")
    return text.split("```python\nimport asyncio", 1)[1].split("```", 1)[0].replace(
        "if sys.platform", "if False and sys.platform").join(["import asyncio", ""])


def test_train_it_here_gives_the_native_losses(site, served, browser):
    if not (site / "assets" / "pyodide" / "pyodide.asm.wasm").exists():
        pytest.fail("the site has no Pyodide: run npm ci before building")
    page = browser.new_page()
    seen = watch(page, served)
    SERVED["bytes"] = 0
    page.goto(f"{served}/11-run-it/", wait_until="networkidle")
    before_click = SERVED["bytes"]
    page.fill(".train-here .train-steps", "20")
    started = time.perf_counter()
    page.click(".train-here button:has-text('Train it here')")
    page.wait_for_function("document.querySelector('.train-output').textContent.includes('sample 10:')",
                           timeout=600_000)
    in_page = time.perf_counter() - started
    text = page.inner_text(".train-output")
    load = page.evaluate("window.microgptLoadSeconds")
    after_click = SERVED["bytes"]
    page.close()
    steps = [line for line in text.splitlines() if line.startswith("step ")]
    code = train_here_source() + "\nasyncio.run(train_here(20, 10))\n"
    native_started = time.perf_counter()
    native = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    native_seconds = time.perf_counter() - native_started
    assert native.returncode == 0, native.stderr
    assert text.splitlines() == native.stdout.splitlines()  # the same losses and the same names
    command = subprocess.run([sys.executable, "-m", "microgpt", "--steps", "20", "--samples", "10"],
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert steps == [line for line in command.stdout.splitlines() if line.startswith("step ")]
    assert len(steps) == 20
    assert seen["errors"] == [] and seen["foreign"] == []
    print(f"\nPyodide loaded in {load:.1f} s; 20 steps and 10 samples took {in_page - load:.1f} s in the page "
          f"against {native_seconds:.1f} s in native Python (start-up included); the page downloaded "
          f"{before_click:,} bytes before the click and {after_click:,} in all")
    assert before_click < 2_000_000


def test_run_button_runs_an_example(site, served, browser):
    page = browser.new_page()
    seen = watch(page, served)
    page.goto(f"{served}/02-tokenizer/", wait_until="networkidle")
    block = page.locator(".md-content .language-python.highlight").first
    expected = page.locator(".md-content .language-text.highlight").first.inner_text()
    page.locator(".run-bar button").first.click()
    output = page.locator(".run-output").first
    page.wait_for_function("document.querySelector('.run-output').textContent.trim().length > 0 && "
                           "!document.querySelector('.run-output').textContent.startsWith('running')",
                           timeout=300_000)
    page.wait_for_function("!document.querySelector('.run-bar button').disabled", timeout=300_000)
    assert output.inner_text().strip() == expected.strip(), block.inner_text()
    assert seen["errors"] == [] and seen["foreign"] == []
    page.close()


def test_stop_ends_training_and_still_samples(served, browser):
    page = browser.new_page()
    seen = watch(page, served)
    page.goto(f"{served}/11-run-it/", wait_until="networkidle")
    page.fill(".train-here .train-steps", "1000")
    page.click(".train-here button:has-text('Train it here')")
    page.wait_for_function("document.querySelector('.train-output').textContent.includes('step    3 /')",
                           timeout=300_000)
    page.click(".train-here button:has-text('Stop')")
    page.wait_for_function("document.querySelector('.train-output').textContent.includes('sample 10:')",
                           timeout=300_000)
    steps = [line for line in page.inner_text(".train-output").splitlines() if line.startswith("step ")]
    page.close()
    assert 3 <= len(steps) < 1000
    assert seen["errors"] == [] and seen["foreign"] == []
