"""Fill in `{{ expression }}` in a chapter with a number from the recorded runs in docs/data/.

Prose never types a result by hand: `{{ reference.num_params:, }}` gives 4,192. The expression
is evaluated over every docs/data/NAME-run.json, as NAME (with - made _), with a few functions.
"""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.macros")
MACRO = re.compile(r"\{\{\s*(.+?)\s*\}\}")
FUNCTIONS = {"len": len, "min": min, "max": max, "sum": sum, "round": round, "abs": abs, "log": math.log}
DATA: dict = {}  # the recorded runs, read once per build


class Data(dict):
    """Recorded run data with attribute access: reference.losses[-1]."""

    def __getattr__(self, name):
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(name) from None
        return Data(value) if isinstance(value, dict) else value


def recorded(docs: Path) -> dict:
    """Every docs/data/NAME.json that is a run record, as NAME with - made _."""
    return {p.stem.replace("-", "_").removesuffix("_run"): Data(json.loads(p.read_text("utf-8")))
            for p in sorted((docs / "data").glob("*-run.json"))}


def number(expression: str, data: dict) -> str:
    """The text of `value` or `value:format` evaluated over the recorded data."""
    value, _, spec = expression.rpartition(":") if re.search(r":[^\]]*$", expression) else (expression, "", "")
    return format(eval(value, {"__builtins__": FUNCTIONS}, data), spec)


def on_pre_build(config) -> None:
    DATA.clear()
    DATA.update(recorded(Path(config["docs_dir"])))


def on_page_markdown(markdown: str, page, config, files) -> str:
    def fill(m: re.Match) -> str:
        try:
            return number(m[1], DATA)
        except Exception as e:  # a typo in a chapter: say where, fail the strict build
            log.warning(f"{page.file.src_uri}: cannot fill in {{{{ {m[1]} }}}}: {type(e).__name__}: {e}")
            return m[0]

    return MACRO.sub(fill, markdown)
