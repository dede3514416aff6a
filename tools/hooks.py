"""MkDocs hooks: the build fails (under --strict) when the book and the package disagree."""

from __future__ import annotations

import logging
from pathlib import Path

from tangle import generate, stale  # MkDocs loads hooks with their own folder on sys.path

log = logging.getLogger("mkdocs.hooks.tangle")


def on_pre_build(config) -> None:
    """Lint the chapters and check microgpt/ against them before anything is rendered."""
    docs = Path(config["docs_dir"])
    files, errors = generate(docs)
    for message in errors + stale(files, docs.parent):
        log.warning(message.splitlines()[0] + " (python tools/tangle.py --check shows more)")
