"""The book's MkDocs build, one job per module; mkdocs_hooks.py (named in mkdocs.yml) runs them.

A job is a module of this package with functions named for the MkDocs events it handles
(`on_pre_build(config)`, `on_files(files, config)`, `on_page_markdown(markdown, page, config,
files)`, ...). Every job's handler of an event runs in the order of JOBS; where the event
passes a value along (files, markdown), each handler gets what the one before returned. A new
job is a new module and one line in JOBS.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

JOBS = [
    "check",  # lint the chapters, compare microgpt/ with them: drift fails the strict build
    "assets",  # KaTeX, Pyodide and the zipped package, copied into the site
    "figures",  # the figures of tools/figures.py, drawn at every build
    "macros",  # {{ expression }} in prose, filled in from the recorded runs
    "progression",  # the progression's downloads, diffs between steps, sweep tables, microgpt.py annotated
    "experiments",  # chapter 19's table of runs, from docs/data/experiments-run.json
    "output_blocks",  # no copy button on the output shown under an example
    "api_page",  # the API reference, one entry per public name of the package
    "api_links",  # the first mention of a public name in a chapter links to its entry
    "continuations",  # under each block of a file built by several, where the file goes on
    "page_blocks",  # examples the page cannot run get a note instead of Run; version-dependent outputs say so
]


@dataclass
class Build:
    """What the jobs share during one build: read once, by the check job, before any page."""

    docs: Path = Path("docs")
    book: object = None  # the chapters, read (tools.book.Book)
    files: dict = field(default_factory=dict)  # what the book tangles to, file by file
    sources: dict | None = None  # under mkdocs serve, a page's Markdown when it is not what is on disk


BUILD = Build()
SESSION: dict = {}  # what outlives one build while MkDocs runs: mkdocs_hooks.py keeps it


def jobs() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{name}") for name in JOBS]


def run(event: str, *value, **kwargs):
    """Call every job's handler of `event`; pass the event's value (if any) from one to the next.
    An event with no value (on_page_read_source) returns the first answer that is not None."""
    for job in jobs():
        handler = getattr(job, event, None)
        if handler is None:
            continue
        result = handler(*value, **kwargs)
        if result is not None:
            if not value:
                return result
            value = (result,)
    return value[0] if value else None
