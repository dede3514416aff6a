"""What a module reads as it is imported, before it has bound it: a NameError at import time.

Blocks of one file can be put in an order that compiles but fails on import: a use above the
import or the definition it needs. Only the code that runs at import time counts (not the
bodies of functions, which run later; not annotations under `from __future__ import
annotations`), and only names the module binds somewhere, so builtins and names from nowhere
are left to other checks. A name that a compound statement binds and then reads, as a script's
loop or `with ... as f` does, is that statement's own business.
"""

from __future__ import annotations

import ast
import builtins


def first_unbound_read(source: str) -> tuple[str, int, int, str] | None:
    """The first name a module reads, as it is imported, before the statement that binds it:
    (name, its line, the binding statement's line, "imports" or "defines"), or None."""
    tree = ast.parse(source)
    lazy = any(isinstance(s, ast.ImportFrom) and s.module == "__future__" and
               any(a.name == "annotations" for a in s.names) for s in tree.body)
    first = {}  # name -> the top-level statement that binds it first
    for statement in tree.body:
        for name in bindings(statement):
            first.setdefault(name, statement)
    bound: set[str] = set()
    for statement in tree.body:
        for node in runtime_reads(statement, lazy):
            if node.id in first and node.id not in bound and node.id not in BUILTINS \
                    and not (first[node.id] is statement and isinstance(statement, COMPOUND)):
                binder = first[node.id]
                how = "imports" if isinstance(binder, (ast.Import, ast.ImportFrom)) else "defines"
                return node.id, node.lineno, binder.lineno, how
        bound |= bindings(statement)
    return None


BUILTINS = set(dir(builtins))
COMPOUND = (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.If, ast.Try)  # bind, then read
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
          ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def bindings(node: ast.AST) -> set[str]:
    """The names a statement binds in the scope it runs in."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, SCOPES):
        return set()
    names = {node.id} if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) else set()
    if isinstance(node, ast.ExceptHandler) and node.name:
        names.add(node.name)
    for child in ast.iter_child_nodes(node):
        names |= bindings(child)
    return names


def runtime_reads(node: ast.AST, lazy: bool):
    """The names a statement reads while it runs: not those its functions read when called, nor
    annotations where `from __future__ import annotations` leaves them unevaluated."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = node.args
        parts = [*getattr(node, "decorator_list", []), *args.defaults, *filter(None, args.kw_defaults)]
        if not lazy and not isinstance(node, ast.Lambda):
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            parts += [a.annotation for a in every if a and a.annotation] + [node.returns]
        for part in filter(None, parts):
            yield from runtime_reads(part, lazy)
    elif isinstance(node, ast.ClassDef):
        for part in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            yield from runtime_reads(part, lazy)
        local: set[str] = set()  # the class body reads its own names first
        for statement in node.body:
            yield from (n for n in runtime_reads(statement, lazy) if n.id not in local)
            local |= bindings(statement)
    elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        local = set().union(*(bindings(g.target) for g in node.generators))
        for child in ast.iter_child_nodes(node):
            yield from (n for n in runtime_reads(child, lazy) if n.id not in local)
    elif isinstance(node, ast.AnnAssign) and lazy:
        yield from (n for part in (node.target, node.value) if part for n in runtime_reads(part, lazy))
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        yield node
    else:
        for child in ast.iter_child_nodes(node):
            yield from runtime_reads(child, lazy)


