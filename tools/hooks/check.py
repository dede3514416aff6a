"""Lint the chapters and compare microgpt/ with them, before anything is rendered.

`mkdocs build`: every lint error and every difference between the package and the book is a
warning, so `mkdocs build --strict` fails on it.

`mkdocs serve`: saving a chapter tangles the book into microgpt/ before the pages are built. If
the book does not tangle, or a file of microgpt/ holds a change the book did not make (a hand
edit), nothing is written, the error is shown in the terminal, naming docs/FILE.md:LINE or the
file, and the site is built again from the last chapters that tangled: the server goes on serving
the last good build. A file of microgpt/ is overwritten only when nothing is lost: when it is what
this session last tangled, or what git has committed. (Those errors are shown, not counted as
strict-mode warnings: a counted warning would make the server wait, serving nothing, for a build
without one.)
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from mkdocs.exceptions import PluginError

from tools import hooks
from tools.book import read_book
from tools.hooks import BUILD
from tools.tangle import Refused, changes, compare, render, stale, tangle, text_of, write

log = logging.getLogger("mkdocs.hooks.check")
shown = logging.getLogger("microgpt.serve")  # outside "mkdocs": shown, not counted by --strict
if not shown.handlers:
    shown.addHandler(logging.StreamHandler())
    shown.handlers[0].setFormatter(logging.Formatter("ERROR   -  %(message)s"))  # as MkDocs shows errors
    shown.propagate = False
KEPT = "until this is fixed, the site stays the last build that tangled"


def on_startup(command: str, dirty: bool) -> None:
    hooks.SESSION["serve"] = command == "serve"


def on_pre_build(config) -> None:
    BUILD.docs = Path(config["docs_dir"])
    BUILD.book = read_book(BUILD.docs)
    BUILD.files = {target: render(body) for target, body in tangle(BUILD.book).items()}
    BUILD.sources = None
    if not hooks.SESSION.get("serve"):
        for message in BUILD.book.errors + stale(BUILD.files, BUILD.docs.parent):
            log.warning(message.splitlines()[0] + " (python -m tools.tangle --check shows more)")
        return
    problem = retangle(BUILD.book.errors, BUILD.files, BUILD.docs.parent)
    good = hooks.SESSION.get("good")
    if problem and not good:
        raise PluginError(problem)  # the first build: there is no good build to go on serving
    if problem:
        for line in f"{problem}\n{KEPT}".splitlines():
            shown.error(line)
        BUILD.book, BUILD.files, BUILD.sources = good
    else:
        hooks.SESSION["good"] = (BUILD.book, BUILD.files, {c.doc: c.text() for c in BUILD.book.chapters})


def on_page_read_source(page, config) -> str | None:
    """Under mkdocs serve, after a chapter that does not tangle: the page of the last good build."""
    return BUILD.sources.get(f"docs/{page.file.src_uri}") if BUILD.sources else None


def retangle(errors: list[str], files: dict, root: Path) -> str | None:
    """Write the book into microgpt/: all of it, or (returning why) none of it."""
    if errors:
        return "\n".join(errors)
    last = hooks.SESSION.setdefault("tangled", {})  # what this session last tangled, file by file
    try:
        new = changes(files, root)
        edited = [target for target in new if not replaceable(root, target, last.get(target))]
        if edited:
            return "\n".join(hand_edit(root, target, files.get(target), target in last) for target in edited) + (
                "\nThe book is the source, and mkdocs serve overwrites only what it wrote: make the change in "
                "the chapter and undo it in the file, or take the book's version with python -m tools.tangle")
        write(new, files, root)
    except Refused as e:
        return str(e)
    hooks.SESSION["tangled"] = {target: text_of(lines) for target, lines in files.items()}
    for target, text in new.items():
        log.info(f"{'tangled' if text is not None else 'deleted'} {target}")
    return None


def replaceable(root: Path, target: str, last: str | None) -> bool:
    """Whether a file of the package can be replaced without losing anything."""
    path = root / target
    if not path.exists():
        return True
    data = path.read_bytes()
    if last is not None and data == last.encode("utf-8"):
        return True
    try:
        committed = subprocess.run(["git", "show", f"HEAD:./{target}"], cwd=root, capture_output=True)
    except OSError:  # no git
        return False
    return committed.returncode == 0 and committed.stdout == data


def hand_edit(root: Path, target: str, lines: list | None, written: bool) -> str:
    """One line: which file holds a change the book did not make, and where the book has that line."""
    how = "was changed by hand" if written else "is neither what this session tangled nor what git has committed"
    if lines is None:
        return f"{target} {how}, and no chapter produces it any more: it is not deleted"
    report = compare(target, (root / target).read_text("utf-8", errors="replace"), lines) or ""
    line, _, owner = report.splitlines()[1].strip().partition(": ") if report.count("\n") else (target, "", "")
    return f"{line} {how}, and is not overwritten{': ' if owner else ''}{owner}"
