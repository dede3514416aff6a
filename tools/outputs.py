"""Record what a chapter's examples print: rewrite the output block under each checked example.

An example followed by <!--pytest-codeblocks:expected-output--> and an output fence (as
tools/book.py reads them) is run as the tests run it (python in-process from the repository
root, sh/bash in a shell), and the output fence is replaced by what it printed. The tests then
check that the two stay equal. Run it from the repository root:

    python -m tools.outputs docs/11-run-it.md [more chapters]
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

if not __package__:  # run as a file: the package it belongs to is not importable that way
    sys.exit("run it from the repository root as a module: python -m tools.outputs")

from tools.book import read_file

ROOT = Path(__file__).resolve().parent.parent


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
    path = path.resolve()
    chapter = read_file(path, path.parent.parent)  # named docs/FILE.md
    if chapter.errors:
        raise ValueError("\n".join(chapter.errors))
    checked = [e for e in chapter.examples if e.output]
    printed = [run(e.fence.info.strip(), e.code).splitlines() for e in checked]
    for example, lines in reversed(list(zip(checked, printed))):  # from the end: earlier lines stay put
        out = example.output
        chapter.lines[out.origin.line:out.end] = [out.indent + line if line.strip() else line for line in lines]
    path.write_text(chapter.text(), "utf-8")
    return len(checked)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    paths = [Path(name).resolve() for name in argv]
    os.chdir(ROOT)
    for path in paths:
        try:
            print(f"{path.name}: recorded {record(path)} outputs")
        except (OSError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
