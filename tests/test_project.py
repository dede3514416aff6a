"""The project's promises about itself: CI runs the README's commands, the nav is the book order."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]


def ci_commands() -> list[str]:
    lines = (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
    return [line.split("#")[0].strip() for line in lines]


def test_ci_runs_the_readmes_set_up_and_test_command():
    readme, ci = readme_commands(), ci_commands()
    for command in ("python3 -m venv .venv && . .venv/bin/activate", "pip install -e '.[dev]'", "npm ci",
                    "pytest"):
        assert command in readme, command
        assert command in ci, command
    assert ci.index("pytest") < ci.index("pytest -m slow") < ci.index("mkdocs build --strict")


def test_nav_lists_the_chapters_in_book_order():
    """The tangler reads chapters in file-name order; the site must show them in that order."""
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

    listed = [p for p in pages(nav) if re.match(r"\d\d-", p)]
    on_disk = sorted(p.name for p in (ROOT / "docs").glob("[0-9][0-9]-*.md"))
    assert listed == on_disk
