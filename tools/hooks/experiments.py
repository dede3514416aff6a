"""Chapter 19's table of experiments, from docs/data/experiments-run.json (python -m tools.experiments).

In a page, the comment `<!-- experiments table -->` becomes a table with a row per recorded run: the
flags that repeat it (after the common prefix the chapter gives), its size, its training and
validation losses, the gap between them, its seconds and the names it sampled.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.experiments")
ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "docs" / "data" / "experiments-run.json"
MARK = re.compile(r"^<!-- experiments table -->$", re.M)


def prefix(record: dict) -> str:
    """The start every run's command shares."""
    return f"python -m microgpt --data names --engine {record['engine']} --samples {record['samples']} "


def table(record: dict) -> str:
    """The Markdown table of the recorded runs."""
    rows = ["| flags | params | train | val | gap | seconds | names |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in record["runs"]:
        rows.append(f"| {flags(r['command'].removeprefix(prefix(record)))} | {r['num_params']:,} | {r['train_loss']:.4f} | {r['val_loss']:.4f} | "
                    f"{r['val_loss'] - r['train_loss']:+.4f} | {r['seconds']:.2f} | {', '.join(r['samples'])} |")
    return "\n".join(rows)


def flags(text: str) -> str:
    """Each flag with its value as code that does not wrap: a narrow cell breaks between flags only."""
    words = text.split()
    return " ".join(f'<code style="white-space: nowrap">{flag} {value}</code>'
                    for flag, value in zip(words[::2], words[1::2]))


def on_page_markdown(text: str, page, config, files) -> str:
    if not MARK.search(text):
        return text
    if not RECORD.exists():
        log.warning(f"{page.file.src_uri}: no {RECORD.relative_to(ROOT)}: run python -m tools.experiments")
        return text
    return MARK.sub(lambda m: table(json.loads(RECORD.read_text("utf-8"))), text)
