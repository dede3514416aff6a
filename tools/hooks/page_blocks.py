"""Tell the page's Run buttons (docs/js/runner.js) which examples they can run.

The page runs Pyodide's Python with its standard library and the tangled package, and nothing else.
An example that needs anything more (PyTorch, NumPy, hypothesis), directly or through the package
module or function it imports, gets `data-needs="torch"` and `data-command="..."`: the runner shows
that, and the command that runs it locally, instead of a Run button that could only fail.

An example whose output depends on the Python version is marked in its chapter with
`<!-- output depends on the Python version -->` before its fence; this hook writes, under the
output the book shows, which Python printed it and which Python the page runs.
"""

from __future__ import annotations

import ast
import html
import json
import platform
import re
import sys
import zipfile
from functools import cache
from pathlib import Path

from microgpt import engines

ROOT = Path(__file__).resolve().parents[2]
PYODIDE = ROOT / "node_modules" / "pyodide"
PACKAGE = "microgpt"
EXTRAS = {"torch": "torch", **{name: pip for name, (_, pip) in engines.NEEDS.items()}}  # module -> its extra
VERSION_MARKER = "<!-- output depends on the Python version -->"
BLOCK = re.compile(r'<div class="language-python highlight">(?!<span class="filename">)<pre>.*?</pre></div>', re.S)
OUTPUT = re.compile(r'<div class="language-text no-copy highlight">.*?</pre></div>', re.S)


@cache
def page_modules() -> frozenset[str]:
    """The top-level modules the page's Python can import: the standard library and the package."""
    zipped = PYODIDE / "python_stdlib.zip"  # its pure-Python modules; the C ones (math) are built in
    names = set(sys.stdlib_module_names)
    if zipped.exists():
        names |= {n.split("/")[0].removesuffix(".py") for n in zipfile.ZipFile(zipped).namelist()}
    return frozenset(names | {PACKAGE, "js", "pyodide"})


def page_python() -> str:
    """The version of the page's Python, from Pyodide's lock file."""
    lock = PYODIDE / "pyodide-lock.json"
    return json.loads(lock.read_text("utf-8"))["info"]["python"] if lock.exists() else "unknown"


def imports(tree: ast.AST) -> set[str]:
    """Every module an import statement anywhere in `tree` names, in full."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


@cache
def module_tree(name: str) -> ast.Module | None:
    """The parsed source of a package module (microgpt.x), or None if it is not one or does not parse."""
    path = ROOT / (name.replace(".", "/") + ".py")
    try:
        return ast.parse(path.read_text("utf-8")) if path.exists() else None
    except SyntaxError:  # a hand edit under mkdocs serve: the drift check names it, the page still builds
        return None


def module_needs(name: str, seen: set[str]) -> set[str]:
    """The modules a package module imports when it is imported: its top level, then theirs."""
    tree = module_tree(name)
    if tree is None or name in seen:
        return set()
    seen.add(name)
    found = set()
    for node in tree.body:
        for module in imports(node) if isinstance(node, (ast.Import, ast.ImportFrom)) else ():
            found.add(module)
        if isinstance(node, ast.ImportFrom) and node.level:  # from .x import y
            found.add(f"{PACKAGE}.{node.module}" if node.module else PACKAGE)
            if not node.module:
                found |= {f"{PACKAGE}.{a.name}" for a in node.names}
    for module in list(found):
        found |= module_needs(module, seen)
    return found


def function_needs(module: str, name: str) -> set[str]:
    """The modules that a function of a package module imports inside its body (torch, lazily)."""
    tree = module_tree(module)
    for node in tree.body if tree else ():
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return imports(node)
    return set()


def needs(code: str) -> list[str]:
    """The modules an example needs that the page's Python cannot import, sorted."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    wanted = imports(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                wanted |= {child} | module_needs(child, set()) | function_needs(node.module, alias.name)
    for module in list(wanted):
        wanted |= module_needs(module, set())
    return sorted({m.split(".")[0] for m in wanted} - page_modules())


def command(missing: list[str], page) -> str:
    """The README's set-up-and-test command, with the extras these examples need, run on this chapter.
    (./check installs the test tools, hypothesis and pytest-codeblocks among them, and the extras asked for.)"""
    extras = ",".join(sorted({EXTRAS[m] for m in missing if m in EXTRAS}))
    every = " -m ''" if "<!--pytest.mark.slow-->" in (page.markdown or "") else ""  # the slow examples too
    return f"{f'MICROGPT_EXTRAS={extras} ' if extras else ''}./check{every} docs/{page.file.src_uri}"


def code_text(block: str) -> str:
    """The Python source of a highlighted block, without its markup."""
    inner = block.split("<code>", 1)[1].rsplit("</code>", 1)[0]
    return html.unescape(re.sub(r"<[^>]+>", "", inner))


def on_page_content(content: str, page, config, files) -> str:
    """Mark the examples the page cannot run; note version-dependent outputs under them."""
    def mark(m: re.Match) -> str:
        missing = needs(code_text(m[0]))
        if not missing:
            return m[0]
        attributes = f' data-needs="{" ".join(missing)}" data-command="{html.escape(command(missing, page))}"'
        return m[0].replace('<div class="language-python highlight"', '<div class="language-python highlight"'
                            + attributes, 1)

    content = BLOCK.sub(mark, content)
    parts = content.split(VERSION_MARKER)
    for i in range(1, len(parts)):
        output = OUTPUT.search(parts[i])
        if output:
            note = (f'<p class="python-note">What this example prints depends on the Python that runs it (its '
                    f'version, its maths library): the output shown is CPython {platform.python_version()}\'s, '
                    f'which builds and tests the book; Run in this page uses Python {page_python()} (Pyodide) '
                    f'and prints its own.</p>')
            parts[i] = parts[i][:output.end()] + note + parts[i][output.end():]
    return "".join(parts)
