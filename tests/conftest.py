"""Fixtures shared by the tests: the built site, and a scratch copy of the repository.

The site is built once per session, by `mkdocs build --strict` in a process of its own, started
as soon as the tests are collected (if any of them needs it), so that it builds on the second
core while the first runs the other tests.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COPIED = ["conftest.py", "mkdocs.yml", "mkdocs_hooks.py", "pyproject.toml", "docs", "microgpt", "tools"]
BUILD = pytest.StashKey[tuple]()  # the build of the site: (process, output folder, log file)


def pytest_collection_finish(session: pytest.Session) -> None:
    needed = any("site" in getattr(item, "fixturenames", ()) for item in session.items)
    if not needed or session.config.option.collectonly:
        return
    out = Path(tempfile.mkdtemp(prefix="microgpt-site-"))
    log = (out.parent / f"{out.name}.log").open("w+", encoding="utf-8")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    build = subprocess.Popen([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out / "site")],
                             cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    session.config.stash[BUILD] = build, out / "site", log

    def clean_up() -> None:
        if build.poll() is None:
            build.kill()
        build.wait()
        log.close()
        os.unlink(log.name)
        shutil.rmtree(out, ignore_errors=True)

    session.config.add_cleanup(clean_up)


@pytest.fixture(scope="session")
def site(request) -> Path:
    """The book built with `mkdocs build --strict` into a temporary folder."""
    build, out, log = request.config.stash[BUILD]
    build.wait(timeout=600)
    log.seek(0)
    output = log.read()
    assert build.returncode == 0, output
    assert "WARNING" not in output, output
    return out


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    """A scratch copy of what the book is built and tested from, for tests that change files."""
    copy = tmp_path_factory.mktemp("copy") / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=ignore)
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy2(source, copy / name)
    if (ROOT / "node_modules").is_dir():
        (copy / "node_modules").symlink_to(ROOT / "node_modules")  # read only: KaTeX and Pyodide
    return copy
