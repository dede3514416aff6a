"""tools/import_order.py: the names a module reads, as it is imported, before it binds them."""

import pytest

from tools.import_order import first_unbound_read


@pytest.mark.parametrize("source, found", [
    ("x = math.pi\nimport math\n", ("math", 1, 2, "imports")),
    ("@deco\ndef f(): pass\ndef deco(f): return f\n", ("deco", 1, 3, "defines")),
    ("def f(a=B): pass\nB = 1\n", ("B", 1, 2, "defines")),
    ("def f(a: B): pass\nB = 1\n", ("B", 1, 2, "defines")),  # annotations run, without the future import
    ("class A(Base): pass\nclass Base: pass\n", ("Base", 1, 2, "defines")),
    ("class A:\n    me = A\n", ("A", 2, 1, "defines")),  # a class body runs before its name is bound
    ("x = x + 1\n", ("x", 1, 1, "defines")),
])
def test_a_read_before_the_binding_is_found(source, found):
    assert first_unbound_read(source) == found


@pytest.mark.parametrize("source", [
    "def f():\n    return B\nB = 1\nprint(f())\n",  # a function body runs when called
    "from __future__ import annotations\ndef f(a: B) -> B: pass\nB = 1\nx: B = 2\n",
    "class A:\n    y = 1\n    z = y\ny = 2\n",  # the class body's own name
    "L = [i for i in range(3)]\ni = 1\n",  # the comprehension's own name
    "try:\n    import numpy as np\nexcept ImportError:\n    np = None\nx = np\n",
    "print(len([]))\nlen = 3\n",  # a builtin until the module shadows it
    "y = undefined_anywhere\n",  # not bound by this module: not this check's business
])
def test_what_runs_later_or_is_bound_first_is_fine(source):
    assert first_unbound_read(source) is None


@pytest.mark.parametrize("source", [
    "for name in ['a', 'b']:\n    print(name)\n",
    "with open(__file__) as f:\n    text = f.read()\n",
])
def test_a_compound_statement_may_read_what_it_binds(source):
    """A script's loop binds its target before its body reads it (the progression's programs)."""
    assert first_unbound_read(source) is None
