"""No broken internal link or anchor anywhere in the built site."""

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse


class Anchors(HTMLParser):
    """The ids a page defines and the hrefs it links to."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag in ("a", "link") and attrs.get("href"):
            self.hrefs.append(attrs["href"])


def read(page: Path) -> Anchors:
    parser = Anchors()
    parser.feed(page.read_text("utf-8"))
    return parser


def target_file(site: Path, url: str) -> Path:
    path = site / unquote(urlparse(url).path).lstrip("/")
    return path / "index.html" if path.is_dir() or not path.suffix else path


def test_every_internal_link_and_anchor_resolves(site):
    pages = {p: read(p) for p in site.rglob("*.html")}
    checked, broken = 0, []
    for page, parsed in pages.items():
        base = "/" + page.relative_to(site).as_posix()
        for href in parsed.hrefs:
            if urlparse(href).scheme in ("http", "https", "mailto") or href.startswith("//"):
                continue
            url = urljoin(base, href)
            target = target_file(site, url)
            checked += 1
            if not target.exists():
                broken.append(f"{base}: {href} (no {target.relative_to(site)})")
                continue
            fragment = unquote(urlparse(url).fragment)
            if fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else read(target).ids
                if fragment not in ids:
                    broken.append(f"{base}: {href} (no #{fragment} there)")
    assert checked > 500
    assert broken == []
