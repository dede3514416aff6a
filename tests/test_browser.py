"""Every page of the built site in headless Chromium: no error, no failed or foreign request,
all math typeset, every image loaded, and search finds the chapter on softmax.

Needs Debian's chromium (/usr/bin/chromium) and the playwright package (.ci/run installs both);
it is marked slow because it opens every page, and runs in CI with the other slow tests."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]  # any other host fails, loudly

pytestmark = pytest.mark.slow


SERVED = {"bytes": 0, "paths": []}  # what the site's server has sent, page and worker requests alike


class Counting(http.server.SimpleHTTPRequestHandler):
    """A static file server that counts what it sends."""

    def copyfile(self, source, outputfile):
        data = source.read()
        SERVED["bytes"] += len(data)
        SERVED["paths"].append(self.path)
        outputfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(Counting, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright: pip install playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, args=FLAGS,
                                                       headless=True, viewport={"width": 1280, "height": 900})
        yield context
        context.close()


def visit(browser, url: str, origin: str) -> dict:
    """Open one page and report what went wrong on it."""
    report = {"errors": [], "failed": [], "foreign": [], "requests": 0}
    page = browser.new_page()
    page.on("console", lambda m: m.type == "error" and report["errors"].append(m.text))
    page.on("pageerror", lambda e: report["errors"].append(str(e)))
    page.on("requestfailed", lambda r: report["failed"].append(f"{r.url} ({r.failure})"))

    def on_request(request):
        report["requests"] += 1
        if urlparse(request.url).scheme in ("http", "https", "ws", "wss") and \
                not request.url.startswith(origin):
            report["foreign"].append(request.url)

    def on_response(response):
        if response.status >= 400:
            report["failed"].append(f"{response.url} (HTTP {response.status})")

    page.on("request", on_request)
    page.on("response", on_response)
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(200)  # KaTeX typesets on material's document$, just after load
    report["raw_math"] = page.eval_on_selector_all(
        ".arithmatex", "els => els.filter(e => !e.querySelector('.katex')).map(e => e.textContent)")
    report["math"] = page.eval_on_selector_all(".arithmatex .katex", "els => els.length")
    report["broken_images"] = page.eval_on_selector_all(
        "img", "els => els.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
    report["images"] = page.eval_on_selector_all("img", "els => els.length")
    report["page"] = page
    return report


def test_every_page_loads_cleanly(site, served, browser, tmp_path):
    pages = sorted(p.relative_to(site).parent.as_posix() for p in site.rglob("index.html"))
    assert len(pages) >= 15
    totals = {"requests": 0, "math": 0, "images": 0}
    problems = []
    for path in pages:
        url = f"{served}/{'' if path == '.' else path + '/'}"
        report = visit(browser, url, served)
        name = "home" if path == "." else path.replace("/", "_")
        report["page"].screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
        report["page"].close()
        for key in totals:
            totals[key] += report[key]
        for key in ("errors", "failed", "foreign", "raw_math", "broken_images"):
            problems += [f"{path}: {key}: {item}" for item in report[key]]
    print(f"\n{len(pages)} pages, {totals['requests']} requests, {totals['math']} formulas, "
          f"{totals['images']} images, {len(problems)} problems; screenshots in {tmp_path}")
    assert problems == []
    assert totals["math"] > 50


def test_search_finds_softmax(served, browser):
    page = browser.new_page()
    page.goto(f"{served}/", wait_until="networkidle")
    page.keyboard.press("s")  # material's shortcut to the search box
    page.keyboard.type("softmax")
    page.wait_for_selector(".md-search-result__item", timeout=15000)
    links = page.eval_on_selector_all(".md-search-result__item a", "els => els.map(a => a.href)")
    page.close()
    assert any("05-building-blocks" in link for link in links), links
