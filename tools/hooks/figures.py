"""Draw the book's figures (tools/figures.py) at every build, as figures/NAME.svg of the site.

A figure is drawn from tools/, microgpt/ and docs/data/ alone, so while `mkdocs serve` runs,
a rebuild after which none of their files changed reuses the figures it drew last, and one
after which the book's code no longer runs (a broken hand edit of microgpt/) keeps them too.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mkdocs.structure.files import File

from tools import hooks
from tools.hooks.check import shown

log = logging.getLogger("mkdocs.hooks.figures")
ROOT = Path(__file__).resolve().parents[2]
INPUTS = ["tools", "microgpt", "docs/data"]


def on_files(files, config):
    key = sorted((p.as_posix(), p.stat().st_mtime_ns, p.stat().st_size)
                 for folder in INPUTS for p in (ROOT / folder).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts)
    last = hooks.SESSION.get("figures")
    if last and last[0] == key:
        drawn = last[1]
    else:
        try:
            from tools.figures import FIGURES  # it runs the book's code: imported here, where a failure is reported

            drawn = {name: draw() for name, draw in FIGURES.items()}
        except Exception as e:  # the book's code does not run: say so in one line
            problem = f"cannot draw the figures: {type(e).__name__}: {e}"
            if not (hooks.SESSION.get("serve") and last):
                log.warning(problem)
                return files
            shown.error(f"{problem}; the figures are those of the last good build")
            drawn = last[1]
    hooks.SESSION["figures"] = key, drawn
    for name, svg in drawn.items():
        files.append(File.generated(config, f"figures/{name}", content=svg))
    return files
