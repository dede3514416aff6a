"""The progression's pages: downloads, the diff between steps, sweep tables, microgpt.py annotated.

- on_files: each program of microgpt/progression/ as downloads/FILE.py, and the last one again as
  downloads/microgpt.py, byte for byte the tangled files;
- on_page_markdown: in a page, the comment `<!-- progression diff: A.py B.py -->` becomes the
  unified diff between the two tangled programs; `<!-- progression sweep: stepN -->` becomes the
  table of that step's learning-rate sweep; and `<!-- annotated source: FILE.py -->`, followed by
  a table of (marker, note, chapter), becomes the whole file, part by part, each part with its
  note and a link to its chapter. A part starts at the one line that begins with its marker, so an
  edit of the program moves the notes with their code, and a marker that is gone, or no longer
  unique, fails the strict build instead of misplacing a note.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.progression")
ROOT = Path(__file__).resolve().parents[2]
STEPS = ROOT / "microgpt" / "progression"
SWEEP = ROOT / "docs" / "data" / "progression-sweep-run.json"
DIFF = re.compile(r"^<!-- progression diff: (\S+) (\S+) -->$", re.M)
SWEEP_MARK = re.compile(r"^<!-- progression sweep: (\w+) -->$", re.M)
ANNOTATED = re.compile(r"^<!-- annotated source: (\S+) -->\n\n((?:\|.*\n)+)", re.M)


def programs() -> list[Path]:
    """The tangled programs of the progression, in order."""
    return sorted(STEPS.glob("step[0-9]_*.py"))


def on_files(files, config):
    """Every program under downloads/, and the last one also as downloads/microgpt.py."""
    paths = programs()
    for p in paths:
        files.append(File.generated(config, f"downloads/{p.name}", content=p.read_bytes()))
    if paths:
        files.append(File.generated(config, "downloads/microgpt.py", content=paths[-1].read_bytes()))
    return files


def on_page_markdown(text: str, page, config, files) -> str:
    """Fill in the diffs, sweep tables and annotated sources a page asks for."""
    text = DIFF.sub(lambda m: diff(m[1], m[2]), text)
    text = SWEEP_MARK.sub(lambda m: sweep_table(m[1]), text)
    return ANNOTATED.sub(lambda m: annotated(m[1], m[2]), text)


def read(name: str) -> list[str]:
    path = STEPS / name
    if not path.exists():
        log.warning(f"no program {path.relative_to(ROOT)}: run python tools/tangle.py")
        return []
    return path.read_text("utf-8").splitlines()


def diff(old: str, new: str) -> str:
    """A diff fence: what changed from program `old` to program `new`."""
    lines = difflib.unified_diff(read(old), read(new), old, new, n=2, lineterm="")
    return "```diff\n" + "\n".join(lines) + "\n```"


def sweep_table(step: str) -> str:
    """A table of a step's learning-rate sweep: each rate and the final loss its whole run reached."""
    sweep = json.loads(SWEEP.read_text("utf-8"))
    if step not in sweep:
        log.warning(f"no sweep of {step} in {SWEEP.name}: run python -m tools.progression --sweep --only {step}")
        return ""
    runs = sweep[step]["runs"]
    best = min((r for r in runs if r["final_loss"] is not None), key=lambda r: r["final_loss"])
    rows = [f"| {r['lr']:g} | " + (f"{r['final_loss']:.3f}{' (the lowest)' if r is best else ''}"
                                 if r["final_loss"] is not None else f"diverged, {r['diverged']}") + " |"
            for r in runs]
    head = (f"| learning rate | mean loss over the last {sweep['settings']['window']} "
            f"of {sweep['settings']['steps']:,} steps |")
    return "\n".join([head, "| ---: | --- |", *rows])


def annotated(name: str, table: str) -> str:
    """The whole program, one part per row of the table, each part next to its note."""
    lines = read(name)
    parts = []
    for row in table.strip().splitlines()[2:]:  # after the header and the rule
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) != 3 or not re.fullmatch(r"`[^`]+`", cells[0]):
            log.warning(f"annotated source of {name}: cannot read the row {row!r}")
            continue
        marker = cells[0][1:-1]
        found = [i for i, line in enumerate(lines) if line.strip().startswith(marker)]
        if len(found) != 1:
            log.warning(f"annotated source of {name}: the marker {marker!r} starts {len(found)} lines, "
                        f"not one: change the table to follow the program")
            continue
        parts.append((found[0], cells[1], cells[2]))
    starts = [start for start, _, _ in parts]
    if starts != sorted(starts) or (starts and starts[0] != 0):
        log.warning(f"annotated source of {name}: the markers must start at line 1 and follow the file's order")
        return ""
    out = []
    for k, (start, note, chapter) in enumerate(parts):
        end = parts[k + 1][0] if k + 1 < len(parts) else len(lines)
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1  # the blank lines between parts belong to neither
        code = "\n".join(lines[start:end])
        span = f"line {start + 1}" if end - start == 1 else f"lines {start + 1}&ndash;{end}"
        out.append(f'<div class="annotated-part" markdown>\n<div class="annotated-note" markdown>\n'
                   f'<span class="annotated-lines">{span}</span> {note} &rarr; {chapter}\n</div>\n'
                   f'<div class="annotated-code doc" markdown>\n\n```python linenums="{start + 1}"\n'
                   f'{code}\n```\n\n</div>\n</div>\n')
    return "\n".join(out)
