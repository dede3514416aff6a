"""Link the first mention of each public name in a chapter's prose to its API reference entry."""

from __future__ import annotations

import re

from tools.book import read_chapter
from tools.hooks.api_page import NAMES

GENERIC = {"run", "main", "save", "load", "step", "parser", "say", "error", "update", "close", "matrix"}
LINKS: dict[str, str] = {}  # name as written in prose -> anchor on the API page, set once per build


def on_pre_build(config) -> None:
    LINKS.clear()
    LINKS.update(linkable(NAMES))


def on_page_markdown(markdown: str, page, config, files) -> str:
    if not re.match(r"\d\d-", page.file.src_uri) or not LINKS:
        return markdown
    return api_links(markdown, f"docs/{page.file.src_uri}", LINKS)


def linkable(names: list) -> dict[str, str]:
    """Public names worth linking from prose, with their anchors on the API page."""
    links = {}
    for module, name, _, _ in names:
        short = name.split(".")[-1]
        if short.startswith("_") or short in GENERIC or module.endswith("legacy"):
            continue
        links.setdefault(name, f"{module}.{name}")
        if "." not in name:
            links.setdefault(short, f"{module}.{name}")
    return links


def api_links(markdown: str, doc: str, names: dict[str, str]) -> str:
    """Link the first mention of each name in the prose of `markdown` (not in code, headings, tables)."""
    mention = re.compile(r"(?<![\[\w])`(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
                         + r")`(?![\]\w(])")
    linked = set()

    def link(m: re.Match) -> str:
        if m[1] in linked:
            return m[0]
        linked.add(m[1])
        return f"[`{m[1]}`](api.md#{names[m[1]]})"

    chapter = read_chapter(doc, markdown)
    lines = chapter.lines
    for k, line in chapter.prose():
        if not line.lstrip().startswith(("#", "<", "|")):
            lines[k] = mention.sub(link, line)
    return chapter.text()
