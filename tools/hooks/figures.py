"""Draw the book's figures (tools/figures.py) at every build, as figures/NAME.svg of the site.

A figure is drawn from tools/, microgpt/ and docs/data/ alone, so while `mkdocs serve` runs,
a rebuild after which none of their files changed reuses the figures it drew last.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

from tools import hooks
from tools.figures import FIGURES

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ["tools", "microgpt", "docs/data"]


def on_files(files, config):
    key = sorted((p.as_posix(), p.stat().st_mtime_ns, p.stat().st_size)
                 for folder in INPUTS for p in (ROOT / folder).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts)
    last = hooks.SESSION.get("figures")
    drawn = last[1] if last and last[0] == key else {name: draw() for name, draw in FIGURES.items()}
    hooks.SESSION["figures"] = key, drawn
    for name, svg in drawn.items():
        files.append(File.generated(config, f"figures/{name}", content=svg))
    return files
