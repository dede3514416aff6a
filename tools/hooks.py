"""MkDocs hooks: the book checks itself while it is built.

- The chapters are linted and microgpt/ compared with them: any difference is a warning, so
  `mkdocs build --strict` fails on it.
- KaTeX is copied from node_modules (installed by `npm ci`) into the site: math needs no CDN.
- So is Pyodide, with the package zipped from microgpt/, for the Run buttons (js/runner.js).
- `{{ expression }}` in a chapter is replaced by a number from the recorded runs in docs/data/,
  so prose never types a result by hand (`{{ reference.num_params:, }}` gives 4,192).
- The figures are drawn by tools/figures.py from the recorded run at every build.
- Output blocks (the fence after a checked example) get no copy button.
- Each titled block that continues a file says where the file continues from and on.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import math
import re
import zipfile
from pathlib import Path

from mkdocs.structure.files import File

import build_it_up  # the progression's downloads, diffs and annotated source
from figures import FIGURES  # MkDocs loads hooks with their own folder on sys.path
from tangle import read_book, render, stale, tangle

log = logging.getLogger("mkdocs.hooks.book")
ROOT = Path(__file__).resolve().parent.parent
KATEX = ROOT / "node_modules" / "katex" / "dist"
KATEX_FILES = ["katex.min.css", "katex.min.js", "contrib/auto-render.min.js"]
PYODIDE = ROOT / "node_modules" / "pyodide"
PYODIDE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]
MACRO = re.compile(r"\{\{\s*(.+?)\s*\}\}")
OUTPUT = re.compile(r"^(?P<marker>[ \t]*<!--pytest-codeblocks:expected-output-->\n[ \t]*)```text$", re.M)


BUILD: dict = {}  # what every page needs, read once per build by on_pre_build


def on_pre_build(config) -> None:
    """Read the book once; lint it and check microgpt/ against it before anything is rendered."""
    docs = Path(config["docs_dir"])
    book = read_book(docs)
    files = {target: render(body) for target, body in tangle(book).items()}
    for message in book.errors + stale(files, docs.parent):
        log.warning(message.splitlines()[0] + " (python tools/tangle.py --check shows more)")
    names = public_names(files)
    BUILD.update(blocks=book.blocks, data=recorded(docs), names=names, links=linkable(names))


def on_files(files, config):
    """Add the figures, drawn now; the package, zipped; Pyodide and KaTeX, from node_modules."""
    for name, draw in FIGURES.items():
        files.append(File.generated(config, f"figures/{name}", content=draw()))
    files.append(File.generated(config, "assets/microgpt.zip", content=package_zip()))
    for file in build_it_up.downloads(config):
        files.append(file)
    if (PYODIDE / "pyodide.mjs").exists():
        for name in PYODIDE_FILES:
            files.append(File.generated(config, f"assets/pyodide/{name}", abs_src_path=str(PYODIDE / name)))
    else:
        log.info("Pyodide is not installed: the Run buttons will say how to enable them (npm ci)")
    if not (KATEX / "katex.min.js").exists():
        log.warning("KaTeX is not installed, so math will not render: run `npm ci` (see README.md)")
        return files
    fonts = [f"fonts/{p.name}" for p in sorted((KATEX / "fonts").glob("*.woff2"))]
    for name in KATEX_FILES + fonts:
        files.append(File.generated(config, f"assets/katex/{name}", abs_src_path=str(KATEX / name)))
    return files


def package_zip() -> bytes:
    """microgpt/ as a zip for the page's Python: the tangled files and the bundled names."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted((ROOT / "microgpt").glob("*")):
            if path.suffix in (".py", ".txt"):
                info = zipfile.ZipInfo(f"microgpt/{path.name}", date_time=(2026, 1, 1, 0, 0, 0))
                z.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return out.getvalue()


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
    functions = {"len": len, "min": min, "max": max, "sum": sum, "round": round, "abs": abs, "log": math.log}
    return format(eval(value, {"__builtins__": functions}, data), spec)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Fill in recorded numbers, drop copy buttons on outputs, link the parts of each file."""
    def fill(m: re.Match) -> str:
        try:
            return number(m[1], BUILD["data"])
        except Exception as e:  # a typo in a chapter: say where, fail the strict build
            log.warning(f"{page.file.src_uri}: cannot fill in {{{{ {m[1]} }}}}: {type(e).__name__}: {e}")
            return m[0]

    markdown = MACRO.sub(fill, markdown)
    markdown = build_it_up.markdown(markdown)
    markdown = OUTPUT.sub(r"\g<marker>``` { .text .no-copy }", markdown)
    if page.file.src_uri == "api.md":
        return markdown.replace(API_MARKER, api_markdown(BUILD["names"]))
    if re.match(r"\d\d-", page.file.src_uri):
        markdown = api_links(markdown, BUILD["links"])
    return continuations(markdown, page)


GENERIC = {"run", "main", "save", "load", "step", "parser", "say", "error", "update", "close", "matrix"}


def linkable(names: list) -> dict[str, str]:
    """Public names worth linking from prose, with their anchors on the API page."""
    links = {}
    for module, name, _, _ in names:
        short = name.split(".")[-1]
        if short.startswith("_") or short in GENERIC or module.endswith("legacy"):
            continue
        links.setdefault(name, f"{module}.{name}")
        if "." not in name:
            links.setdefault(short, f"{module}.{name}")
    return links


def continuations(markdown: str, page) -> str:
    """After each titled block of a file built by several blocks, a line linking its neighbours."""
    by_target: dict[str, list] = {}
    for block in BUILD["blocks"]:
        by_target.setdefault(block.target, []).append(block)
    lines = markdown.split("\n")
    notes = {}
    doc = f"docs/{page.file.src_uri}"
    for target, blocks in by_target.items():
        for i, block in enumerate(blocks):
            if block.origin.doc != doc or len(blocks) == 1:
                continue
            parts = []
            if i > 0:
                parts.append(f"continues from {link(blocks[i - 1], page)}")
            if i + 1 < len(blocks):
                parts.append(f"continues in {link(blocks[i + 1], page)}")
            notes[block.origin.line - 1] = (block, f'`{target}` {" · ".join(parts)}\n{{: .tangle-links }}')
    for start in sorted(notes, reverse=True):
        block, note = notes[start]
        end = start + 1 + len_of_fence(lines, start)
        end = after_annotations(lines, end)
        lines[end + 1:end + 1] = ["", note, ""]
        lines[start:start] = [f'<a id="{anchor(block)}"></a>', ""]
    return "\n".join(lines)


def after_annotations(lines: list[str], end: int) -> int:
    """The last line of the code annotations (a numbered list) right after a fence, or the fence's."""
    k = end + 1
    while k < len(lines) and not lines[k].strip():
        k += 1
    if k >= len(lines) or not re.match(r"1\. ", lines[k]):
        return end
    last = k
    while k < len(lines) and (re.match(r"\d+\. |    ", lines[k]) or not lines[k].strip()):
        last = k if lines[k].strip() else last
        k += 1
    return last


