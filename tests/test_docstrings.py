"""Every public name of the package has a one-line docstring, so the API page reads well."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"__init__", "__post_init__"}  # documented by their class


def public(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            yield node.name, node
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name not in SKIP and \
                            not (item.name.startswith("_") and not item.name.endswith("__")):
                        yield f"{node.name}.{item.name}", item


def test_every_public_name_has_a_one_line_docstring():
    missing, long = [], []
    count = 0
    for path in sorted((ROOT / "microgpt").glob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        if not ast.get_docstring(tree):
            missing.append(path.name)
        for name, node in public(tree):
            count += 1
            doc = ast.get_docstring(node)
            if not doc:
                missing.append(f"{path.name}: {name}")
            elif "\n" in doc.strip():
                long.append(f"{path.name}: {name}")
    assert count > 50
    assert missing == [] and long == []
