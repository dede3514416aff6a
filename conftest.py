"""Test set-up shared by tests/ and the book's examples under docs/.

pytest-codeblocks runs the book's examples, but it reads Markdown its own way and its failure
reports show neither where the block is nor what went wrong. Here it is handed the examples that
tools/book.py reads (the reader the tangler and the site use), and each is compiled with its
chapter as file name and its own line numbers, so a failure reads docs/FILE.md:LINE with the
exception type and a traceback whose package frames point back into the book.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
import traceback
from functools import cache
from pathlib import Path

import pytest
from pytest_codeblocks import plugin
from pytest_codeblocks.main import CodeBlock, stdout_io
from pytest_codeblocks.plugin import MarkdownFile, TestBlock

from tools import book, tangle

ROOT = Path(__file__).resolve().parent
NAMES = Path(os.environ.get("MICROGPT_NAMES", ROOT.parent / "shared" / "data" / "names.txt"))


class OutputMismatch(AssertionError):
    """A block printed something other than the output shown under it in the book."""


def run_block(self: TestBlock) -> None:
    """Run one python block as the chapter's own code; compare what it prints."""
    block = self.obj
    if block.importorskip:
        pytest.importorskip(block.importorskip)
    if block.syntax != "python":
        return ORIGINAL_RUNTEST(self)
    code = compile("\n" * block.lineno + block.code, str(self.path), "exec")  # the book's line numbers
    with stdout_io() as out:
        exec(code, {"__name__": "__main__"})
    if block.expected_output is not None and out.getvalue() != block.expected_output:
        diff = difflib.unified_diff(block.expected_output.splitlines(keepends=True),
                                    out.getvalue().splitlines(keepends=True), "shown in the book", "printed")
        raise OutputMismatch("the block printed something else than the output shown under it:\n"
                             + "".join(diff))


def report_failure(self: TestBlock, excinfo: pytest.ExceptionInfo) -> str:
    """docs/FILE.md:LINE, the exception type and message, then the traceback from the block on."""
    where = f"{self.path.relative_to(ROOT)}:{self.obj.lineno}"
    head = f"{where}: {excinfo.typename}: {excinfo.value}"
    if isinstance(excinfo.value, OutputMismatch) or self.obj.syntax != "python":
        return head
    tb = excinfo.tb
    while tb is not None and tb.tb_frame.f_code.co_filename != str(self.path):
        tb = tb.tb_next  # drop the frames of this harness
    lines = []
    for line in traceback.format_exception(excinfo.type, excinfo.value, tb):
        lines.append(line.rstrip("\n"))
        frame = line.strip().split('"')
        if line.lstrip().startswith("File ") and len(frame) > 2 and "/microgpt/" in frame[1]:
            lines.append(f"    (written at {book_line(frame[1], frame[2])})")
    return head + "\n\n" + "\n".join(lines)


@cache
def tangled() -> dict:
    return tangle.generate(ROOT / "docs")[0]


def book_line(filename: str, rest: str) -> str:
    """The chapter line behind a package frame: 'line N, in f' of microgpt/FILE.py."""
    target = "microgpt/" + filename.rsplit("/microgpt/", 1)[1]
    n = rest.split("line ", 1)[1].split(",")[0].strip()
    try:
        return tangle.where(tangled(), f"{target}:{n}")
    except ValueError as e:
        return str(e)


def examples(path: Path) -> list[CodeBlock]:
    """A chapter's examples as pytest-codeblocks runs them, read by tools/book.py."""
    chapter = book.read_file(Path(path), ROOT)
    if chapter.errors:
        raise MarkdownFile.CollectError("\n".join(chapter.errors))
    return [CodeBlock(e.code, e.fence.origin.line, e.fence.info.strip(), marks=e.markers.marks,
                      importorskip=e.markers.importorskip,
                      expected_output=e.output and "".join(line + "\n" for line in e.output.lines))
            for e in chapter.examples]


plugin.extract_from_file = examples
ORIGINAL_RUNTEST = TestBlock.runtest
TestBlock.runtest = run_block
TestBlock.repr_failure = report_failure
TestBlock.reportinfo = lambda self: (self.path, self.obj.lineno - 1, f"code block at line {self.obj.lineno}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_names") and not NAMES.exists():
        pytest.skip(f"Karpathy's names.txt is not at {NAMES} (set MICROGPT_NAMES to its path)")


CACHES = {".git", ".hypothesis", ".pytest_cache", ".venv", "__pycache__", "node_modules", "site"}


def tree() -> dict[str, tuple[int, int]]:
    """Every file of the repository but caches, with its modification time and size."""
    files = {}
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in CACHES and not d.endswith(".egg-info")]
        for name in names:
            stat = os.stat(os.path.join(folder, name))
            files[os.path.relpath(os.path.join(folder, name), ROOT)] = (stat.st_mtime_ns, stat.st_size)
    return files


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Tests never write into the repository: a file changed, added or removed fails the run."""
    before, after = session.config.stash[TREE], tree()
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    if changed:
        session.config.get_terminal_writer().line(f"tests changed files of the repository: {', '.join(changed)}",
                                                  red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


TREE = pytest.StashKey[dict]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """A cache folder for --data names, holding names.txt as after a first download (the book's
    examples are not pytest functions, so this is a hook rather than a fixture); and what the
    repository holds, to check that the tests leave it as they found it."""
    session.config.stash[TREE] = tree()
    cache = Path(tempfile.mkdtemp(prefix="microgpt-cache-"))
    if NAMES.exists():
        (cache / "microgpt").mkdir()
        (cache / "microgpt" / "names.txt").write_bytes(NAMES.read_bytes())
    os.environ["XDG_CACHE_HOME"] = str(cache)
    session.config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))


@pytest.fixture(scope="session")
def names_txt() -> Path:
    """The path of Karpathy's names.txt (tests using it are marked needs_names)."""
    return NAMES


collect_ignore_glob = ["tests/fixtures/*"]  # lint fixtures: Markdown that is wrong on purpose
