"""The one reader of the book's Markdown: what is tangled, what the tests run and what the site
shows are the blocks read here.

A chapter is read once into its fences, each with the lines where it opens and closes, and its
prose, every line outside them. A fence opens on a line of three or more backticks or tildes
and closes on a line of the same character, at least as long, with nothing else on it; a fence
inside a longer one is text. Three kinds of fence matter:

- a titled block, ```python title="microgpt/FILE.py" (or FILE.py#chunk), is bound for the
  package (tools/tangle.py assembles the files);
- an example, a fence whose info string is exactly python, sh or bash, is run by pytest
  (conftest.py hands these to pytest-codeblocks); <!--pytest-codeblocks:expected-output-->
  after it makes the next fence the output it must print, and <!--pytest.mark.NAME-->
  or <!--pytest-codeblocks:importorskip(MODULE)--> before it applies to it;
- any other fence is only shown.

What would be silently lost, or shown other than it is run, is an error named
docs/FILE.md:LINE: a Python-looking fence that is neither tangled nor run, an option the site
would drop, a fence never closed, a marker that applies to nothing, a line of code wider than
the page's code column.
"""

from __future__ import annotations

import keyword
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "microgpt"
WIDTH = 110  # the characters of a code line the page shows without scrolling
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>`{3,}|~{3,})(?P<info>.*)$")
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
TARGET = re.compile(rf"^{PACKAGE}/(?:{NAME}/)*{NAME}\.py(?:#(?P<chunk>[\w-]+))?$")
PYTHONISH = re.compile(r"^[\s{.]*(py|py3|python|python3)\b", re.IGNORECASE)
ANNOTATION = re.compile(r"\s*# \(\d+\)!$")  # a material code annotation: `x = 1  # (1)!`
OPTIONS = {"title", "linenums", "hl_lines"}  # the options pymdownx.superfences keeps
EXAMPLES = {"python", "sh", "bash"}  # the info strings pytest-codeblocks runs
MARKER = re.compile(r"^<!--\s*(?:pytest-codeblocks:(?P<keyword>.*?)|(?P<mark>pytest\.mark\..*?))\s*-->$")


@dataclass(frozen=True)
class Origin:
    """A line of a chapter: where a block opens, or where a line of the package was written."""

    doc: str
    line: int

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}"


@dataclass
class Fence:
    """A fenced block as the site shows it: its opening line, info string and the lines inside."""

    origin: Origin  # the opening line
    indent: str
    marker: str  # the run of backticks or tildes that opens it
    info: str
    lines: list[str]  # without the fence's indentation
    end: int  # the index in the chapter's lines of the closing line


@dataclass
class Block:
    """A titled fence: code bound for a file of the package, or for one of its chunks."""

    origin: Origin
    target: str
    chunk: str | None
    lines: list[str]


@dataclass
class Markers:
    """The pytest markers written before a fence: they apply to it."""

    marks: list[str] = field(default_factory=list)  # pytest.mark.NAME(...) expressions
    importorskip: str | None = None  # a module: the example is skipped where it is missing


@dataclass
class Example:
    """A fence the tests run, with the markers that apply to it and the output shown under it."""

    fence: Fence
    markers: Markers
    output: Fence | None = None

    @property
    def code(self) -> str:
        return "".join(line + "\n" for line in self.fence.lines)


@dataclass
class Chapter:
    """One Markdown file of docs/, read: its lines, fences, blocks, examples and errors."""

    doc: str  # docs/NN-name.md
    lines: list[str]
    fences: list[Fence] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    final_newline: bool = True

    def text(self) -> str:
        """The chapter's text again, with whatever changes were made to its lines."""
        return "\n".join(self.lines) + ("\n" if self.final_newline else "")

    def prose(self) -> Iterator[tuple[int, str]]:
        """(index, line) of every line outside the fences."""
        inside = {k for f in self.fences for k in range(f.origin.line - 1, f.end + 1)}
        return ((k, line) for k, line in enumerate(self.lines) if k not in inside)

    @property
    def title(self) -> str:
        """The chapter's first level-one heading, else its file name."""
        return next((line[2:].strip() for _, line in self.prose() if line.startswith("# ")), Path(self.doc).name)


@dataclass
class Book:
    """Every chapter of docs/ in book order (file-name order), and what is wrong with them."""

    chapters: list[Chapter] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def blocks(self) -> list[Block]:
        return [b for c in self.chapters for b in c.blocks]

    def chapter(self, doc: str) -> Chapter:
        return next(c for c in self.chapters if c.doc == doc)


def read_book(docs: Path) -> Book:
    """Read every Markdown file under `docs`, in book order."""
    book = Book()
    for path in sorted(p for p in docs.rglob("*.md") if not p.is_dir()):
        chapter = read_file(path, docs.parent)
        book.chapters.append(chapter)
        book.errors += chapter.errors
    return book


