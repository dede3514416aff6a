"""Draw the book's figures (tools/figures.py) at every build, as figures/NAME.svg of the site."""

from __future__ import annotations

from mkdocs.structure.files import File

from tools.figures import FIGURES


def on_files(files, config):
    for name, draw in FIGURES.items():
        files.append(File.generated(config, f"figures/{name}", content=draw()))
    return files
