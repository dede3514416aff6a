"""Record what a chapter's examples print: rewrite the output block under each checked example.

An example followed by <!--pytest-codeblocks:expected-output--> and an output fence is run as the
tests run it (python in-process from the repository root, sh/bash in a shell), and the output
fence is replaced by what it printed. The tests then check that the two stay equal.

    python -m tools.outputs docs/11-run-it.md [more chapters]
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!--pytest-codeblocks:expected-output-->"
OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+)(?P<lang>[\w-]*)\s*$")


def run(lang: str, code: str) -> str:
    """What a block prints, run the way the test harness runs it."""
    if lang == "python":
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<example>", "exec"), {"__name__": "__main__"})
        return out.getvalue()
    done = subprocess.run(code, shell=True, capture_output=True, text=True, cwd=ROOT,
                          executable="/bin/bash" if lang == "bash" else None)
    return done.stdout


def record(path: Path) -> int:
    """Rewrite every checked output block of one chapter; return how many were recorded."""
    lines = path.read_text("utf-8").splitlines(keepends=True)
    i = count = 0
    while i < len(lines):
        m = OPEN.match(lines[i])
        if not m or m["lang"] not in ("python", "sh", "bash"):
            i += 1
            continue
        end = next(k for k in range(i + 1, len(lines)) if lines[k].strip() == m["fence"])
        body = "".join(ln[len(m["indent"]):] for ln in lines[i + 1:end])
        j = end + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j < len(lines) and lines[j].strip() == MARKER:
            o = j + 1
            while not lines[o].strip():
                o += 1
            out_end = next(k for k in range(o + 1, len(lines)) if lines[k].strip().startswith("```"))
            indent = m["indent"]
            printed = [indent + ln if ln.strip() else ln for ln in run(m["lang"], body).splitlines(keepends=True)]
            lines[o + 1:out_end] = printed
            count += 1
            end = o + 1 + len(printed)
        i = end + 1
    path.write_text("".join(lines), "utf-8")
    return count


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    os.chdir(ROOT)
    for name in argv:
        print(f"{name}: recorded {record(Path(name))} outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
