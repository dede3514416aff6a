"""Every page fits, at 1280 and 390 px wide, in the light and the dark scheme, measured in headless
Chromium on the built site:

- at 1280 px no code block, output, formula or table is cut off or scrolls sideways;
- at 390 px the page itself never scrolls sideways, and a formula or table wider than the column
  scrolls inside its own box with its left edge in view (nothing is clipped);
- the smallest text of every figure is drawn at least 9 px high, at both widths;
- no math is left untypeset anywhere in the prose or the captions;
- every button, input and continuation note has a WCAG AA contrast against what is behind it: 4.5:1
  for text, 3:1 for a control that shows only an icon (the copy button);
- a continuation note under a titled block says where the file goes on: "above" or "below" on the
  same page, the chapter's name for another page, never the page's own name.

Slow, and needs Chromium and playwright, like the other browser tests.
"""

from __future__ import annotations

import pytest

from test_browser import browser, served  # noqa: F401  (the browser tests' fixtures)

pytestmark = pytest.mark.slow

WIDTHS = (1280, 390)
SCHEMES = ("light", "dark")
MIN_FIGURE_TEXT_PX = 9
MIN_CONTRAST = 4.5

MEASURE = """async (wide) => {
  const problems = [];
  const content = document.querySelector('.md-content');
  const say = (what, el, detail) => problems.push(
    `${what}: ${(el.textContent || el.getAttribute('src') || '').trim().split('\\n')[0].slice(0, 50)} (${detail})`);
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth + 1) problems.push(`the page scrolls sideways: ${root.scrollWidth} px`);

  // Code blocks and outputs: at 1280 px they fit; on a phone they may scroll in their own box.
  for (const code of content.querySelectorAll('pre > code')) {
    if (wide && code.scrollWidth > code.clientWidth + 1) say('code cut off', code, `${code.scrollWidth} > ${code.clientWidth} px`);
  }
  // Display formulas and tables: fit at 1280 px; elsewhere they scroll with nothing clipped.
  const boxes = [...content.querySelectorAll('div.arithmatex')].map(b => [b, b.querySelector('.katex-html')])
    .concat([...content.querySelectorAll('table')].map(t => [t.closest('.md-typeset__scrollwrap') || t.parentElement, t]));
  for (const [box, inner] of boxes) {
    if (!inner) continue;
    const b = box.getBoundingClientRect(), i = inner.getBoundingClientRect();
    if (i.left < b.left - 1) say('clipped on the left', inner, `${Math.round(b.left - i.left)} px out of view`);
    if (box.scrollWidth > box.clientWidth + 1) {
      if (wide) say('scrolls sideways at full width', inner, `${box.scrollWidth} > ${box.clientWidth} px`);
      else if (!['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) say('clipped', inner, 'overflow hidden');
    }
  }
  // Math the typesetter did not reach: TeX delimiters left in text outside code.
  const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest('code, pre, .katex, script, style, .highlight')) continue;
    if (/\\$[^$\\s][^$]*\\$|\\\\\\(|\\\\\\[/.test(n.textContent)) say('raw math', n.parentElement, n.textContent.trim().slice(0, 60));
  }
  // Figures: the smallest text of each SVG, at the size the page draws it.
  for (const img of content.querySelectorAll('img[src$=".svg"]')) {
    const svg = new DOMParser().parseFromString(await (await fetch(img.src)).text(), 'image/svg+xml').documentElement;
    const view = (svg.getAttribute('viewBox') || '').split(/[\\s,]+/).map(Number);
    const units = view.length === 4 ? view[2] : parseFloat(svg.getAttribute('width'));
    const scale = img.getBoundingClientRect().width / units;
    let smallest = Infinity;
    for (const el of svg.querySelectorAll('text, g, svg')) {
      const style = el.getAttribute('style') || '';
      const m = style.match(/font(?:-size)?:\\s*([\\d.]+)px/) || [null, el.getAttribute('font-size')];
      if (m[1] && (el.tagName === 'text' || el.querySelector('text'))) smallest = Math.min(smallest, parseFloat(m[1]));
    }
    if (smallest === Infinity) smallest = 16;  // the SVG default
    if (smallest * scale < %(min_text)s) say('figure text too small', img, `${(smallest * scale).toFixed(1)} px`);
  }
  // Contrast of the controls and of the continuation notes, against the first opaque background.
  const rgba = (c) => (c.match(/[\\d.]+/g) || []).map(Number).concat([1]).slice(0, 4);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const backdrop = (el) => {
    for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor); if (c[3] > 0.5) return c; }
    return rgba(getComputedStyle(document.body).backgroundColor);
  };
  const blend = (fg, bg) => fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
  for (const el of content.querySelectorAll('button, input, select, textarea, .tangle-links')) {
    if (!el.offsetParent) continue;  // not shown
    const bg = backdrop(el), fg = blend(rgba(getComputedStyle(el).color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05), text = el.textContent.trim() || el.value;
    if (ratio < (text ? %(min_contrast)s : 3)) say('contrast', el, `${ratio.toFixed(2)}:1 (${el.className})`);
  }
  // Continuation notes say where they go.
  const title = document.querySelector('.md-content h1').textContent.replace('¶', '').trim();
  for (const note of content.querySelectorAll('.tangle-links')) {
    for (const a of note.querySelectorAll('a')) {
      const samePage = new URL(a.href).pathname === location.pathname;
      if (a.textContent.trim() === title) say('a note names its own page', note, a.textContent);
      if (samePage && !/above|below/.test(a.textContent)) say('a same-page link that does not say above or below', note, a.textContent);
    }
  }
  return problems;
}""" % {"min_text": MIN_FIGURE_TEXT_PX, "min_contrast": MIN_CONTRAST}


def pages(site) -> list[str]:
    return sorted(p.relative_to(site).parent.as_posix() for p in site.rglob("index.html"))


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits(site, served, browser, width, scheme, tmp_path):
    problems, checked = [], 0
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(color_scheme=scheme)
    page.add_init_script("localStorage.clear()")  # follow the scheme, not a palette stored by an earlier page
    for path in pages(site):
        page.goto(f"{served}/{'' if path == '.' else path + '/'}", wait_until="networkidle")
        page.wait_for_timeout(150)  # KaTeX typesets on material's document$, just after load
        wanted = "slate" if scheme == "dark" else "default"  # material follows the media query
        page.wait_for_function(f"document.body.getAttribute('data-md-color-scheme') === '{wanted}'",
                               timeout=10_000)
        problems += [f"{path or 'home'}: {p}" for p in page.evaluate(MEASURE, width >= 1280)]
        checked += 1
    page.close()
    print(f"\n{checked} pages at {width} px, {scheme}: {len(problems)} problems")
    assert checked >= 15
    assert problems == [], "\n".join(problems)