def len_of_fence(lines: list[str], start: int) -> int:
    """The number of lines inside the fence opened at lines[start]."""
    fence = lines[start].strip()[:3]
    for k in range(start + 1, len(lines)):
        if lines[k].strip().startswith(fence) and lines[k].strip().strip("`~") == "":
            return k - start - 1
    return len(lines) - start - 1


def anchor(block) -> str:
    return f"tangle-{Path(block.origin.doc).stem}-{block.origin.line}"


def link(block, page) -> str:
    """A Markdown link to a titled block, from `page`, named by the block's chapter."""
    path = ROOT / block.origin.doc
    title = next((line[2:].strip() for line in path.read_text("utf-8").splitlines() if line.startswith("# ")),
                 path.name)
    target = "" if path.name == page.file.src_uri else path.name
    return f"[{title}]({target}#{anchor(block)})"


# --- the API reference, generated from the tangled package -------------------------------------

API_MARKER = "<!-- the entries below are generated by tools/hooks.py -->"


def public_names(files: dict) -> list[tuple[str, str, int, object]]:
    """(module, qualified name, heading level, chapter origin) of every public def and class."""
    out = []
    for target, lines in files.items():
        module = target.removesuffix(".py").replace("/", ".")
        if module.endswith(("__init__", "__main__")):
            continue
        tree = ast.parse("".join(t + "\n" for t, _ in lines))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                out.append((module, node.name, 3, lines[node.lineno - 1][1]))
                if isinstance(node, ast.ClassDef):
                    for item in node.body:
                        if isinstance(item, ast.FunctionDef) and \
                                item.name not in ("__init__", "__post_init__") and not re.match(r"_[^_]", item.name):
                            out.append((module, f"{node.name}.{item.name}", 4, lines[item.lineno - 1][1]))
    return out


def prose(lines: list[str]):
    """Each line of Markdown with whether it is prose: not inside a fence, nor a fence itself."""
    fence = None
    for line in lines:
        stripped = line.strip()
        if fence:
            fence = None if stripped.startswith(fence) and not stripped.strip(fence[0]) else fence
            yield line, False
        elif stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            yield line, False
        else:
            yield line, True


def section(origin) -> tuple[str, str]:
    """The title and anchor of the heading a chapter line sits under."""
    from markdown.extensions.toc import slugify

    path = ROOT / origin.doc
    title, anchor = path.stem, ""
    for line, is_prose in prose(path.read_text("utf-8").splitlines()[:origin.line]):
        if not is_prose:
            continue
        if line.startswith("# "):
            title = line[2:].strip()
        elif re.match(r"#{2,4} ", line):
            heading = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", line.lstrip("#").strip())
            anchor = slugify(heading, "-")
            title = title.split(" § ")[0] + " § " + heading
    return title, f"{Path(origin.doc).name}#{anchor}" if anchor else Path(origin.doc).name


def api_markdown(names: list) -> str:
    """One mkdocstrings entry per public name, each followed by a link to where it is explained."""
    parts, module_seen = [], set()
    for module, name, level, origin in names:
        if module not in module_seen:
            module_seen.add(module)
            doc = ast.get_docstring(ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text("utf-8")))
            parts.append(f"## `{module}`\n\n{doc or ''}\n")
        title, href = section(origin)
        options = "      members: false\n" if level == 3 else ""
        parts.append(f"::: {module}.{name}\n    options:\n      heading_level: {level}\n{options}\n"
                     f"Explained in [{title}]({href}).\n")
    return "\n".join(parts)


def api_links(markdown: str, names: dict[str, str]) -> str:
    """Link the first mention of each public name in a chapter's prose to its API entry."""
    mention = re.compile(r"(?<![\[\w])`(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
                         + r")`(?![\]\w(])")
    linked = set()

    def link(m: re.Match) -> str:
        if m[1] in linked:
            return m[0]
        linked.add(m[1])
        return f"[`{m[1]}`](api.md#{names[m[1]]})"

    return "\n".join(mention.sub(link, line) if is_prose and not line.lstrip().startswith(("#", "<", "|"))
                     else line for line, is_prose in prose(markdown.split("\n")))
