"""The project's promises about itself: two commands, CI runs them, one version, a lock, the book order."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import microgpt

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
LOCK = ROOT / "requirements-dev.txt"


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]


def ci_commands() -> list[str]:
    lines = (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
    return [line.split("#")[0].strip() for line in lines]


def test_the_readme_starts_with_two_commands():
    """One runs the program with nothing installed, one sets up and runs the tests."""
    assert readme_commands()[:2] == ["python -m microgpt", "./check"]
    assert os.access(ROOT / "check", os.X_OK)


def test_ci_runs_the_readmes_test_command_then_the_slow_set_and_the_site():
    ci = ci_commands()
    check = [i for i, line in enumerate(ci) if re.fullmatch(r"(\w+=\S+ )*\./check", line)]
    assert len(check) == 1, ci
    assert "MICROGPT_EXTRAS=torch,numpy" in ci[check[0]]  # the extras' tests run in CI
    lines = (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
    slow = [i for i, line in enumerate(lines) if line.startswith("pytest -m slow")]
    # the slow set in two halves: some files, and all but those files; both must pass
    assert [lines[i].split(" >")[0].split(" ||")[0] for i in slow] == [
        'pytest -m slow --durations=15 "${first[@]}"', 'pytest -m slow --durations=15 "${first[@]/#/--ignore=}"']
    assert 'wait "$first_half" || status=$?' in lines and '[ "$status" = 0 ] || exit "$status"' in lines
    assert check[0] < slow[0] < slow[1] < ci.index("mkdocs build --strict")


def test_running_check_again_installs_nothing():
    """Once ./check has set the tree up, a second run finds both locks unchanged and goes straight to pytest."""
    stamps = [ROOT / ".venv" / ".check-installed", ROOT / "node_modules" / ".check-installed"]
    if not all(stamp.exists() for stamp in stamps):
        pytest.skip("this tree was not set up by ./check")
    before = [stamp.stat().st_mtime_ns for stamp in stamps]
    done = subprocess.run([str(ROOT / "check"), "--collect-only", "-q", "tests/test_project.py"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "./check:" not in done.stderr, done.stderr  # it says what it installs: here, nothing
    assert [stamp.stat().st_mtime_ns for stamp in stamps] == before


def test_one_version_read_from_the_package():
    project = PYPROJECT["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "microgpt.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", microgpt.__version__)


def test_metadata_conventions():
    project = PYPROJECT["project"]
    assert project["name"] == "microgpt-explained"  # "microgpt" on PyPI is another project
    assert project["license"] == "MIT"  # an SPDX expression, not the deprecated table
    assert not any("License ::" in c for c in project["classifiers"])  # PEP 639: the expression says it
    assert project["urls"] and project["scripts"] == {"microgpt": "microgpt.__main__:main"}
    assert set(project["optional-dependencies"]) == {"torch", "numpy", "numba"}  # what users install; tools are groups
    assert set(PYPROJECT["dependency-groups"]) == {"docs", "test", "dev"}


def requirement_name(line: str) -> str:
    return re.split(r"[<>=!~\[;\s]", line, maxsplit=1)[0].lower().replace("_", "-")


def test_the_lock_pins_every_tool_of_the_dev_group():
    lines = LOCK.read_text("utf-8").splitlines()
    assert lines[0].startswith("# ") and re.fullmatch(r"# python: 3\.\d+", lines[1])
    pins = dict(line.split("==") for line in lines if not line.startswith("#"))
    assert all(re.fullmatch(r"[\w.+]+", version) for version in pins.values()), pins
    pinned = {requirement_name(name) for name in pins}
    groups = PYPROJECT["dependency-groups"]
    wanted = {requirement_name(r) for group in ("docs", "test", "dev") for r in groups[group] if isinstance(r, str)}
    assert wanted <= pinned, wanted - pinned
    assert {"pip", "setuptools"} <= pinned  # ./check installs the package with these, without isolation


def test_nav_lists_the_chapters_in_book_order_then_the_appendices():
    """The tangler reads docs/ in file-name order; the site must show the pages in that order."""
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text("utf-8").replace("!!python", "python"))["nav"]

    def pages(item):
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for value in item.values():
                yield from pages(value)
        else:
            for value in item:
                yield from pages(value)

    listed = [p for p in pages(nav) if re.match(r"\d\d-|appendix-", p)]
    on_disk = sorted(p.name for p in (ROOT / "docs").glob("*.md") if re.match(r"\d\d-|appendix-", p.name))
    assert listed == on_disk


def test_the_program_needs_nothing_but_the_standard_library():
    """python -S: no site-packages at all, only the standard library and this folder."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-S", "-m", "microgpt", "--steps", "1", "--samples", "2", "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.split()) == 2
