"""The built site: a strict build, file names on tangled blocks, nothing fetched from other hosts."""

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tools import book

ROOT = Path(__file__).resolve().parent.parent
LOADS = {"script": "src", "img": "src", "iframe": "src", "source": "src", "audio": "src", "video": "src",
         "embed": "src", "link": "href", "object": "data"}  # attributes the browser fetches by itself


class Fetches(HTMLParser):
    """The URLs a page makes the browser fetch, and the titles shown on code blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.filenames: list[str] = []
        self._in_filename = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in LOADS and attrs.get(LOADS[tag]):
            if not (tag == "link" and attrs.get("rel") in ("canonical", "alternate")):
                self.urls.append(attrs[LOADS[tag]])
        self._in_filename = tag == "span" and attrs.get("class") == "filename"

    def handle_data(self, data):
        if self._in_filename:
            self.filenames.append(data)
            self._in_filename = False


def parse(page: Path) -> Fetches:
    parser = Fetches()
    parser.feed(page.read_text("utf-8"))
    return parser


def is_remote(url: str) -> bool:
    return bool(re.match(r"^(https?:)?//", url.strip(), re.I))


def test_no_page_fetches_from_another_host(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 15
    remote = {(p.relative_to(site).as_posix(), u) for p in pages for u in parse(p).urls if is_remote(u)}
    assert remote == set()
    for css in site.rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", css.read_text("utf-8")), css


def test_every_tangled_block_shows_its_file_name(site):
    wanted = Counter()
    for block in book.read_book(ROOT / "docs").blocks:
        page = Path(block.origin.doc).relative_to("docs").with_suffix("")
        title = block.target + (f"#{block.chunk}" if block.chunk else "")
        wanted[page.as_posix(), title] += 1
    assert len(wanted) >= 12
    for (page, title), count in wanted.items():
        shown = parse(site / page / "index.html").filenames
        assert shown.count(title) == count, (page, title, shown)


class Continuations(HTMLParser):
    """The links of each "continues" note under a titled block, and the order of the page's ids."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.notes: list[tuple[int, list[tuple[str, str]]]] = []  # (ids seen before it, [(href, text)])
        self._note: list | None = None
        self._href: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.append(attrs["id"])
        if tag == "p" and attrs.get("class") == "tangle-links":
            self._note = []
            self.notes.append((len(self.ids), self._note))
        elif tag == "a" and self._note is not None:
            self._href = attrs["href"]

    def handle_endtag(self, tag):
        if tag == "p":
            self._note = None

    def handle_data(self, data):
        if self._note is not None and self._href is not None:
            self._note.append((self._href, data))
            self._href = None


def test_continuation_notes_say_where_the_file_goes_on(site):
    """Same page: above or below, and truly so; another page: its chapter's title, never this one's."""
    titles = {}
    for doc in sorted([*(ROOT / "docs").glob("[0-9][0-9]-*.md"), *(ROOT / "docs").glob("appendix-*.md")]):
        titles[doc.stem] = next(line[2:].strip() for line in doc.read_text("utf-8").splitlines()
                                if line.startswith("# "))
    checked = 0
    for stem, title in titles.items():
        page = Continuations()
        page.feed((site / stem / "index.html").read_text("utf-8"))
        for seen, links in page.notes:
            for href, text in links:
                checked += 1
                if href.startswith("#"):
                    position = page.ids.index(href[1:])
                    assert text == ("above" if position < seen else "below"), (stem, href, text)
                else:
                    other = href.split("/")[1]
                    assert other != stem and text == titles[other], (stem, href, text)
    assert checked > 20