def read_file(path: Path, root: Path) -> Chapter:
    """Read one Markdown file; `root` is the folder its name is given from (docs/FILE.md)."""
    doc = path.relative_to(root).as_posix()
    try:
        data = path.read_bytes()
    except OSError as e:
        return Chapter(doc, [], errors=[f"{doc}: cannot be read: {e.strerror}"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        return Chapter(doc, [], errors=[f"{doc}:{line}: not UTF-8 (byte 0x{data[e.start]:02x}): "
                                        f"save the chapter as UTF-8"])
    return read_chapter(doc, text)


def split_lines(text: str) -> list[str]:
    """The lines of a text as an editor numbers them: split at \\n, \\r\\n or \\r, and only there."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def read_chapter(doc: str, text: str) -> Chapter:
    """Read a chapter's fences, titled blocks and examples; lint them."""
    chapter = Chapter(doc, split_lines(text), final_newline=text.endswith(("\n", "\r")))
    lines, errors = chapter.lines, chapter.errors
    pending = Markers()  # markers seen since the last fence, for the next one
    output_for: Example | None = None  # set by an expected-output marker: the next fence is its output
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i].strip())
        if marker:
            output_for = read_marker(Origin(doc, i + 1), marker, pending, chapter, output_for)
            i += 1
            continue
        m = FENCE.match(lines[i])
        if m and m["marker"][0] == "`" and "`" in m["info"]:  # CommonMark: not a fence
            errors.append(f"{doc}:{i + 1}: this line starts with ``` but is not a fence; "
                          f"pytest-codeblocks would read it as one: reflow the paragraph")
            m = None
        if not m:
            i += 1
            continue
        fence = read_fence(chapter, i, m)
        chapter.fences.append(fence)
        if output_for:
            output_for.output, output_for = fence, None
        elif is_example(fence):
            chapter.examples.append(Example(fence, pending))
        elif pending != Markers():
            errors.append(f"{fence.origin}: a pytest marker comes before this fence, which is not an "
                          f"example: it applies to nothing")
        else:
            block = titled_block(fence, errors)
            if block:
                chapter.blocks.append(block)
        pending = Markers()
        i = fence.end + 1
    if output_for:
        errors.append(f"{doc}:{len(lines)}: an expected-output marker with no output fence after it")
    return chapter


def read_fence(chapter: Chapter, i: int, m: re.Match) -> Fence:
    """The fence opened at line i; an error if it never closes or a line is too wide."""
    lines, indent, marker = chapter.lines, m["indent"], m["marker"]
    end = i + 1
    while end < len(lines) and not is_closing(lines[end], marker):
        end += 1
    origin = Origin(chapter.doc, i + 1)
    if end == len(lines):
        chapter.errors.append(f"{origin}: this fence is never closed: everything after it would be code; "
                              f"close it with {marker}")
    body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip() for ln in lines[i + 1:end]]
    for k, line in enumerate(body):
        if len(line) > WIDTH:
            chapter.errors.append(f"{chapter.doc}:{i + 2 + k}: this line of code is {len(line)} characters "
                                  f"long: at most {WIDTH} fit the page's code column")
    return Fence(origin, indent, marker, m["info"], body, end)


def is_closing(line: str, marker: str) -> bool:
    """A fence closes on a line of the same character, at least as long, and nothing else."""
    s = line.strip()
    return len(s) >= len(marker) and set(s) == {marker[0]}


def is_example(fence: Fence) -> bool:
    """Whether the tests run this fence: pytest-codeblocks' rule, exactly."""
    return fence.marker[0] == "`" and fence.info.rstrip() in EXAMPLES


def read_marker(origin: Origin, m: re.Match, pending: Markers, chapter: Chapter,
                output_for: Example | None) -> Example | None:
    """Apply a pytest marker comment; return the example whose output the next fence is, if any."""
    keyword = m["keyword"]
    if m["mark"]:
        pending.marks.append(m["mark"])
    elif keyword == "expected-output":
        last = chapter.fences[-1] if chapter.fences else None
        example = chapter.examples[-1] if chapter.examples else None
        if example is None or example.fence is not last or example.output is not None:
            chapter.errors.append(f"{origin}: an expected-output marker must follow an example "
                                  f"(a ```python, ```sh or ```bash fence)")
            return output_for
        return example
    elif keyword.startswith("importorskip(") and keyword.endswith(")"):
        pending.importorskip = keyword[len("importorskip("):-1]
    else:
        chapter.errors.append(f"{origin}: <!--pytest-codeblocks:{keyword}--> is not read here: the book's "
                              f"markers are expected-output, importorskip(MODULE) and pytest.mark.NAME")
    return output_for


def titled_block(fence: Fence, errors: list[str]) -> Block | None:
    """The block a fence tangles to, or None; an error if a Python-looking fence would be lost."""
    if not PYTHONISH.match(fence.info):
        return None

    def error(message: str) -> None:
        errors.append(f"{fence.origin}: {message}")

    info = fence.info
    if fence.marker[0] == "~":
        return error("a ~~~ fence is neither tangled nor run: use ```python")
    if info[:1].isspace():
        return error(f"'```{info}' is neither tangled nor run: write ```python with no space")
    lang, _, rest = info.partition(" ")
    if lang != "python":
        return error(f"'```{lang}' is neither tangled nor run: write ```python")
    try:
        options = dict(word.split("=", 1) for word in shlex.split(rest))
    except ValueError:
        return error(f"cannot read the options '{rest.strip()}': write key=\"value\"")
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        return error(f"pymdownx.superfences drops a fence with option '{unknown[0]}': "
                     f"only {', '.join(sorted(OPTIONS))} are kept")
    title = options.get("title")
    if title is None:
        return error("a python fence with options but no title is neither tangled nor run")
    if not title.startswith(f"{PACKAGE}/"):
        return error(f"title '{title}' is outside {PACKAGE}/: "
                     f"write {PACKAGE}/FILE.py or {PACKAGE}/FILE.py#chunk")
    m = TARGET.match(title)
    parts = title.split("#")[0].removesuffix(".py").split("/")[1:]
    if not m or any(part == "__pycache__" or keyword.iskeyword(part) for part in parts):
        return error(f"title '{title}' is not a module of {PACKAGE}/: each part of the path must be a "
                     f"Python name (letters A-Z and a-z, digits, _), not a keyword nor __pycache__")
    body = list(fence.lines)
    while body and not body[-1].strip():  # the tangler sets the spacing between blocks
        body.pop()
    body = [ANNOTATION.sub("", line) for line in body]  # the site's code annotations stay on the page
    return Block(fence.origin, title.split("#")[0], m["chunk"], body)
