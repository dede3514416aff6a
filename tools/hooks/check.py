"""Lint the chapters and compare microgpt/ with them, before anything is rendered.

Every lint error and every difference between the package and the book is a warning, so
`mkdocs build --strict` fails on it. The book read here is what the other jobs use.
"""

from __future__ import annotations

import logging
from pathlib import Path

from tools.hooks import BUILD
from tools.book import read_book
from tools.tangle import render, stale, tangle

log = logging.getLogger("mkdocs.hooks.check")


def on_pre_build(config) -> None:
    BUILD.docs = Path(config["docs_dir"])
    BUILD.book = read_book(BUILD.docs)
    BUILD.files = {target: render(body) for target, body in tangle(BUILD.book).items()}
    for message in BUILD.book.errors + stale(BUILD.files, BUILD.docs.parent):
        log.warning(message.splitlines()[0] + " (python -m tools.tangle --check shows more)")
