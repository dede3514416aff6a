"""The file mkdocs.yml names as its hooks: it hands each MkDocs event to the jobs of tools/hooks/.

MkDocs loads a hook file by path and keeps it for as long as it runs. This one imports the
packages `tools` and `microgpt` from the folder it sits in, the repository root, whatever else
is installed. At the start of every build it imports them afresh if one of their files changed
since the last build, so that under `mkdocs serve` (which watches both folders) a build runs
the code as it is now: the figures of a changed microgpt/, the jobs of a changed tools/.
"""

import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PACKAGES = ("microgpt", "tools")  # microgpt first: the tools import it
SESSION: dict = {}  # what the jobs keep from one build to the next, while MkDocs runs
imported: dict[Path, int] = {}  # the packages' files, with their modification times, as imported


def sources() -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for name in PACKAGES for p in sorted((ROOT / name).rglob("*.py"))}


def fresh() -> None:
    """Import the packages from this checkout, afresh if a file of theirs changed."""
    now = sources()
    if now == imported:
        return
    for name in [n for n in sys.modules if n.split(".")[0] in PACKAGES]:
        del sys.modules[name]
    for name in PACKAGES:
        spec = importlib.machinery.PathFinder.find_spec(name, [str(ROOT)])
        sys.modules[name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    imported.clear()
    imported.update(now)


def jobs():
    hooks = importlib.import_module("tools.hooks")
    hooks.SESSION = SESSION
    return hooks


def on_startup(command, dirty) -> None:
    fresh()
    jobs().run("on_startup", command=command, dirty=dirty)


def on_config(config):
    fresh()
    return jobs().run("on_config", config)


def on_pre_build(config) -> None:
    jobs().run("on_pre_build", config=config)


def on_page_read_source(page, config):
    return jobs().run("on_page_read_source", page=page, config=config)


def on_files(files, config):
    return jobs().run("on_files", files, config=config)


def on_page_markdown(markdown, page, config, files):
    return jobs().run("on_page_markdown", markdown, page=page, config=config, files=files)
